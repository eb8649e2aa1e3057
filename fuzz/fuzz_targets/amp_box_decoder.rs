//! Feeds arbitrary bytes to the AMP box decoder, split where the first
//! byte says, and to the AMP conversation machine: nothing may panic, the
//! split must not change the boxes, and every decoded box must re-encode to
//! bytes that decode to the same box. The stable-Rust smoke version of this
//! is `crates/protocols/tests/fuzz_smoke_amp.rs`.
#![no_main]

use gyre_protocols::amp::{AmpBox, AmpConfig, AmpMachine, BoxDecoder, BoxLimits, Event, Reply};
use libfuzzer_sys::fuzz_target;

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

fuzz_target!(|data: &[u8]| {
    let Some((&split, input)) = data.split_first() else {
        return;
    };
    let whole = decode(&mut std::iter::once(input));
    let chunked = decode(&mut input.chunks(usize::from(split).max(1)));
    assert_eq!(whole, chunked);
    for decoded in &whole.0 {
        let bytes = decoded.to_bytes().expect("a decoded box encodes");
        let (again, failed) = decode(&mut std::iter::once(&bytes[..]));
        assert!(!failed);
        assert_eq!(again, [decoded.clone()]);
    }

    let mut machine = AmpMachine::new(AmpConfig {
        max_in_flight_commands: 4,
        ..AmpConfig::default()
    });
    let _ = machine.ask(b"Probe", AmpBox::new());
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
});
