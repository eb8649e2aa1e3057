//! The SOCKS parsers fed at every chunk size, and their answers to
//! malformed and oversized messages.

use gyre_protocols::socks::wire::udp::{UdpHeader, encode_header, parse_datagram};
use gyre_protocols::socks::wire::v5::{Method, PasswordAuth};
use gyre_protocols::socks::wire::{Command, MAX_FIELD, ReplyCode, TargetAddr, WireError, v4, v5};
use gyre_testing::assert_chunking_invariant;

type Parse<T> = fn(&[u8]) -> Result<Option<(T, usize)>, WireError>;

/// Parses a stream of back-to-back messages as they arrive in `chunks`.
fn parse_stream<T>(parse: Parse<T>, chunks: &mut dyn Iterator<Item = &[u8]>) -> Result<Vec<T>, WireError> {
    let mut buffer = Vec::new();
    let mut messages = Vec::new();
    for chunk in chunks {
        buffer.extend_from_slice(chunk);
        while let Some((message, used)) = parse(&buffer)? {
            buffer.drain(..used);
            messages.push(message);
        }
    }
    assert!(buffer.is_empty(), "{} bytes left over", buffer.len());
    Ok(messages)
}

fn targets() -> Vec<TargetAddr> {
    vec![
        TargetAddr::Ip("192.0.2.1:80".parse().unwrap()),
        TargetAddr::Ip("[2001:db8::17]:8443".parse().unwrap()),
        TargetAddr::domain("example.com", 443).unwrap(),
        TargetAddr::domain("bücher.example", 1).unwrap(),
        TargetAddr::domain(&"a".repeat(MAX_FIELD), 65535).unwrap(),
    ]
}

#[test]
fn socks5_requests_and_replies_parse_the_same_at_every_chunk_size() {
    let mut requests = Vec::new();
    let mut replies = Vec::new();
    let commands = [
        Command::Connect,
        Command::Bind,
        Command::UdpAssociate,
        Command::Other(9),
    ];
    for (index, target) in targets().into_iter().enumerate() {
        v5::encode_request(commands[index % commands.len()], &target, &mut requests);
        let reply = v5::Reply {
            code: ReplyCode::from_u8(index as u8),
            bound: target,
        };
        v5::encode_reply(&reply, &mut replies);
    }
    let parsed =
        assert_chunking_invariant(&requests, |chunks| parse_stream(v5::parse_request, chunks)).unwrap();
    assert_eq!(parsed.len(), 5);
    assert_eq!(parsed[2].target, TargetAddr::domain("example.com", 443).unwrap());
    assert_eq!(parsed[3].command, Command::Other(9));
    let parsed = assert_chunking_invariant(&replies, |chunks| parse_stream(v5::parse_reply, chunks)).unwrap();
    assert_eq!(parsed[4].code, ReplyCode::HostUnreachable);
}

#[test]
fn socks5_negotiation_messages_parse_the_same_at_every_chunk_size() {
    let mut greetings = Vec::new();
    v5::encode_greeting(&[Method::NO_AUTH], &mut greetings);
    v5::encode_greeting(&[], &mut greetings);
    let many: Vec<Method> = (0..=254).map(Method).collect();
    v5::encode_greeting(&many, &mut greetings);
    let parsed =
        assert_chunking_invariant(&greetings, |chunks| parse_stream(v5::parse_greeting, chunks)).unwrap();
    assert_eq!(parsed.iter().map(Vec::len).collect::<Vec<_>>(), [1, 0, 255]);

    let mut auths = Vec::new();
    for (user, password) in [
        ("alice", "secret"),
        ("", ""),
        ("u", "p"),
        (&*"x".repeat(255), &*"y".repeat(255)),
    ] {
        let auth = PasswordAuth {
            username: user.into(),
            password: password.into(),
        };
        v5::encode_password_auth(&auth, &mut auths).unwrap();
    }
    let parsed =
        assert_chunking_invariant(&auths, |chunks| parse_stream(v5::parse_password_auth, chunks)).unwrap();
    assert_eq!(parsed[3].password.len(), 255);
}

#[test]
fn socks4_requests_parse_the_same_at_every_chunk_size() {
    let mut bytes = Vec::new();
    let requests = [
        (TargetAddr::Ip("10.1.2.3:22".parse().unwrap()), &b""[..]),
        (TargetAddr::Ip("0.0.0.0:0".parse().unwrap()), b"root"),
        (TargetAddr::domain("socks4a.example", 8080).unwrap(), b"user"),
        (
            TargetAddr::domain(&"n".repeat(MAX_FIELD), 1).unwrap(),
            &[b'i'; MAX_FIELD][..],
        ),
    ];
    for (target, user_id) in requests.iter().cloned() {
        let request = v4::Request {
            command: Command::Connect,
            target,
            user_id: user_id.to_vec(),
        };
        v4::encode_request(&request, &mut bytes).unwrap();
    }
    let parsed = assert_chunking_invariant(&bytes, |chunks| parse_stream(v4::parse_request, chunks)).unwrap();
    let targets: Vec<_> = parsed.iter().map(|r| r.target.clone()).collect();
    assert_eq!(
        targets,
        requests.iter().map(|(t, _)| t.clone()).collect::<Vec<_>>()
    );
    assert_eq!(parsed[3].user_id.len(), MAX_FIELD);
}

#[test]
fn oversized_and_malformed_messages_fail_at_every_chunk_size() {
    // A user id that never ends fails once 256 bytes have come without NUL.
    let mut endless = vec![4, 1, 0, 80, 1, 1, 1, 1];
    endless.extend(std::iter::repeat_n(b'x', 300));
    let answer = assert_chunking_invariant(&endless, |chunks| parse_stream(v4::parse_request, chunks));
    assert_eq!(answer.unwrap_err(), WireError::FieldTooLong);
    // The same for a SOCKS4a host name.
    let mut endless_host = vec![4, 1, 0, 80, 0, 0, 0, 9, 0];
    endless_host.extend(std::iter::repeat_n(b'h', 300));
    assert_eq!(v4::parse_request(&endless_host), Err(WireError::FieldTooLong));

    let cases: [(&[u8], Parse<v5::Request>, WireError); 4] = [
        (&[5, 1, 0, 2, 0, 0], v5::parse_request, WireError::AddressType(2)),
        (&[5, 1, 0, 3, 0, 0, 1], v5::parse_request, WireError::EmptyDomain),
        (
            &[5, 1, 0, 3, 1, 0, 0, 1],
            v5::parse_request,
            WireError::DomainNotText,
        ),
        (
            &[4, 1, 0, 1, 1, 1, 1, 1, 0, 1],
            v5::parse_request,
            WireError::Version {
                expected: 5,
                found: 4,
            },
        ),
    ];
    for (bytes, parse, expected) in cases {
        let answer = assert_chunking_invariant(bytes, |chunks| parse_stream(parse, chunks));
        assert_eq!(answer.unwrap_err(), expected, "{bytes:?}");
    }
    assert_eq!(
        v5::parse_password_auth(&[2, 0, 0]),
        Err(WireError::Version {
            expected: 1,
            found: 2
        })
    );
    assert_eq!(
        v4::parse_reply(&[4, 90, 0, 0, 0, 0, 0, 0]).unwrap_err(),
        WireError::Version {
            expected: 0,
            found: 4
        }
    );
}

#[test]
fn udp_headers_round_trip_for_every_address_type() {
    for target in targets() {
        for frag in [0, 1, 255] {
            let header = UdpHeader {
                frag,
                target: target.clone(),
            };
            let mut datagram = Vec::new();
            encode_header(&header, &mut datagram);
            let header_len = datagram.len();
            datagram.extend_from_slice(b"payload");
            let (parsed, payload) = parse_datagram(&datagram).unwrap();
            assert_eq!((parsed, payload), (header, &b"payload"[..]));
            assert_eq!(parse_datagram(&datagram[..header_len]).unwrap().1, b"");
            assert_eq!(
                parse_datagram(&datagram[..header_len - 1]),
                Err(WireError::TruncatedDatagram)
            );
        }
    }
}

#[test]
fn host_names_the_wire_cannot_carry_are_refused_when_built() {
    assert_eq!(TargetAddr::domain("", 1), Err(WireError::EmptyDomain));
    assert_eq!(
        TargetAddr::domain(&"a".repeat(256), 1),
        Err(WireError::FieldTooLong)
    );
    assert_eq!(TargetAddr::domain("a\0b", 1), Err(WireError::DomainNotText));
}
