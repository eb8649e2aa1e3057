//! The WebSocket frame codec and connection machine, fed at every chunk
//! size: RFC 6455 §5.7's exact frames, fragmentation with interleaved
//! control frames, every protocol violation with its close code, UTF-8
//! split across fragments, size limits, and the close handshake.

use gyre_http::websocket::{
    CloseCode, CloseFrame, Event, MaskKeys, Message, Opcode, Role, WebSocketConfig, WebSocketConnection,
    WsError, apply_mask, parse_header, write_frame,
};
use gyre_testing::assert_chunking_invariant;

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

fn machine(role: Role, config: WebSocketConfig) -> WebSocketConnection {
    WebSocketConnection::new(role, config).with_mask_keys(MaskKeys::from_fn(|| KEY))
}

/// Feeds `input` in the given pieces; returns the events and the bytes sent.
fn run(
    role: Role,
    config: WebSocketConfig,
    pieces: &mut dyn Iterator<Item = &[u8]>,
) -> (Vec<Event>, Vec<u8>) {
    let mut conn = machine(role, config);
    let (mut events, mut sent) = (Vec::new(), Vec::new());
    for piece in pieces {
        conn.handle_input(piece);
        while let Some(event) = conn.poll_event() {
            events.push(event);
        }
        if let Some(bytes) = conn.poll_transmit() {
            sent.extend_from_slice(&bytes);
        }
    }
    (events, sent)
}

fn feed(role: Role, input: &[u8]) -> (Vec<Event>, Vec<u8>) {
    feed_with(role, WebSocketConfig::default(), input)
}

fn feed_with(role: Role, config: WebSocketConfig, input: &[u8]) -> (Vec<Event>, Vec<u8>) {
    assert_chunking_invariant(input, |pieces| run(role, config, pieces))
}

/// A frame as a client sends it (masked with KEY).
fn masked(fin: bool, opcode: Opcode, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    write_frame(&mut out, fin, 0, opcode, Some(KEY), payload);
    out
}

fn text(s: &str) -> Event {
    Event::Message(Message::Text(s.into()))
}

fn close_code_sent(sent: &[u8]) -> Option<u16> {
    let (header, used) = parse_header(sent).ok()??;
    let mut code = sent.get(used..used + 2)?.to_vec();
    if let Some(key) = header.mask {
        apply_mask(&mut code, key, 0);
    }
    (header.opcode == Opcode::Close).then(|| u16::from_be_bytes([code[0], code[1]]))
}

#[test]
fn rfc_5_7_single_frame_unmasked_text() {
    let (events, sent) = feed(Role::Client, &[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    assert_eq!(events, [text("Hello")]);
    assert!(sent.is_empty());
}

#[test]
fn rfc_5_7_single_frame_masked_text() {
    let frame = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
    assert_eq!(feed(Role::Server, &frame).0, [text("Hello")]);
    assert_eq!(masked(true, Opcode::Text, b"Hello"), frame);
}

#[test]
fn rfc_5_7_fragmented_unmasked_text() {
    let frames = [0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f];
    assert_eq!(feed(Role::Client, &frames).0, [text("Hello")]);
}

#[test]
fn rfc_5_7_ping_is_answered_with_the_masked_pong() {
    // A client with the RFC's key answers the RFC's ping with the RFC's masked pong.
    let (events, sent) = feed(Role::Client, &[0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    assert_eq!(events, [Event::Ping(b"Hello".to_vec())]);
    assert_eq!(
        sent,
        [0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]
    );
}

#[test]
fn rfc_5_7_sixteen_and_sixty_four_bit_lengths() {
    for (len, header) in [
        (256, vec![0x82, 0x7e, 0x01, 0x00]),
        (65536, vec![0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0]),
    ] {
        let data: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
        let mut frame = Vec::new();
        write_frame(&mut frame, true, 0, Opcode::Binary, None, &data);
        assert_eq!(frame[..header.len()], header[..]);
        let mut conn = machine(Role::Client, WebSocketConfig::default());
        for byte in frame.chunks(997) {
            conn.handle_input(byte);
        }
        assert_eq!(conn.poll_event(), Some(Event::Message(Message::Binary(data))));
    }
}

#[test]
fn fragmented_message_with_interleaved_control_frames() {
    let mut input = masked(false, Opcode::Binary, b"ab");
    input.extend(masked(true, Opcode::Ping, b"p1"));
    input.extend(masked(false, Opcode::Continuation, b""));
    input.extend(masked(true, Opcode::Pong, b"unsolicited"));
    input.extend(masked(true, Opcode::Continuation, b"cd"));
    let (events, sent) = feed(Role::Server, &input);
    assert_eq!(
        events,
        [
            Event::Ping(b"p1".to_vec()),
            Event::Pong(b"unsolicited".to_vec()),
            Event::Message(Message::Binary(b"abcd".to_vec())),
        ]
    );
    assert_eq!(sent, [0x8a, 0x02, b'p', b'1'], "one pong, none for the pong");
}

#[test]
fn utf8_split_across_fragments_is_accepted() {
    let snowman = "☃ snow ☃".as_bytes();
    let mut input = Vec::new();
    for (i, piece) in snowman.chunks(1).enumerate() {
        let opcode = if i == 0 {
            Opcode::Text
        } else {
            Opcode::Continuation
        };
        input.extend(masked(i + 1 == snowman.len(), opcode, piece));
    }
    assert_eq!(feed(Role::Server, &input).0, [text("☃ snow ☃")]);
}

#[test]
fn invalid_utf8_fails_fast_and_incomplete_utf8_fails_at_the_end() {
    // 0xFF can never start a sequence: refused in the first fragment, before the rest arrives.
    let (events, sent) = feed(Role::Server, &masked(false, Opcode::Text, b"ok\xff"));
    assert_eq!(events, [Event::Error(WsError::InvalidUtf8)]);
    assert_eq!(close_code_sent(&sent), Some(1007));
    // A sequence left incomplete by the final fragment.
    let mut input = masked(false, Opcode::Text, b"ok\xe2");
    input.extend(masked(true, Opcode::Continuation, b"\x98"));
    assert_eq!(feed(Role::Server, &input).0, [Event::Error(WsError::InvalidUtf8)]);
    // Overlong encoding and surrogates are not UTF-8 either.
    for bad in [&b"\xc0\xaf"[..], b"\xed\xa0\x80"] {
        assert_eq!(
            feed(Role::Server, &masked(true, Opcode::Text, bad)).0,
            [Event::Error(WsError::InvalidUtf8)]
        );
    }
}

#[test]
fn every_protocol_violation_is_answered_with_its_close_code() {
    let mut long_ping = vec![0x89, 0xfe, 0x00, 0x7e];
    long_ping.extend(KEY);
    long_ping.extend([0; 126]);
    let cases: Vec<(&str, Role, Vec<u8>, WsError, u16)> = vec![
        (
            "reserved opcode 3",
            Role::Server,
            vec![0x83, 0x80, 1, 2, 3, 4],
            WsError::ReservedOpcode,
            1002,
        ),
        (
            "reserved opcode 0xB",
            Role::Server,
            vec![0x8b, 0x80, 1, 2, 3, 4],
            WsError::ReservedOpcode,
            1002,
        ),
        (
            "RSV1 without extension",
            Role::Server,
            vec![0xc1, 0x80, 1, 2, 3, 4],
            WsError::ReservedBits,
            1002,
        ),
        (
            "RSV3",
            Role::Client,
            vec![0x91, 0x00],
            WsError::ReservedBits,
            1002,
        ),
        (
            "unmasked client frame",
            Role::Server,
            vec![0x81, 0x01, b'a'],
            WsError::UnmaskedFrame,
            1002,
        ),
        (
            "masked server frame",
            Role::Client,
            masked(true, Opcode::Text, b"a"),
            WsError::MaskedFrame,
            1002,
        ),
        (
            "16-bit length under 126",
            Role::Client,
            vec![0x82, 0x7e, 0x00, 0x7d],
            WsError::NonMinimalLength,
            1002,
        ),
        (
            "64-bit length under 65536",
            Role::Client,
            vec![0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0xff, 0xff],
            WsError::NonMinimalLength,
            1002,
        ),
        (
            "64-bit length high bit",
            Role::Client,
            vec![0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0],
            WsError::LengthOverflow,
            1002,
        ),
        (
            "fragmented ping",
            Role::Server,
            masked(false, Opcode::Ping, b""),
            WsError::FragmentedControl,
            1002,
        ),
        (
            "ping of 126 bytes",
            Role::Server,
            long_ping,
            WsError::ControlTooLong,
            1002,
        ),
        (
            "lone continuation",
            Role::Server,
            masked(true, Opcode::Continuation, b"x"),
            WsError::UnexpectedContinuation,
            1002,
        ),
        (
            "text inside a fragmented message",
            Role::Server,
            [
                masked(false, Opcode::Text, b"a"),
                masked(true, Opcode::Text, b"b"),
            ]
            .concat(),
            WsError::ExpectedContinuation,
            1002,
        ),
        (
            "close with one byte",
            Role::Server,
            masked(true, Opcode::Close, &[3]),
            WsError::InvalidClosePayload,
            1002,
        ),
        (
            "close reason not UTF-8",
            Role::Server,
            masked(true, Opcode::Close, b"\x03\xe8\xff"),
            WsError::InvalidUtf8,
            1007,
        ),
    ];
    for (name, role, input, error, code) in cases {
        let (events, sent) = feed(role, &input);
        assert_eq!(events, [Event::Error(error.clone())], "{name}");
        assert_eq!(error.close_code(), CloseCode(code), "{name}");
        assert_eq!(close_code_sent(&sent), Some(code), "{name}: the close frame sent");
    }
}

#[test]
fn close_codes_that_may_not_appear_on_the_wire_are_refused() {
    for code in [0u16, 999, 1004, 1005, 1006, 1012, 1015, 1016, 2999, 5000, 65535] {
        let (events, sent) = feed(Role::Server, &masked(true, Opcode::Close, &code.to_be_bytes()));
        assert_eq!(events, [Event::Error(WsError::InvalidClosePayload)], "{code}");
        assert_eq!(close_code_sent(&sent), Some(1002), "{code}");
    }
    for code in [
        1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999,
    ] {
        let mut payload = code.to_be_bytes().to_vec();
        payload.extend_from_slice("bye ☃".as_bytes());
        let (events, sent) = feed(Role::Server, &masked(true, Opcode::Close, &payload));
        let frame = CloseFrame {
            code: CloseCode(code),
            reason: "bye ☃".into(),
        };
        assert_eq!(events, [Event::Close(frame)], "{code}");
        assert_eq!(
            sent,
            [0x88, 0x02, (code >> 8) as u8, code as u8],
            "{code}: the code is echoed"
        );
    }
}

#[test]
fn limits_on_frames_and_messages_answer_1009() {
    let config = WebSocketConfig {
        max_message_size: 10,
        max_frame_size: 6,
    };
    // Refused from the header alone: the payload is never buffered.
    let (events, sent) = feed_with(Role::Client, config, &[0x82, 0x7f, 0, 0, 0, 1, 0, 0, 0, 0]);
    assert_eq!(events, [Event::Error(WsError::FrameTooBig)]);
    assert_eq!(close_code_sent(&sent), Some(1009));
    let mut input = masked(false, Opcode::Binary, b"123456");
    input.extend(masked(false, Opcode::Continuation, b"1234"));
    input.extend(masked(true, Opcode::Continuation, b"1"));
    let (events, sent) = feed_with(Role::Server, config, &input);
    assert_eq!(events, [Event::Error(WsError::MessageTooBig)]);
    assert_eq!(close_code_sent(&sent), Some(1009));
    // Exactly at the limits is fine.
    let mut input = masked(false, Opcode::Binary, b"123456");
    input.extend(masked(true, Opcode::Continuation, b"7890"));
    assert_eq!(
        feed_with(Role::Server, config, &input).0,
        [Event::Message(Message::Binary(b"1234567890".to_vec()))]
    );
}

#[test]
fn errors_are_sticky() {
    let mut conn = machine(Role::Server, WebSocketConfig::default());
    conn.handle_input(&[0x81, 0x01, b'a']);
    assert_eq!(conn.poll_event(), Some(Event::Error(WsError::UnmaskedFrame)));
    conn.handle_input(&masked(true, Opcode::Text, b"later"));
    assert_eq!(conn.poll_event(), None);
    assert!(conn.wants_close());
    assert_eq!(conn.error(), Some(&WsError::UnmaskedFrame));
    assert!(conn.send_text("x").is_err(), "the close frame was sent");
}

#[test]
fn our_close_then_theirs_completes_the_handshake() {
    let mut conn = machine(Role::Client, WebSocketConfig::default());
    conn.close(Some(CloseCode::NORMAL), "done").unwrap();
    assert_eq!(
        &*conn.poll_transmit().unwrap(),
        masked(true, Opcode::Close, b"\x03\xe8done")
    );
    assert!(conn.send_binary(b"x").is_err() && conn.send_ping(b"").is_err());
    // Messages still arrive until the peer's close.
    conn.handle_input(&[0x81, 0x01, b'z', 0x88, 0x02, 0x03, 0xe8]);
    assert_eq!(conn.poll_event(), Some(text("z")));
    assert!(!conn.wants_close());
    let frame = CloseFrame {
        code: CloseCode::NORMAL,
        reason: String::new(),
    };
    assert_eq!(conn.poll_event(), Some(Event::Close(frame)));
    assert!(conn.poll_transmit().is_none(), "no second close frame");
    assert!(conn.wants_close());
}

#[test]
fn empty_close_is_reported_as_no_status_and_echoed_empty() {
    let (events, sent) = feed(Role::Server, &masked(true, Opcode::Close, b""));
    let frame = CloseFrame {
        code: CloseCode::NO_STATUS,
        reason: String::new(),
    };
    assert_eq!(events, [Event::Close(frame)]);
    assert_eq!(sent, [0x88, 0x00]);
}

#[test]
fn nothing_is_read_after_the_peers_close() {
    let mut input = masked(true, Opcode::Close, b"\x03\xe8");
    input.extend(masked(true, Opcode::Text, b"late"));
    input.extend([0xff; 9]);
    let (events, _) = feed(Role::Server, &input);
    assert_eq!(events.len(), 1);
}

#[test]
fn sending_refuses_what_the_wire_cannot_carry() {
    let mut conn = machine(Role::Server, WebSocketConfig::default());
    assert!(conn.send_ping(&[0; 126]).is_err());
    assert!(conn.send_ping(&[0; 125]).is_ok());
    for code in [1005, 1006, 1015, 999, 5000] {
        assert!(conn.close(Some(CloseCode(code)), "").is_err(), "{code}");
    }
    assert!(conn.close(Some(CloseCode::NORMAL), &"x".repeat(124)).is_err());
    assert!(conn.close(None, "reason without code").is_err());
    assert!(!conn.is_close_sent());
    conn.close(Some(CloseCode(4000)), &"x".repeat(123)).unwrap();
    assert!(conn.is_close_sent());
}

#[test]
fn eof_without_close_is_abnormal_and_close_timeout_gives_up() {
    let mut conn = machine(Role::Server, WebSocketConfig::default());
    conn.handle_eof();
    assert_eq!(conn.poll_event(), Some(Event::Error(WsError::AbnormalClosure)));
    assert!(
        conn.poll_transmit().is_none(),
        "no close frame into a closed transport"
    );
    assert_eq!(WsError::AbnormalClosure.close_code(), CloseCode::ABNORMAL);
    let mut conn = machine(Role::Client, WebSocketConfig::default());
    conn.close(None, "").unwrap();
    drop(conn.poll_transmit());
    conn.handle_close_timeout();
    assert_eq!(conn.poll_event(), Some(Event::Error(WsError::CloseTimeout)));
    assert!(conn.wants_close());
}

#[test]
fn client_and_server_machines_round_trip_every_length_class() {
    let mut client = WebSocketConnection::new(Role::Client, WebSocketConfig::default());
    let mut server = WebSocketConnection::new(Role::Server, WebSocketConfig::default());
    let sizes = [0, 1, 125, 126, 127, 65535, 65536, 70000];
    for &size in &sizes {
        let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        client.send_binary(&data).unwrap();
        let half = size / 2;
        client
            .send_fragment(true, "é".repeat(half / 2).as_bytes(), false)
            .unwrap();
        client.send_ping(b"between").unwrap();
        client
            .send_fragment(true, "ü".repeat(half / 2).as_bytes(), true)
            .unwrap();
        let bytes = client.poll_transmit().unwrap().to_vec();
        server.handle_input(&bytes);
        assert_eq!(
            server.poll_event(),
            Some(Event::Message(Message::Binary(data.clone())))
        );
        assert_eq!(server.poll_event(), Some(Event::Ping(b"between".to_vec())));
        let expected = "é".repeat(half / 2) + &"ü".repeat(half / 2);
        assert_eq!(server.poll_event(), Some(text(&expected)));
        server.send_binary(&data).unwrap();
        let bytes = server.poll_transmit().unwrap().to_vec();
        client.handle_input(&bytes);
        assert_eq!(client.poll_event(), Some(Event::Pong(b"between".to_vec())));
        assert_eq!(client.poll_event(), Some(Event::Message(Message::Binary(data))));
    }
    server.close(Some(CloseCode::GOING_AWAY), "shutdown").unwrap();
    let bytes = server.poll_transmit().unwrap().to_vec();
    client.handle_input(&bytes);
    let expected = CloseFrame {
        code: CloseCode::GOING_AWAY,
        reason: "shutdown".into(),
    };
    assert_eq!(client.poll_event(), Some(Event::Close(expected)));
    let bytes = client.poll_transmit().unwrap().to_vec();
    server.handle_input(&bytes);
    assert!(matches!(server.poll_event(), Some(Event::Close(_))));
    assert!(server.wants_close() && client.wants_close());
}
