//! The checks of the AMP fuzz targets, shared by the cargo-fuzz targets
//! `fuzz/fuzz_targets/amp_box_decoder.rs` and `amp_arguments.rs` (which
//! include this file) and the stable smoke test `tests/fuzz_smoke_amp.rs`.
//! Nothing may panic; chunking must not change the decoded boxes; decoded
//! boxes and values must re-encode to a stable wire form; the conversation
//! machine must take any input when every command is answered.

use gyre_protocols::amp::{
    AmpBox, AmpConfig, AmpList, AmpMachine, Argument, BoxDecoder, BoxLimits, DateTime, Decimal,
    DecodeContext, EncodeContext, Event, Fields, Reply, decode_boxes,
};

/// Decodes the chunks as one stream; returns the boxes and whether the
/// decoder failed.
fn decode<'a>(chunks: impl Iterator<Item = &'a [u8]>) -> (Vec<AmpBox>, bool) {
    let limits = BoxLimits {
        max_box_bytes: 4096,
        max_keys: 16,
    };
    let mut decoder = BoxDecoder::new(limits);
    let mut boxes = Vec::new();
    for chunk in chunks {
        let mut rest = chunk;
        while !rest.is_empty() {
            match decoder.decode(rest) {
                Ok((used, decoded)) => {
                    assert!(used > 0);
                    rest = &rest[used..];
                    boxes.extend(decoded);
                }
                Err(_) => return (boxes, true),
            }
        }
    }
    (boxes, false)
}

/// The box decoder, fed `input` whole and in chunks of `split` (at least
/// 1), and the conversation machine, fed `input` as received bytes. Returns
/// how many boxes decoded.
pub fn box_decoder(input: &[u8], split: usize) -> usize {
    let whole = decode(std::iter::once(input));
    assert_eq!(whole, decode(input.chunks(split)), "chunks of {split}");
    for decoded in &whole.0 {
        let bytes = decoded.to_bytes().expect("a decoded box encodes");
        assert_eq!(
            decode(std::iter::once(&bytes[..])),
            (vec![decoded.clone()], false)
        );
    }

    let mut machine = AmpMachine::new(AmpConfig {
        max_in_flight_commands: 2,
        ..AmpConfig::default()
    });
    machine.ask(b"Probe", AmpBox::new()).unwrap();
    let mut rest = input;
    while !rest.is_empty() {
        let used = machine.handle_input(rest);
        // Every command of the last round was answered, so the machine
        // takes at least one more box (or, once failed, everything).
        assert!(
            used > 0,
            "answering every command lets the machine take all input"
        );
        rest = &rest[used..];
        while let Some(event) = machine.poll_event() {
            if let Event::Command {
                ticket, arguments, ..
            } = event
            {
                let _ = machine.complete(ticket, Reply::Answer(arguments));
            }
        }
        let _ = machine.poll_transmit();
    }
    whole.0.len()
}

gyre_protocols::amp_fields! {
    /// A row with one field of each kind.
    pub struct Row {
        i: i64,
        f: Option<f64>,
        d: Option<Decimal>,
        t: Option<DateTime>,
        l: Option<Vec<String>>,
    }
}

/// Decodes `bytes` as `T`; if that works, its encoding must decode to the
/// same encoding again. Returns whether `bytes` decoded.
fn stable<T: Argument>(bytes: &[u8]) -> bool {
    let Ok(value) = T::decode(bytes, &mut DecodeContext::default()) else {
        return false;
    };
    let encoded = value
        .encode(&mut EncodeContext::default())
        .expect("a decoded value encodes");
    let again = T::decode(&encoded, &mut DecodeContext::default()).expect("an encoded value decodes");
    assert_eq!(
        again
            .encode(&mut EncodeContext::default())
            .expect("encodes again"),
        encoded
    );
    true
}

/// Every argument decoder (Integer, Float, Boolean, Unicode, Decimal,
/// DateTime, ListOf, AmpList) and a typed struct decoded from boxes.
/// Returns which of integer, float, decimal, date-time, list of bytes and
/// AmpList accepted `input`.
pub fn arguments(input: &[u8]) -> [bool; 6] {
    let accepted = [
        stable::<i64>(input),
        stable::<f64>(input),
        stable::<Decimal>(input),
        stable::<DateTime>(input),
        stable::<Vec<Vec<u8>>>(input),
        stable::<AmpList<Row>>(input),
    ];
    stable::<bool>(input);
    stable::<String>(input);
    stable::<u128>(input);
    stable::<Vec<i64>>(input);
    if let Ok(boxes) = decode_boxes(input, BoxLimits::default()) {
        for fields in &boxes {
            let _ = Row::decode_fields(fields, &mut DecodeContext::default());
        }
    }
    accepted
}
