//! The stable-Rust stand-ins for the `amp_box_decoder` and `amp_arguments`
//! fuzz targets (`fuzz/`): thousands of seeded random and mutated inputs,
//! starting from the bytes Twisted produced. Nothing may panic; chunking
//! must not change the decoded boxes; decoded boxes and values must
//! re-encode to a stable wire form; the conversation machine must survive
//! anything.

mod amp_support;

use amp_support::golden;
use gyre_protocols::amp::{
    AmpBox, AmpConfig, AmpList, AmpMachine, Argument, BoxDecoder, BoxLimits, DateTime, Decimal,
    DecodeContext, EncodeContext, Event, Fields, Reply, decode_boxes,
};
use gyre_testing::fuzz_smoke::run_smoke;

const PIECES: &[&[u8]] = &[
    b"\x00\x00",
    b"\x00\x04_ask",
    b"\x00\x011",
    b"\x00\x08_command",
    b"\x00\x07_answer",
    b"\x00\x06_error",
    b"\x00\x0b_error_code",
    b"\x01\x00",
    b"\xff\xff",
    b"\x00\x01a",
    b"nan",
    b"-inf",
    b"E+",
    b"e-",
    b"sNaN",
    b"Infinity",
    b"-00:00",
    b"T",
    b".",
    b"9",
    b"\xc3",
];

fn decode(chunks: &mut dyn Iterator<Item = &[u8]>) -> (Vec<AmpBox>, bool) {
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

fn seeds() -> Vec<&'static [u8]> {
    let mut seeds = vec![
        golden::CALL_ALL_TYPES,
        golden::CALL_LOG,
        golden::CALL_SUM_THIRD,
        golden::AMP_LIST,
        golden::AMP_LIST_OPTIONAL,
        golden::LIST_OF_UNICODE,
        golden::LIST_OF_INTEGERS,
    ];
    for (request, reply, _) in [
        golden::ANSWER_SUM,
        golden::ERROR_ZERO_DIVISION,
        golden::ERROR_UNHANDLED,
    ] {
        seeds.push(request);
        seeds.push(reply);
    }
    seeds.extend(golden::DECIMALS.iter().map(|(_, wire)| *wire));
    seeds.extend(golden::DATETIMES.iter().map(|(_, _, wire)| *wire));
    seeds.extend(golden::FLOATS.iter().take(40).map(|(_, wire)| *wire));
    seeds
}

#[test]
fn box_decoder_and_machine_smoke() {
    let mut decoded_boxes = 0;
    run_smoke(0xA3B0, 12_000, &seeds(), PIECES, |input| {
        let split = input.first().map_or(1, |&b| usize::from(b % 7) + 1);
        let whole = decode(&mut std::iter::once(input));
        assert_eq!(whole, decode(&mut input.chunks(split)), "chunks of {split}");
        for decoded in &whole.0 {
            decoded_boxes += 1;
            let bytes = decoded.to_bytes().expect("a decoded box encodes");
            assert_eq!(
                decode(&mut std::iter::once(&bytes[..])),
                (vec![decoded.clone()], false)
            );
        }

        let mut machine = AmpMachine::new(AmpConfig {
            max_in_flight_commands: 2,
            ..AmpConfig::default()
        });
        machine.ask(b"Probe", AmpBox::new()).unwrap();
        let mut rest = input;
        for _ in 0..64 {
            let used = machine.handle_input(rest);
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
            if rest.is_empty() {
                break;
            }
        }
        assert!(
            rest.is_empty(),
            "answering every command lets the machine take all input"
        );
    });
    assert!(
        decoded_boxes > 300,
        "the smoke run decodes real boxes: {decoded_boxes}"
    );
}

gyre_protocols::amp_fields! {
    /// A row with one field of each kind.
    struct Row {
        i: i64,
        f: Option<f64>,
        d: Option<Decimal>,
        t: Option<DateTime>,
        l: Option<Vec<String>>,
    }
}

/// Decodes `bytes` as `T`; if that works, its encoding must be stable.
fn stable<T: Argument>(bytes: &[u8]) -> bool {
    let Ok(value) = T::decode(bytes, &mut DecodeContext::default()) else {
        return false;
    };
    let encoded = value
        .encode(&mut EncodeContext::default())
        .expect("a decoded value encodes");
    let again = T::decode(&encoded, &mut DecodeContext::default()).expect("an encoded value decodes");
    assert_eq!(again.encode(&mut EncodeContext::default()).unwrap(), encoded);
    true
}

#[test]
fn argument_decoders_smoke() {
    let mut accepted = [0_usize; 6];
    run_smoke(0xA46, 12_000, &seeds(), PIECES, |input| {
        accepted[0] += usize::from(stable::<i64>(input));
        accepted[1] += usize::from(stable::<f64>(input));
        accepted[2] += usize::from(stable::<Decimal>(input));
        accepted[3] += usize::from(stable::<DateTime>(input));
        accepted[4] += usize::from(stable::<Vec<Vec<u8>>>(input));
        accepted[5] += usize::from(stable::<AmpList<Row>>(input));
        stable::<bool>(input);
        stable::<String>(input);
        stable::<u128>(input);
        stable::<Vec<i64>>(input);
        if let Ok(boxes) = decode_boxes(input, BoxLimits::default()) {
            for fields in &boxes {
                let _ = Row::decode_fields(fields, &mut DecodeContext::default());
            }
        }
    });
    // Every decoder saw inputs it accepted, not only garbage.
    assert!(accepted.iter().all(|&n| n > 0), "{accepted:?}");
}
