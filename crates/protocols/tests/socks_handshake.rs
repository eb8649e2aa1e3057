//! The sans-IO SOCKS state machines: the server's `ServerHandshake` and
//! the client's `ClientHandshake`, fed byte by byte and at every chunk
//! size, and driven into every failure.

use std::net::SocketAddr;

use gyre_protocols::socks::wire::v5::PasswordAuth;
use gyre_protocols::socks::wire::{Command, ReplyCode, TargetAddr, WireError};
use gyre_protocols::socks::{
    ClientEvent, ClientHandshake, HandshakeError, HandshakeOptions, ServerEvent, ServerHandshake,
    SocksClientError, SocksRequest, Version,
};
use gyre_testing::assert_chunking_invariant;

const OPEN: HandshakeOptions = HandshakeOptions {
    require_password: false,
    allow_socks4: true,
};
const PASSWORD: HandshakeOptions = HandshakeOptions {
    require_password: true,
    allow_socks4: false,
};

fn bound() -> SocketAddr {
    "198.51.100.7:40000".parse().unwrap()
}

/// What a server machine did with one input, answering every password
/// with `password_ok` and granting every request.
#[derive(Debug, PartialEq)]
struct Transcript {
    sent: Vec<u8>,
    requests: Vec<SocksRequest>,
    passwords: Vec<PasswordAuth>,
    payload: Vec<u8>,
    error: Option<HandshakeError>,
}

fn serve(
    options: HandshakeOptions,
    password_ok: bool,
    chunks: &mut dyn Iterator<Item = &[u8]>,
) -> Transcript {
    let mut machine = ServerHandshake::new(options);
    let mut t = Transcript {
        sent: Vec::new(),
        requests: Vec::new(),
        passwords: Vec::new(),
        payload: Vec::new(),
        error: None,
    };
    for chunk in chunks {
        machine.handle_input(chunk);
        loop {
            if let Some(bytes) = machine.poll_transmit() {
                t.sent.extend(bytes);
            }
            match machine.poll_event() {
                Some(ServerEvent::CheckPassword(auth)) => {
                    t.passwords.push(auth);
                    machine.password_checked(password_ok);
                }
                Some(ServerEvent::Request(request)) => {
                    t.requests.push(request);
                    assert!(machine.grant(bound()));
                }
                Some(ServerEvent::Payload(bytes)) => t.payload.extend(bytes),
                None => break,
            }
        }
    }
    t.error = machine.error().cloned();
    t
}

fn check(options: HandshakeOptions, password_ok: bool, input: &[u8]) -> Transcript {
    assert_chunking_invariant(input, |chunks| serve(options, password_ok, chunks))
}

const SUCCESS_V5: [u8; 10] = [5, 0, 0, 1, 198, 51, 100, 7, 0x9c, 0x40];

#[test]
fn socks5_without_authentication_with_optimistic_data() {
    let input = b"\x05\x02\x00\x02\x05\x01\x00\x03\x0bexample.com\x00\x50GET / HTTP/1.0\r\n\r\n";
    let t = check(OPEN, true, input);
    let mut expected = vec![5, 0];
    expected.extend(SUCCESS_V5);
    assert_eq!(t.sent, expected);
    assert_eq!(t.requests.len(), 1);
    assert_eq!(
        t.requests[0].target,
        TargetAddr::domain("example.com", 80).unwrap()
    );
    assert_eq!(
        (t.requests[0].version, t.requests[0].command),
        (Version::V5, Command::Connect)
    );
    assert_eq!(t.payload, b"GET / HTTP/1.0\r\n\r\n");
    assert_eq!(t.error, None);
}

#[test]
fn socks5_with_username_and_password() {
    let input = b"\x05\x01\x02\x01\x05alice\x06secret\x05\x01\x00\x04\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01\x01\xbb";
    let t = check(PASSWORD, true, input);
    assert_eq!(&t.sent[..4], [5, 2, 1, 0], "method 2 chosen, then auth success");
    assert_eq!(&t.sent[4..], SUCCESS_V5);
    assert_eq!(t.passwords[0].username, b"alice");
    assert_eq!(t.passwords[0].password, b"secret");
    assert_eq!(
        t.requests[0].target,
        TargetAddr::Ip("[2001:db8::1]:443".parse().unwrap())
    );

    let refused = check(PASSWORD, false, input);
    assert_eq!(refused.sent, [5, 2, 1, 1]);
    assert!(
        refused.requests.is_empty(),
        "nothing after a refused password is parsed"
    );
    assert_eq!(refused.error, Some(HandshakeError::AuthenticationFailed));
}

#[test]
fn socks4_and_socks4a_connect_and_bind() {
    let t = check(OPEN, true, b"\x04\x01\x00\x50\x0a\x00\x00\x01bob\x00hello");
    assert_eq!(t.sent, [0, 90, 0x9c, 0x40, 198, 51, 100, 7]);
    assert_eq!(t.requests[0].user_id, b"bob");
    assert_eq!(t.payload, b"hello");
    let t = check(OPEN, true, b"\x04\x02\x00\x15\x00\x00\x00\x01\x00ftp.example\x00");
    assert_eq!(
        t.requests[0].target,
        TargetAddr::domain("ftp.example", 21).unwrap()
    );
    assert_eq!(t.requests[0].command, Command::Bind);

    // The two BIND replies, then relaying.
    let mut machine = ServerHandshake::new(OPEN);
    machine.handle_input(b"\x04\x02\x00\x15\xc0\x00\x02\x01\x00");
    assert!(matches!(machine.poll_event(), Some(ServerEvent::Request(_))));
    assert!(
        machine.grant("[::ffff:127.0.0.1]:5000".parse().unwrap()),
        "dual-stack: written as IPv4"
    );
    assert!(!machine.is_relaying());
    assert!(machine.bind_connected("192.0.2.1:20".parse().unwrap()));
    assert!(machine.is_relaying());
    assert_eq!(
        machine.poll_transmit().unwrap(),
        [0, 90, 0x13, 0x88, 127, 0, 0, 1, 0, 90, 0, 20, 192, 0, 2, 1]
    );
}

#[test]
fn refusals_get_the_precise_reply() {
    let cases: [(&[u8], HandshakeOptions, &[u8], HandshakeError); 8] = [
        (
            b"\x05\x01\x00\x05\x09\x00\x01\x7f\x00\x00\x01\x00\x50",
            OPEN,
            b"\x05\x00\x05\x07\x00\x01\0\0\0\0\0\0",
            HandshakeError::CommandNotSupported(9),
        ),
        (
            b"\x05\x01\x00\x05\x01\x00\x07\x00",
            OPEN,
            b"\x05\x00\x05\x08\x00\x01\0\0\0\0\0\0",
            HandshakeError::Malformed(WireError::AddressType(7)),
        ),
        (
            b"\x05\x01\x00\x05\x01\x00\x03\x00\x00\x50",
            OPEN,
            b"\x05\x00\x05\x01\x00\x01\0\0\0\0\0\0",
            HandshakeError::Malformed(WireError::EmptyDomain),
        ),
        (
            b"\x05\x01\x00",
            PASSWORD,
            b"\x05\xff",
            HandshakeError::NoAcceptableMethod,
        ),
        (b"\x05\x00", OPEN, b"\x05\xff", HandshakeError::NoAcceptableMethod),
        (
            b"\x04\x01\x00\x50\x01\x02\x03\x04\x00",
            PASSWORD,
            b"\x00\x5b\0\0\0\0\0\0",
            HandshakeError::Socks4Refused,
        ),
        (
            b"\x04\x03\x00\x50\x01\x02\x03\x04\x00",
            OPEN,
            b"\x00\x5b\0\0\0\0\0\0",
            HandshakeError::CommandNotSupported(3),
        ),
        (
            b"\x47ET / HTTP/1.1\r\n",
            OPEN,
            b"",
            HandshakeError::Malformed(WireError::UnknownVersion(b'G')),
        ),
    ];
    for (input, options, reply, error) in cases {
        let t = check(options, true, input);
        assert_eq!(t.sent, reply, "{input:?}");
        assert_eq!(t.error, Some(error), "{input:?}");
        assert!(t.requests.is_empty());
    }
    let mut long_user = b"\x04\x01\x00\x50\x01\x02\x03\x04".to_vec();
    long_user.extend([b'u'; 400]);
    let t = check(OPEN, true, &long_user);
    assert_eq!(t.sent, b"\x00\x5b\0\0\0\0\0\0");
    assert_eq!(t.error, Some(HandshakeError::Malformed(WireError::FieldTooLong)));
}

#[test]
fn a_rejected_request_is_answered_in_its_version_and_the_failure_is_sticky() {
    for (input, reply) in [
        (
            &b"\x05\x01\x00\x05\x01\x00\x01\x7f\x00\x00\x01\x00\x50"[..],
            &b"\x05\x00\x05\x05\x00\x01\0\0\0\0\0\0"[..],
        ),
        (b"\x04\x01\x00\x50\x7f\x00\x00\x01\x00", b"\x00\x5b\0\0\0\0\0\0"),
    ] {
        let mut machine = ServerHandshake::new(OPEN);
        machine.handle_input(input);
        assert!(matches!(machine.poll_event(), Some(ServerEvent::Request(_))));
        assert!(!machine.bind_connected(bound()), "not a BIND");
        assert!(machine.reject(ReplyCode::ConnectionRefused));
        assert_eq!(machine.poll_transmit().unwrap(), reply);
        assert_eq!(
            machine.error(),
            Some(&HandshakeError::Rejected(ReplyCode::ConnectionRefused))
        );
        machine.handle_input(b"\x05\x01\x00");
        assert!(!machine.grant(bound()) && !machine.reject(ReplyCode::GeneralFailure));
        assert_eq!((machine.poll_transmit(), machine.poll_event()), (None, None));
    }
}

#[test]
fn udp_associate_ignores_the_control_stream_and_the_password_wait_is_bounded() {
    let mut machine = ServerHandshake::new(OPEN);
    machine.handle_input(b"\x05\x01\x00\x05\x03\x00\x01\x00\x00\x00\x00\x00\x00");
    let Some(ServerEvent::Request(request)) = machine.poll_event() else {
        panic!()
    };
    assert_eq!(request.command, Command::UdpAssociate);
    assert!(machine.grant(bound()));
    machine.handle_input(b"ignored");
    assert_eq!(machine.poll_event(), None);
    assert!(!machine.awaits_request());

    let mut machine = ServerHandshake::new(PASSWORD);
    machine.handle_input(b"\x05\x01\x02\x01\x01u\x01p");
    assert!(matches!(
        machine.poll_event(),
        Some(ServerEvent::CheckPassword(_))
    ));
    assert!(machine.awaits_request(), "the handshake timeout still runs");
    machine.handle_input(&vec![0; 64 * 1024]);
    assert_eq!(machine.error(), None, "held while the password is checked");
    machine.handle_input(&[0]);
    assert_eq!(machine.error(), Some(&HandshakeError::MessageTooLong));
}

/// What a client machine made of a proxy's answers: what it sent, its
/// outcome, and the application's bytes (the reply's leftover, then what
/// came after, which an adapter hands on directly).
fn client_run(
    credentials: Option<PasswordAuth>,
    chunks: &mut dyn Iterator<Item = &[u8]>,
) -> (Vec<u8>, Option<ClientEvent>, Vec<u8>) {
    let target = TargetAddr::domain("example.com", 80).unwrap();
    let mut client = ClientHandshake::new(target, credentials).unwrap();
    let mut sent = client.poll_transmit().unwrap();
    let mut event = None;
    let mut data = Vec::new();
    for chunk in chunks {
        if matches!(event, Some(ClientEvent::Established { .. })) {
            data.extend_from_slice(chunk);
            continue;
        }
        client.handle_input(chunk);
        if let Some(bytes) = client.poll_transmit() {
            sent.extend(bytes);
        }
        match client.poll_event() {
            Some(ClientEvent::Established { bound, leftover }) => {
                data.extend(leftover);
                event = Some(ClientEvent::Established {
                    bound,
                    leftover: Vec::new(),
                });
            }
            Some(failed) => event = Some(failed),
            None => {}
        }
    }
    (sent, event, data)
}

fn alice() -> Option<PasswordAuth> {
    Some(PasswordAuth {
        username: b"alice".to_vec(),
        password: b"pw".to_vec(),
    })
}

#[test]
fn the_client_negotiates_the_same_at_every_chunk_size() {
    let answers = b"\x05\x02\x01\x00\x05\x00\x00\x01\x0a\x00\x00\x02\x04\xd2first bytes";
    let (sent, event, data) = assert_chunking_invariant(answers, |chunks| client_run(alice(), chunks));
    let mut expected = b"\x05\x02\x00\x02\x01\x05alice\x02pw".to_vec();
    expected.extend(b"\x05\x01\x00\x03\x0bexample.com\x00\x50");
    assert_eq!(sent, expected);
    assert_eq!(
        event,
        Some(ClientEvent::Established {
            bound: TargetAddr::Ip("10.0.0.2:1234".parse().unwrap()),
            leftover: Vec::new(),
        })
    );
    assert_eq!(data, b"first bytes");
}

#[test]
fn client_failures_are_typed() {
    let cases: [(Option<PasswordAuth>, &[u8], SocksClientError); 7] = [
        (None, b"\x05\xff", SocksClientError::NoAcceptableMethod),
        (None, b"\x05\x02", SocksClientError::PasswordRequired),
        (
            alice(),
            b"\x05\x02\x01\x01",
            SocksClientError::AuthenticationFailed,
        ),
        (None, b"\x05\x01", SocksClientError::UnexpectedMethod(1)),
        (
            None,
            b"\x05\x00\x05\x05\x00\x01\0\0\0\0\0\0",
            SocksClientError::Rejected(ReplyCode::ConnectionRefused),
        ),
        (
            None,
            b"\x05\x00\x05\x02\x00\x01\0\0\0\0\0\0",
            SocksClientError::Rejected(ReplyCode::NotAllowed),
        ),
        (
            None,
            b"\x04\x00",
            SocksClientError::Malformed(WireError::Version {
                expected: 5,
                found: 4,
            }),
        ),
    ];
    for (credentials, answers, error) in cases {
        let (_, event, _) =
            assert_chunking_invariant(answers, |chunks| client_run(credentials.clone(), chunks));
        assert_eq!(event, Some(ClientEvent::Failed(error.clone())), "{answers:?}");
    }
    assert_eq!(
        SocksClientError::Rejected(ReplyCode::TtlExpired).reply_code(),
        Some(ReplyCode::TtlExpired)
    );

    let target = TargetAddr::Ip("127.0.0.1:1".parse().unwrap());
    let mut client = ClientHandshake::new(target.clone(), None).unwrap();
    client.handle_input(b"\x05");
    client.connection_closed();
    assert_eq!(
        client.poll_event(),
        Some(ClientEvent::Failed(SocksClientError::ProxyClosed))
    );
    let too_long = PasswordAuth {
        username: vec![b'u'; 256],
        password: Vec::new(),
    };
    assert_eq!(
        ClientHandshake::new(target, Some(too_long)).unwrap_err(),
        WireError::FieldTooLong
    );
}
