//! The opening handshake: a table of upgrade requests with the status each
//! is refused with, the RFC 6455 §1.3 accept key, subprotocol choice, and
//! the client's checks of the server's answer.

use gyre_http::websocket::{
    ClientHandshake, HandshakeError, accept_key, accept_response, choose_protocol, validate_request,
};
use gyre_http::wire::{HeadLimits, parse_request, parse_response};
use gyre_http::{RequestHead, ResponseHead, StatusCode};

const GOOD: &str = "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\n\
Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n";

fn request(text: &str) -> RequestHead {
    parse_request(text.as_bytes(), &HeadLimits::default())
        .unwrap()
        .unwrap()
        .0
}

fn response(text: &str) -> ResponseHead {
    parse_response(text.as_bytes(), &HeadLimits::default())
        .unwrap()
        .unwrap()
        .0
}

#[test]
fn rfc_6455_example_is_accepted() {
    let offer = validate_request(&request(GOOD)).unwrap();
    assert_eq!(offer.protocols, ["chat", "superchat"]);
    assert_eq!(offer.origin.as_deref(), Some("http://example.com"));
    assert_eq!(
        accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
    let chosen = choose_protocol(&offer, &["superchat", "other"]);
    assert_eq!(chosen, Some("superchat"));
    let mut wire = Vec::new();
    accept_response(&offer, chosen, None).write_to(&mut wire);
    assert_eq!(
        String::from_utf8(wire).unwrap(),
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: superchat\r\n\r\n"
    );
    // A protocol the client did not offer is never answered.
    assert!(
        !accept_response(&offer, Some("evil"), None)
            .headers
            .contains("sec-websocket-protocol")
    );
}

#[test]
fn refused_requests_and_their_statuses() {
    let cases: &[(&str, &str, &str, HandshakeError, u16)] = &[
        ("POST", "GET /chat", "POST /chat", HandshakeError::NotGet, 405),
        (
            "HTTP/1.0",
            "HTTP/1.1\r\nHost",
            "HTTP/1.0\r\nHost",
            HandshakeError::BadVersion,
            400,
        ),
        (
            "no Upgrade",
            "Upgrade: websocket\r\n",
            "",
            HandshakeError::NoUpgrade,
            426,
        ),
        (
            "other Upgrade",
            "Upgrade: websocket",
            "Upgrade: h2c",
            HandshakeError::NoUpgrade,
            426,
        ),
        (
            "no Connection",
            "Connection: Upgrade\r\n",
            "",
            HandshakeError::NoConnectionUpgrade,
            400,
        ),
        (
            "Connection close",
            "Connection: Upgrade",
            "Connection: close",
            HandshakeError::NoConnectionUpgrade,
            400,
        ),
        (
            "version 8",
            "Version: 13",
            "Version: 8",
            HandshakeError::UnsupportedVersion,
            426,
        ),
        (
            "no version",
            "Sec-WebSocket-Version: 13\r\n",
            "",
            HandshakeError::UnsupportedVersion,
            426,
        ),
        (
            "two versions",
            "Version: 13",
            "Version: 13\r\nSec-WebSocket-Version: 13",
            HandshakeError::UnsupportedVersion,
            426,
        ),
        (
            "a body",
            "Host: server.example.com",
            "Host: server.example.com\r\nContent-Length: 5",
            HandshakeError::UnexpectedBody,
            400,
        ),
        (
            "a chunked body",
            "Host: server.example.com",
            "Host: server.example.com\r\nTransfer-Encoding: chunked",
            HandshakeError::UnexpectedBody,
            400,
        ),
        (
            "no key",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
            "",
            HandshakeError::BadKey,
            400,
        ),
        (
            "short key",
            "dGhlIHNhbXBsZSBub25jZQ==",
            "dGhlIHNhbXBsZQ==",
            HandshakeError::BadKey,
            400,
        ),
        (
            "key not base64",
            "dGhlIHNhbXBsZSBub25jZQ==",
            "dGhlIHNhbXBsZSBub25jZQ!!",
            HandshakeError::BadKey,
            400,
        ),
        (
            "two keys",
            "Key: dGhlIHNhbXBsZSBub25jZQ==",
            "Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
            HandshakeError::BadKey,
            400,
        ),
    ];
    for (name, from, to, error, status) in cases {
        assert!(GOOD.contains(from), "{name}");
        let head = request(&GOOD.replacen(from, to, 1));
        assert_eq!(validate_request(&head).as_ref(), Err(error), "{name}");
        assert_eq!(error.status(), StatusCode::new(*status).unwrap(), "{name}");
    }
    let refusal = HandshakeError::UnsupportedVersion.response_head();
    assert_eq!(refusal.headers.get("sec-websocket-version"), Some(&b"13"[..]));
    // Header names and tokens are case-insensitive; Connection may list several tokens.
    let relaxed = GOOD
        .replace("Upgrade: websocket", "upgrade: WebSocket")
        .replace("Connection: Upgrade", "connection: keep-alive, upgrade");
    assert!(validate_request(&request(&relaxed)).is_ok());
}

#[test]
fn client_request_and_answer_checks() {
    let handshake = ClientHandshake::with_key("dGhlIHNhbXBsZSBub25jZQ==", &["chat"]);
    let head = handshake.request("server.example.com", "/chat?room=1").unwrap();
    let offer = validate_request(&head).unwrap();
    let mut answer = Vec::new();
    accept_response(&offer, Some("chat"), None).write_to(&mut answer);
    let answer = response(std::str::from_utf8(&answer).unwrap());
    assert_eq!(
        handshake.check_response(&answer),
        Ok((Some("chat".into()), vec![]))
    );

    let ok = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
    assert_eq!(handshake.check_response(&response(ok)), Ok((None, vec![])));
    let cases = [
        (
            ok.replace("101 Switching Protocols", "200 OK"),
            HandshakeError::NotSwitching(StatusCode::OK),
        ),
        (
            ok.replace("Upgrade: websocket\r\n", ""),
            HandshakeError::BadUpgradeAnswer,
        ),
        (
            ok.replace("Connection: Upgrade", "Connection: close"),
            HandshakeError::BadUpgradeAnswer,
        ),
        (ok.replace("s3pP", "s3pQ"), HandshakeError::BadAccept),
        (
            ok.replace("\r\n\r\n", "\r\nSec-WebSocket-Protocol: other\r\n\r\n"),
            HandshakeError::UnexpectedProtocol,
        ),
        (
            ok.replace(
                "\r\n\r\n",
                "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
            ),
            HandshakeError::UnexpectedExtension,
        ),
    ];
    for (text, error) in cases {
        assert_eq!(handshake.check_response(&response(&text)), Err(error));
    }
    // Fresh handshakes get distinct random keys.
    let a = ClientHandshake::new(&[]).request("h", "/").unwrap();
    let b = ClientHandshake::new(&[]).request("h", "/").unwrap();
    assert_ne!(
        a.headers.get("sec-websocket-key"),
        b.headers.get("sec-websocket-key")
    );
    assert!(validate_request(&a).is_ok());
}
