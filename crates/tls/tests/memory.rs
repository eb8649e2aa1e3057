//! TLS between two in-memory protocols (connect_pair + Pump): handshake,
//! data both ways, verification, close_notify vs truncation, abort.

mod support;

use gyre_core::capability::{PeerCertificates, ServerName};
use gyre_core::errors::{ConnectionAborted, ConnectionDone, ConnectionLost};
use gyre_testing::connect_pair;
use gyre_tls::{ProtocolVersion, TlsClientConfig, TlsHandshakeFailed, TlsProtocol, TlsSession, TlsTruncated};
use support::{Ca, Recorder, localhost_server, lost, trusting};

#[test]
fn handshake_then_data_both_ways_then_clean_close() {
    let ca = Ca::new("memory CA");
    let (server_config, issued) = localhost_server(&ca);
    let (server, server_seen) = Recorder::echo();
    let (mut client, client_seen) = Recorder::new(b"ping over tls");
    client.close_after = Some(13);
    let mut pair = connect_pair(
        TlsProtocol::server(&server_config, server),
        TlsProtocol::client(&trusting(&ca), "localhost", client).unwrap(),
    );
    assert!(
        client_seen.borrow().made,
        "connection_made comes before the handshake"
    );
    pair.pump();
    assert_eq!(server_seen.borrow().data, b"ping over tls");
    assert_eq!(client_seen.borrow().data, b"ping over tls");
    assert!(
        lost(&client_seen).is::<ConnectionDone>(),
        "{}",
        lost(&client_seen)
    );
    assert!(
        lost(&server_seen).is::<ConnectionDone>(),
        "{}",
        lost(&server_seen)
    );
    assert!(
        server_seen.borrow().read_closed,
        "close_notify arrives as read_connection_lost"
    );

    let client_transport = client_seen.borrow().transport.clone().unwrap();
    assert_eq!(client_transport.kind(), "tls");
    assert_eq!(
        client_transport.capability::<PeerCertificates>().unwrap(),
        vec![issued.chain[0].to_vec(), issued.chain[1].to_vec()]
    );
    let info = client_transport.capability::<TlsSession>().unwrap();
    assert_eq!(info.protocol_version, Some(ProtocolVersion::TLSv1_3));
    assert!(info.handshake_complete && info.cipher_suite.is_some());
    let server_transport = server_seen.borrow().transport.clone().unwrap();
    assert_eq!(
        server_transport.capability::<ServerName>().unwrap(),
        Some("localhost".into())
    );
    assert!(
        server_transport
            .capability::<PeerCertificates>()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn server_greeting_written_before_the_handshake_arrives_after_it() {
    let ca = Ca::new("greeting CA");
    let (server_config, _) = localhost_server(&ca);
    let (mut server, _server_seen) = Recorder::new(b"220 hello\r\n");
    server.close_after = Some(1);
    let (client, client_seen) = Recorder::echo();
    let mut pair = connect_pair(
        TlsProtocol::server(&server_config, server),
        TlsProtocol::client(&trusting(&ca), "127.0.0.1", client).unwrap(),
    );
    pair.pump();
    assert_eq!(client_seen.borrow().data, b"220 hello\r\n");
    assert!(lost(&client_seen).is::<ConnectionDone>());
    assert_eq!(
        client_seen
            .borrow()
            .transport
            .as_ref()
            .unwrap()
            .capability::<ServerName>()
            .unwrap(),
        None,
        "no SNI is sent for an IP address"
    );
}

#[test]
fn lose_connection_during_the_handshake_still_delivers_what_was_written() {
    let ca = Ca::new("early close CA");
    let (server_config, _) = localhost_server(&ca);
    let (server, server_seen) = Recorder::new(b"");
    struct WriteAndClose;
    impl gyre_core::Protocol for WriteAndClose {
        fn connection_made(&mut self, transport: &gyre_core::Transport) {
            transport.write(b"last words");
            transport.lose_connection();
            transport.write(b" still before close_notify");
        }
        fn data_received(&mut self, _: &gyre_core::Transport, _: &[u8]) {}
    }
    let mut pair = connect_pair(
        TlsProtocol::server(&server_config, server),
        TlsProtocol::client(&trusting(&ca), "localhost", WriteAndClose).unwrap(),
    );
    pair.pump();
    assert_eq!(server_seen.borrow().data, b"last words still before close_notify");
    assert!(lost(&server_seen).is::<ConnectionDone>());
}

#[test]
fn end_of_stream_without_close_notify_is_truncation() {
    let ca = Ca::new("truncation CA");
    let (server_config, _) = localhost_server(&ca);
    let (server, server_seen) = Recorder::echo();
    let (client, client_seen) = Recorder::new(b"partial");
    let mut pair = connect_pair(
        TlsProtocol::server(&server_config, server),
        TlsProtocol::client(&trusting(&ca), "localhost", client).unwrap(),
    );
    pair.pump();
    assert_eq!(client_seen.borrow().data, b"partial");
    // Cut the connection below TLS: no close_notify.
    pair.client_transport().lose_connection();
    pair.pump();
    let reason = lost(&server_seen);
    assert!(reason.is::<TlsTruncated>(), "{reason}");
    assert!(reason.is::<ConnectionLost>() && !reason.is::<ConnectionDone>());
    assert!(lost(&client_seen).is::<TlsTruncated>());
}

#[test]
fn end_of_stream_during_the_handshake_is_a_lost_connection() {
    let ca = Ca::new("cut CA");
    let (server_config, _) = localhost_server(&ca);
    let (server, server_seen) = Recorder::echo();
    let (client, client_seen) = Recorder::new(b"never sent");
    let mut pair = connect_pair(
        TlsProtocol::server(&server_config, server),
        TlsProtocol::client(&trusting(&ca), "localhost", client).unwrap(),
    );
    pair.client_transport().lose_connection();
    pair.pump();
    assert!(server_seen.borrow().data.is_empty());
    let reason = lost(&server_seen);
    assert!(
        reason.is::<ConnectionLost>() && !reason.is::<TlsTruncated>(),
        "{reason}"
    );
    assert!(lost(&client_seen).is::<ConnectionLost>());
}

#[test]
fn abort_drops_the_session_at_once() {
    let ca = Ca::new("abort CA");
    let (server_config, _) = localhost_server(&ca);
    let (server, server_seen) = Recorder::echo();
    let (client, client_seen) = Recorder::new(b"hi");
    let mut pair = connect_pair(
        TlsProtocol::server(&server_config, server),
        TlsProtocol::client(&trusting(&ca), "localhost", client).unwrap(),
    );
    pair.pump();
    let transport = client_seen.borrow().transport.clone().unwrap();
    transport.write(b"dropped");
    transport.abort_connection();
    assert!(transport.is_closed());
    pair.pump();
    assert!(lost(&client_seen).is::<ConnectionAborted>());
    assert!(lost(&server_seen).is::<ConnectionLost>());
    assert_eq!(server_seen.borrow().data, b"hi");
}

#[test]
fn untrusted_or_misnamed_servers_fail_the_handshake() {
    let ca = Ca::new("real CA");
    let (server_config, _) = localhost_server(&ca);
    let cases: [(TlsClientConfig, &str, &str); 4] = [
        (trusting(&Ca::new("other CA")), "localhost", "UnknownIssuer"),
        (trusting(&ca), "example.com", "NotValidForName"),
        (trusting(&ca), "127.0.0.2", "NotValidForName"),
        (
            TlsClientConfig::builder().build().unwrap(),
            "localhost",
            "UnknownIssuer",
        ),
    ];
    for (client_config, name, expected) in cases {
        let (server, server_seen) = Recorder::echo();
        let (client, client_seen) = Recorder::new(b"secret");
        let mut pair = connect_pair(
            TlsProtocol::server(&server_config, server),
            TlsProtocol::client(&client_config, name, client).unwrap(),
        );
        pair.pump();
        let reason = lost(&client_seen);
        let failed = reason
            .downcast_ref::<TlsHandshakeFailed>()
            .expect("a handshake failure");
        assert!(
            format!("{:?}", failed.error).contains(expected),
            "{name}: {failed:?}"
        );
        assert!(
            server_seen.borrow().data.is_empty(),
            "nothing was sent to an unverified server"
        );
        assert!(
            lost(&server_seen).is::<TlsHandshakeFailed>(),
            "the server hears the alert"
        );
    }
}

#[test]
fn skipping_verification_is_possible_but_named() {
    let ca = Ca::new("unknown CA");
    let (server_config, _) = localhost_server(&ca);
    let insecure = TlsClientConfig::builder()
        .dangerous()
        .skip_verification()
        .build()
        .unwrap();
    let (server, server_seen) = Recorder::echo();
    let (client, client_seen) = Recorder::new(b"anyway");
    let mut pair = connect_pair(
        TlsProtocol::server(&server_config, server),
        TlsProtocol::client(&insecure, "whatever.invalid", client).unwrap(),
    );
    pair.pump();
    assert_eq!(client_seen.borrow().data, b"anyway");
    assert!(server_seen.borrow().lost.is_none());
}
