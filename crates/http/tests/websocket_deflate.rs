//! permessage-deflate (RFC 7692): the RFC's §7.2.3 example frames fed at
//! every chunk size, context takeover both ways, decompression bombs and
//! corrupt data with their close codes, RSV1 misuse, and negotiation tables.

use gyre_http::websocket::{
    CloseCode, DeflateConfig, DeflateParams, Event, HandshakeError, MaskKeys, Message, Opcode, Role,
    WebSocketConfig, WebSocketConnection, WsError, check_deflate_answer, negotiate_deflate, parse_header,
};
use gyre_testing::assert_chunking_invariant;

fn machine(role: Role, params: DeflateParams, config: WebSocketConfig) -> WebSocketConnection {
    WebSocketConnection::new(role, config)
        .with_deflate(params)
        .with_mask_keys(MaskKeys::from_fn(|| [1, 2, 3, 4]))
}

fn feed(input: &[u8], config: WebSocketConfig) -> (Vec<Event>, Vec<u8>) {
    assert_chunking_invariant(input, |pieces| {
        let mut conn = machine(Role::Client, DeflateParams::default(), config);
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
    })
}

fn hello() -> Event {
    Event::Message(Message::Text("Hello".into()))
}

#[test]
fn rfc_7692_example_frames() {
    let config = WebSocketConfig::default();
    let cases: [(&str, &[u8], usize); 6] = [
        (
            "7.2.3.1 one compressed frame",
            &[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
            1,
        ),
        (
            "7.2.3.1 fragmented",
            &[0x41, 0x03, 0xf2, 0x48, 0xcd, 0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00],
            1,
        ),
        (
            "7.2.3.2 shared sliding window",
            &[
                0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00,
                0x00,
            ],
            2,
        ),
        (
            "7.2.3.3 stored block",
            &[
                0xc1, 0x0b, 0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
            ],
            1,
        ),
        (
            "7.2.3.5 two deflate blocks",
            &[
                0xc1, 0x0d, 0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00,
            ],
            1,
        ),
        (
            "7.2.3.6 BFINAL set",
            &[0xc1, 0x08, 0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00],
            1,
        ),
    ];
    for (name, input, count) in cases {
        let (events, sent) = feed(input, config);
        assert_eq!(events, vec![hello(); count], "{name}");
        assert!(sent.is_empty(), "{name}");
    }
}

#[test]
fn compressed_messages_round_trip_with_and_without_context_takeover() {
    for takeover in [true, false] {
        let params = DeflateParams {
            server_no_context_takeover: !takeover,
            client_no_context_takeover: !takeover,
        };
        let mut server = machine(Role::Server, params, WebSocketConfig::default());
        let mut client = machine(Role::Client, params, WebSocketConfig::default());
        let text = "the quick brown fox jumps over the lazy dog ".repeat(200);
        let mut sizes = Vec::new();
        for _ in 0..3 {
            server.send_text(&text).unwrap();
            let bytes = server.poll_transmit().unwrap().to_vec();
            let (header, _) = parse_header(&bytes).unwrap().unwrap();
            assert_eq!((header.rsv, header.opcode), (0x4, Opcode::Text));
            sizes.push(bytes.len());
            client.handle_input(&bytes);
            assert_eq!(
                client.poll_event(),
                Some(Event::Message(Message::Text(text.clone())))
            );
        }
        assert!(sizes[0] < text.len() / 10, "compressed: {sizes:?}");
        if takeover {
            assert!(
                sizes[1] < sizes[0],
                "the shared window makes repeats cheaper: {sizes:?}"
            );
        } else {
            assert_eq!(
                sizes[1], sizes[0],
                "no context: every message is compressed alike"
            );
        }
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 7) as u8).collect();
        client.send_binary(&data).unwrap();
        client.send_ping(b"uncompressed").unwrap();
        client.send_fragment(false, b"fragments ", false).unwrap();
        client.send_fragment(false, b"stay plain", true).unwrap();
        let bytes = client.poll_transmit().unwrap().to_vec();
        server.handle_input(&bytes);
        assert_eq!(server.poll_event(), Some(Event::Message(Message::Binary(data))));
        assert_eq!(server.poll_event(), Some(Event::Ping(b"uncompressed".to_vec())));
        assert_eq!(
            server.poll_event(),
            Some(Event::Message(Message::Binary(b"fragments stay plain".to_vec())))
        );
    }
}

#[test]
fn bombs_corruption_and_rsv1_misuse_fail_with_their_codes() {
    let small = WebSocketConfig {
        max_message_size: 64 * 1024,
        max_frame_size: 64 * 1024,
    };
    let mut sender = machine(Role::Server, DeflateParams::default(), WebSocketConfig::default());
    sender.send_binary(&vec![0; 1 << 20]).unwrap();
    let bomb = sender.poll_transmit().unwrap().to_vec();
    assert!(
        bomb.len() < 4096,
        "1 MiB of zeros compresses to {} bytes",
        bomb.len()
    );
    let cases: Vec<(&str, Vec<u8>, WsError, u16)> = vec![
        (
            "1 MiB inflated from a few KiB",
            bomb,
            WsError::MessageTooBig,
            1009,
        ),
        (
            "not DEFLATE",
            vec![0xc2, 0x03, 0xff, 0xff, 0xff],
            WsError::BadCompression,
            1007,
        ),
        (
            "RSV1 on a continuation",
            vec![0x01, 0x01, b'a', 0xc0, 0x01, b'b'],
            WsError::ReservedBits,
            1002,
        ),
        ("RSV1 on a ping", vec![0xc9, 0x00], WsError::ReservedBits, 1002),
        ("RSV2", vec![0xa1, 0x00], WsError::ReservedBits, 1002),
        (
            "compressed text that is not UTF-8",
            {
                let mut sender = machine(Role::Server, DeflateParams::default(), WebSocketConfig::default());
                sender.send_binary(b"\xff\xfe").unwrap();
                let mut frame = sender.poll_transmit().unwrap().to_vec();
                frame[0] = 0xc1;
                frame
            },
            WsError::InvalidUtf8,
            1007,
        ),
    ];
    for (name, input, error, code) in cases {
        let (events, sent) = feed(&input, small);
        assert_eq!(events, [Event::Error(error.clone())], "{name}");
        assert_eq!(error.close_code(), CloseCode(code));
        let (header, used) = parse_header(&sent).unwrap().unwrap();
        let mut payload = sent[used..used + 2].to_vec();
        gyre_http::websocket::apply_mask(&mut payload, header.mask.unwrap(), 0);
        assert_eq!(u16::from_be_bytes([payload[0], payload[1]]), code, "{name}");
    }
}

#[test]
fn server_negotiation_table() {
    let config = DeflateConfig::default();
    let cases: &[(&[&str], Option<&str>)] = &[
        (&["permessage-deflate"], Some("permessage-deflate")),
        (
            &["permessage-deflate; client_max_window_bits"],
            Some("permessage-deflate"),
        ),
        (
            &["permessage-deflate; client_max_window_bits=10"],
            Some("permessage-deflate"),
        ),
        (
            &["permessage-deflate; server_max_window_bits=15"],
            Some("permessage-deflate"),
        ),
        (
            &["permessage-deflate; server_no_context_takeover; client_no_context_takeover"],
            Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
        ),
        (&["permessage-deflate; server_max_window_bits=10"], None),
        (
            &[
                "permessage-deflate; server_max_window_bits=10",
                "permessage-deflate",
            ],
            Some("permessage-deflate"),
        ),
        (&["permessage-deflate; client_max_window_bits=16"], None),
        (&["permessage-deflate; client_max_window_bits=abc"], None),
        (&["permessage-deflate; unknown"], None),
        (
            &["permessage-deflate; server_no_context_takeover; server_no_context_takeover"],
            None,
        ),
        (&["permessage-deflate; server_no_context_takeover=1"], None),
        (&["x-webkit-deflate-frame"], None),
        (&[], None),
    ];
    for (offers, answer) in cases {
        let offers: Vec<String> = offers.iter().map(|o| (*o).to_owned()).collect();
        let got = negotiate_deflate(&offers, &config).map(|(_, answer)| answer);
        assert_eq!(got.as_deref(), *answer, "{offers:?}");
    }
    let strict = DeflateConfig {
        server_no_context_takeover: true,
        client_no_context_takeover: false,
    };
    let (params, answer) = negotiate_deflate(&["permessage-deflate".into()], &strict).unwrap();
    assert!(params.server_no_context_takeover && !params.client_no_context_takeover);
    assert_eq!(answer, "permessage-deflate; server_no_context_takeover");
}

#[test]
fn client_answer_checks() {
    let config = DeflateConfig::default();
    let check = |answers: &[&str], config: &DeflateConfig| {
        let answers: Vec<String> = answers.iter().map(|a| (*a).to_owned()).collect();
        check_deflate_answer(&answers, config)
    };
    assert_eq!(check(&[], &config), Ok(None));
    assert_eq!(
        check(&["permessage-deflate"], &config),
        Ok(Some(DeflateParams::default()))
    );
    let params = check(
        &["permessage-deflate; server_no_context_takeover; server_max_window_bits=9"],
        &config,
    );
    assert_eq!(
        params,
        Ok(Some(DeflateParams {
            server_no_context_takeover: true,
            client_no_context_takeover: false,
        }))
    );
    assert_eq!(
        check(&["permessage-deflate; client_max_window_bits=10"], &config),
        Err(HandshakeError::UnexpectedExtension)
    );
    assert_eq!(
        check(&["permessage-deflate", "permessage-deflate"], &config),
        Err(HandshakeError::UnexpectedExtension)
    );
    assert_eq!(
        check(&["other"], &config),
        Err(HandshakeError::UnexpectedExtension)
    );
    let strict = DeflateConfig {
        server_no_context_takeover: true,
        client_no_context_takeover: false,
    };
    assert_eq!(
        check(&["permessage-deflate"], &strict),
        Err(HandshakeError::UnexpectedExtension)
    );
}
