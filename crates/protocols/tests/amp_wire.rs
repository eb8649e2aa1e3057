//! The sans-IO layers of AMP: the box decoder at every chunk size, its
//! limits and malformed input, the encoder's checks, and the conversation
//! machine (tags, answers, errors, violations, backpressure) fed byte by
//! byte.

mod amp_support;

use amp_support::golden;
use gyre_protocols::amp::{
    AmpBox, AmpConfig, AmpMachine, BoxDecoder, BoxLimits, DecodeError, EncodeError, Event, ProtocolError,
    Reply, SendError, decode_boxes,
};
use gyre_testing::assert_chunking_invariant;

/// Decodes chunks into boxes, or the error that stopped the decoder.
fn decode_chunks(
    chunks: &mut dyn Iterator<Item = &[u8]>,
    limits: BoxLimits,
) -> Result<Vec<AmpBox>, DecodeError> {
    let mut decoder = BoxDecoder::new(limits);
    let mut boxes = Vec::new();
    for chunk in chunks {
        let mut rest = chunk;
        while !rest.is_empty() {
            let (used, decoded) = decoder.decode(rest)?;
            assert!(used > 0, "the decoder always makes progress");
            rest = &rest[used..];
            boxes.extend(decoded);
        }
    }
    Ok(boxes)
}

fn boxed(pairs: &[(&str, &[u8])]) -> AmpBox {
    pairs.iter().map(|(k, v)| (k.as_bytes(), v.to_vec())).collect()
}

#[test]
fn twisteds_boxes_decode_the_same_at_every_chunk_size() {
    let mut stream = Vec::new();
    for part in [
        golden::CALL_ALL_TYPES,
        golden::CALL_LOG,
        golden::CALL_SUM_THIRD,
        golden::ANSWER_SUM.1,
        golden::ERROR_ZERO_DIVISION.1,
        golden::ERROR_UNHANDLED.1,
    ] {
        stream.extend_from_slice(part);
    }
    let boxes =
        assert_chunking_invariant(&stream, |chunks| decode_chunks(chunks, BoxLimits::default())).unwrap();
    assert_eq!(boxes.len(), 6);
    assert_eq!(boxes[0].get("_command"), Some(&b"AllTypes"[..]));
    assert_eq!(boxes[0].get("s"), Some(&b"\x00\xffbin"[..]));
    assert_eq!(boxes[0].get("first-name"), Some(&b"Ada"[..]));
    assert_eq!(boxes[1].get("message"), Some(&b"no answer wanted"[..]));
    assert!(!boxes[1].contains_key("_ask"));
    assert_eq!(boxes[5].get("_error_code"), Some(&b"UNHANDLED"[..]));
    // Re-encoding gives Twisted's bytes back: same keys, same (sorted) order.
    let again: Vec<u8> = boxes.iter().flat_map(|b| b.to_bytes().unwrap()).collect();
    assert_eq!(again, stream);
}

#[test]
fn empty_values_empty_boxes_and_full_size_values() {
    let big = vec![b'x'; 65535];
    let mut stream = boxed(&[("empty", b""), ("big", &big)]).to_bytes().unwrap();
    stream.extend_from_slice(b"\x00\x00");
    let boxes =
        assert_chunking_invariant(&stream, |chunks| decode_chunks(chunks, BoxLimits::default())).unwrap();
    assert_eq!(boxes.len(), 2);
    assert_eq!(boxes[0].get("empty"), Some(&b""[..]));
    assert_eq!(boxes[0].get("big").map(<[u8]>::len), Some(65535));
    assert!(boxes[1].is_empty());
}

#[test]
fn a_key_over_255_bytes_is_refused_as_soon_as_its_length_arrives() {
    let error = decode_chunks(&mut std::iter::once(&b"\x01\x00"[..]), BoxLimits::default()).unwrap_err();
    assert_eq!(error, DecodeError::KeyTooLong { length: 256 });
    // Errors are sticky.
    let mut decoder = BoxDecoder::new(BoxLimits::default());
    assert!(decoder.decode(b"\x01\x00").is_err());
    assert_eq!(
        decoder.decode(b"\x00\x00"),
        Err(DecodeError::KeyTooLong { length: 256 })
    );
    assert_eq!(decoder.error(), Some(&DecodeError::KeyTooLong { length: 256 }));
}

#[test]
fn box_size_and_key_count_limits_stop_a_peer_before_it_sends_the_bytes() {
    let limits = BoxLimits {
        max_box_bytes: 100,
        max_keys: 3,
    };
    // A value announced at 200 bytes is refused on its length alone.
    let error = decode_chunks(&mut std::iter::once(&b"\x00\x01k\x00\xc8"[..]), limits).unwrap_err();
    assert_eq!(error, DecodeError::BoxTooLarge { limit: 100 });
    let four_keys = boxed(&[("a", b""), ("b", b""), ("c", b""), ("d", b"")])
        .to_bytes()
        .unwrap();
    let error = decode_chunks(&mut std::iter::once(&four_keys[..]), limits).unwrap_err();
    assert_eq!(error, DecodeError::TooManyKeys { limit: 3 });
    // Exactly at the limit is fine: 3 keys, and a box of exactly 100 bytes.
    let three_keys = boxed(&[("a", b""), ("b", b""), ("c", b"")]).to_bytes().unwrap();
    assert_eq!(
        decode_chunks(&mut std::iter::once(&three_keys[..]), limits)
            .unwrap()
            .len(),
        1
    );
    let hundred = boxed(&[("k", &[b'v'; 93])]).to_bytes().unwrap();
    assert_eq!(hundred.len(), 100);
    assert_eq!(
        decode_chunks(&mut std::iter::once(&hundred[..]), limits)
            .unwrap()
            .len(),
        1
    );
    let hundred_one = boxed(&[("k", &[b'v'; 94])]).to_bytes().unwrap();
    assert!(decode_chunks(&mut std::iter::once(&hundred_one[..]), limits).is_err());
}

#[test]
fn a_repeated_key_is_an_error() {
    let error = decode_chunks(
        &mut std::iter::once(&b"\x00\x01a\x00\x011\x00\x01a\x00\x012\x00\x00"[..]),
        BoxLimits::default(),
    )
    .unwrap_err();
    assert_eq!(error, DecodeError::DuplicateKey { key: "a".into() });
}

#[test]
fn the_decoder_knows_whether_it_stopped_between_boxes() {
    let mut decoder = BoxDecoder::new(BoxLimits::default());
    assert!(decoder.is_between_boxes());
    decoder.decode(b"\x00").unwrap();
    assert!(!decoder.is_between_boxes());
    decoder.decode(b"\x00").unwrap();
    assert!(decoder.is_between_boxes());
    assert_eq!(
        decode_boxes(b"\x00\x01a", BoxLimits::default()),
        Err(DecodeError::Truncated)
    );
    assert_eq!(
        decode_boxes(b"\x00\x00\x00\x00", BoxLimits::default())
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn the_encoder_refuses_what_the_wire_cannot_carry() {
    assert_eq!(boxed(&[("", b"x")]).to_bytes(), Err(EncodeError::EmptyKey));
    let long_key = "k".repeat(256);
    assert_eq!(
        boxed(&[(&long_key, b"x")]).to_bytes(),
        Err(EncodeError::KeyTooLong { length: 256 })
    );
    let long_value = vec![0; 65536];
    let mut out = b"kept".to_vec();
    let error = boxed(&[("v", &long_value)]).encode(&mut out).unwrap_err();
    assert_eq!(
        error,
        EncodeError::ValueTooLong {
            key: "v".into(),
            length: 65536
        }
    );
    assert_eq!(out, b"kept", "nothing is written on error");
    assert!(boxed(&[(&"k".repeat(255), &vec![0; 65535])]).to_bytes().is_ok());
}

fn events(machine: &mut AmpMachine) -> Vec<Event> {
    std::iter::from_fn(|| machine.poll_event()).collect()
}

#[test]
fn the_machine_tags_calls_like_twisted_and_matches_answers_byte_by_byte() {
    let mut machine = AmpMachine::new(AmpConfig::default());
    let everything = {
        let mut arguments = AmpBox::new();
        let mut context = gyre_protocols::amp::EncodeContext::default();
        gyre_protocols::amp::Fields::encode_fields(
            amp_support::golden_everything(),
            &mut arguments,
            &mut context,
        )
        .unwrap();
        arguments
    };
    assert_eq!(machine.ask(b"AllTypes", everything).unwrap(), 1);
    assert_eq!(machine.poll_transmit().unwrap(), golden::CALL_ALL_TYPES);
    machine
        .tell(b"Log", boxed(&[("message", b"no answer wanted")]))
        .unwrap();
    assert_eq!(machine.poll_transmit().unwrap(), golden::CALL_LOG);
    assert_eq!(
        machine.ask(b"Sum", boxed(&[("a", b"13"), ("b", b"81")])).unwrap(),
        3
    );
    assert_eq!(machine.poll_transmit().unwrap(), golden::CALL_SUM_THIRD);
    assert_eq!(machine.outstanding_calls(), 2);

    // The answers arrive out of order, one byte at a time.
    let answers = [
        &b"\x00\x07_answer\x00\x013\x00\x05total\x00\x0294\x00\x00"[..],
        &b"\x00\x06_error\x00\x011\x00\x0b_error_code\x00\x01X\x00\x12_error_description\x00\x02\xffy\x00\x00"[..],
    ]
    .concat();
    for byte in &answers {
        assert_eq!(machine.handle_input(std::slice::from_ref(byte)), 1);
    }
    assert_eq!(
        events(&mut machine),
        [
            Event::Answer {
                tag: 3,
                response: boxed(&[("total", b"94")])
            },
            Event::Error {
                tag: 1,
                code: b"X".to_vec(),
                description: "\u{fffd}y".into()
            },
        ]
    );
    assert_eq!(machine.outstanding_calls(), 0);
}

#[test]
fn answers_to_questions_never_asked_break_the_protocol() {
    for (wire, expected) in [
        (
            &b"\x00\x07_answer\x00\x011\x00\x00"[..],
            ProtocolError::UnknownAnswer { tag: "1".into() },
        ),
        (
            &b"\x00\x07_answer\x00\x0201\x00\x00"[..],
            ProtocolError::UnknownAnswer { tag: "01".into() },
        ),
        (
            &b"\x00\x01x\x00\x00\x00\x00"[..],
            ProtocolError::NotACommandOrAnswer,
        ),
        (&b"\x00\x00"[..], ProtocolError::NotACommandOrAnswer),
        (
            &b"\x00\x06_error\x00\x011\x00\x00"[..],
            ProtocolError::MalformedError {
                missing: "_error_code",
            },
        ),
    ] {
        let mut machine = AmpMachine::new(AmpConfig::default());
        if wire.starts_with(b"\x00\x07_answer\x00\x0201") {
            machine.ask(b"Sum", AmpBox::new()).unwrap();
        }
        let trailing = b"\x00\x08_command\x00\x03Sum\x00\x00";
        let input = [wire, &trailing[..]].concat();
        assert_eq!(
            machine.handle_input(&input),
            input.len(),
            "input after a failure is discarded"
        );
        assert_eq!(events(&mut machine), [Event::Failed(expected)]);
        assert!(machine.is_failed());
        assert_eq!(machine.ask(b"Sum", AmpBox::new()), Err(SendError::Closed));
    }
}

#[test]
fn commands_are_delivered_without_reserved_keys_and_answered_in_twisteds_shape() {
    let mut machine = AmpMachine::new(AmpConfig::default());
    let (request, reply, _) = golden::ANSWER_SUM;
    assert_eq!(machine.handle_input(request), request.len());
    let Some(Event::Command {
        name,
        arguments,
        ticket,
    }) = machine.poll_event()
    else {
        panic!("a command")
    };
    assert_eq!(name, b"Sum");
    assert_eq!(arguments, boxed(&[("a", b"13"), ("b", b"81")]));
    assert_eq!(ticket.ask(), Some(&b"ff"[..]));
    machine
        .complete(ticket, Reply::Answer(boxed(&[("total", b"94")])))
        .unwrap();
    assert_eq!(machine.poll_transmit().unwrap(), reply);

    let (request, reply, _) = golden::ERROR_UNHANDLED;
    machine.handle_input(request);
    let Some(Event::Command { ticket, .. }) = machine.poll_event() else {
        panic!("a command")
    };
    machine
        .complete(
            ticket,
            Reply::Error {
                code: b"UNHANDLED".to_vec(),
                description: "Unhandled Command: b'Nope'".into(),
            },
        )
        .unwrap();
    assert_eq!(machine.poll_transmit().unwrap(), reply);
}

#[test]
fn an_answer_too_big_for_the_wire_becomes_an_unknown_error() {
    let mut machine = AmpMachine::new(AmpConfig::default());
    machine.handle_input(golden::ANSWER_SUM.0);
    let Some(Event::Command { ticket, .. }) = machine.poll_event() else {
        panic!("a command")
    };
    let error = machine
        .complete(ticket, Reply::Answer(boxed(&[("", b"x")])))
        .unwrap_err();
    assert_eq!(error, EncodeError::EmptyKey);
    let sent = decode_boxes(&machine.poll_transmit().unwrap(), BoxLimits::default()).unwrap();
    assert_eq!(sent[0].get("_error_code"), Some(&b"UNKNOWN"[..]));
    assert_eq!(sent[0].get("_error"), Some(&b"ff"[..]));
}

#[test]
fn commands_in_flight_past_the_limit_stop_input_until_answered() {
    let config = AmpConfig {
        max_in_flight_commands: 2,
        ..AmpConfig::default()
    };
    let mut machine = AmpMachine::new(config);
    let one = golden::ANSWER_SUM.0;
    let input = [one, one, one].concat();
    // Two commands are taken; the third waits.
    assert_eq!(machine.handle_input(&input), 2 * one.len());
    assert!(!machine.wants_input());
    let tickets: Vec<_> = events(&mut machine)
        .into_iter()
        .map(|event| match event {
            Event::Command { ticket, .. } => ticket,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(machine.handle_input(&input[2 * one.len()..]), 0);
    let mut tickets = tickets.into_iter();
    machine
        .complete(tickets.next().unwrap(), Reply::Answer(AmpBox::new()))
        .unwrap();
    assert!(machine.wants_input());
    assert_eq!(machine.handle_input(&input[2 * one.len()..]), one.len());
    assert_eq!(machine.in_flight_commands(), 2);

    let bytes_config = AmpConfig {
        max_in_flight_bytes: 1,
        ..AmpConfig::default()
    };
    let mut machine = AmpMachine::new(bytes_config);
    assert_eq!(
        machine.handle_input(&input),
        one.len(),
        "one box over the byte limit stops input"
    );
}

#[test]
fn too_many_outstanding_calls_are_refused_and_the_end_returns_every_waiting_tag() {
    let mut machine = AmpMachine::new(AmpConfig {
        max_outstanding_calls: 2,
        ..AmpConfig::default()
    });
    machine.ask(b"A", AmpBox::new()).unwrap();
    machine.ask(b"B", AmpBox::new()).unwrap();
    assert_eq!(
        machine.ask(b"C", AmpBox::new()),
        Err(SendError::TooManyOutstandingCalls { limit: 2 })
    );
    assert_eq!(machine.connection_lost(), [1, 2]);
    assert_eq!(machine.tell(b"D", AmpBox::new()), Err(SendError::Closed));
    assert!(machine.poll_transmit().is_none());
}
