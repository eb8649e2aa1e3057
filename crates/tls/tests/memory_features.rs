//! SNI, ALPN, client certificates, STARTTLS and flow control through the
//! TLS wrapper, in memory.

mod support;

use std::cell::RefCell;
use std::rc::Rc;

use gyre_core::capability::{NegotiatedAlpn, PeerCertificates, ServerName};
use gyre_core::errors::{ConnectionDone, NotSupportedByTransport};
use gyre_core::producer::{Producer, PushProducer, WaterMarks};
use gyre_core::{Protocol, Transport};
use gyre_testing::connect_pair;
use gyre_tls::{
    AlreadyTls, TlsClientConfig, TlsHandshakeFailed, TlsProtocol, TlsProtocolError, TlsServerConfig,
    start_tls_client, start_tls_server,
};
use support::{Ca, Recorder, key_of, lost, trusting};

fn tls_pair_seen(
    server_config: &TlsServerConfig,
    client_config: &TlsClientConfig,
    name: &str,
) -> (support::SeenRef, support::SeenRef) {
    let (server, server_seen) = Recorder::echo();
    let (client, client_seen) = Recorder::new(b"hello");
    let mut pair = connect_pair(
        TlsProtocol::server(server_config, server),
        TlsProtocol::client(client_config, name, client).unwrap(),
    );
    pair.pump();
    (server_seen, client_seen)
}

#[test]
fn sni_picks_the_certificate_for_the_name_asked_and_the_default_otherwise() {
    let ca = Ca::new("sni CA");
    let alpha = ca.server(&["alpha.test"]);
    let beta = ca.server(&["beta.test"]);
    let wild = ca.server(&["*.wild.test"]);
    let fallback = ca.server(&["default.test"]);
    let config = TlsServerConfig::builder()
        .certificate(fallback.chain.clone(), key_of(&fallback))
        .sni_certificate("alpha.test", alpha.chain.clone(), key_of(&alpha))
        .sni_certificate("beta.test", beta.chain.clone(), key_of(&beta))
        .sni_certificate("*.wild.test", wild.chain.clone(), key_of(&wild))
        .build()
        .unwrap();
    for (name, expected) in [
        ("alpha.test", &alpha),
        ("BETA.test", &beta),
        ("x.wild.test", &wild),
        ("default.test", &fallback),
    ] {
        let (server_seen, client_seen) = tls_pair_seen(&config, &trusting(&ca), name);
        assert_eq!(client_seen.borrow().data, b"hello", "{name}");
        let client = client_seen.borrow().transport.clone().unwrap();
        assert_eq!(
            client.capability::<PeerCertificates>().unwrap()[0],
            expected.leaf(),
            "{name}"
        );
        let server = server_seen.borrow().transport.clone().unwrap();
        assert_eq!(
            server.capability::<ServerName>().unwrap(),
            Some(name.to_ascii_lowercase())
        );
    }
    // An unknown name gets the default certificate (which then fails verification).
    let insecure = TlsClientConfig::builder()
        .dangerous()
        .skip_verification()
        .build()
        .unwrap();
    let (_, client_seen) = tls_pair_seen(&config, &insecure, "unknown.test");
    let client = client_seen.borrow().transport.clone().unwrap();
    assert_eq!(
        client.capability::<PeerCertificates>().unwrap()[0],
        fallback.leaf()
    );
}

#[test]
fn alpn_is_negotiated_and_a_mismatch_fails_the_handshake() {
    let ca = Ca::new("alpn CA");
    let issued = ca.server(&["localhost"]);
    let server_config = TlsServerConfig::builder()
        .certificate(issued.chain.clone(), key_of(&issued))
        .alpn(["h2", "http/1.1"])
        .build()
        .unwrap();
    let client = |alpn: &[&str]| {
        TlsClientConfig::builder()
            .ca_certificates(vec![ca.der()])
            .alpn(alpn)
            .build()
            .unwrap()
    };
    let (server_seen, client_seen) = tls_pair_seen(&server_config, &client(&["http/1.1", "h2"]), "localhost");
    for seen in [&server_seen, &client_seen] {
        let transport = seen.borrow().transport.clone().unwrap();
        assert_eq!(
            transport.capability::<NegotiatedAlpn>().unwrap(),
            Some(b"h2".to_vec())
        );
    }
    let (_, client_seen) = tls_pair_seen(&server_config, &client(&[]), "localhost");
    let transport = client_seen.borrow().transport.clone().unwrap();
    assert_eq!(transport.capability::<NegotiatedAlpn>().unwrap(), None);

    let (server_seen, client_seen) = tls_pair_seen(&server_config, &client(&["imap"]), "localhost");
    assert!(
        lost(&server_seen).is::<TlsHandshakeFailed>(),
        "{}",
        lost(&server_seen)
    );
    assert!(
        lost(&client_seen).is::<TlsHandshakeFailed>(),
        "{}",
        lost(&client_seen)
    );
}

fn client_auth_config(ca: &Ca, client_ca: &Ca, required: bool) -> TlsServerConfig {
    let issued = ca.server(&["localhost"]);
    let builder = TlsServerConfig::builder().certificate(issued.chain.clone(), key_of(&issued));
    let builder = if required {
        builder.require_client_certificates(vec![client_ca.der()])
    } else {
        builder.optional_client_certificates(vec![client_ca.der()])
    };
    builder.unwrap().build().unwrap()
}

#[test]
fn required_client_certificate_presented_is_readable_by_the_server_protocol() {
    let ca = Ca::new("server CA");
    let client_ca = Ca::new("client CA");
    let alice = client_ca.client("alice");
    let config = TlsClientConfig::builder()
        .ca_certificates(vec![ca.der()])
        .client_certificate(alice.chain.clone(), key_of(&alice))
        .build()
        .unwrap();
    let (server_seen, client_seen) =
        tls_pair_seen(&client_auth_config(&ca, &client_ca, true), &config, "localhost");
    assert_eq!(client_seen.borrow().data, b"hello");
    let server = server_seen.borrow().transport.clone().unwrap();
    let chain = server.capability::<PeerCertificates>().unwrap();
    assert_eq!(chain[0], alice.leaf());
}

#[test]
fn required_client_certificate_missing_or_untrusted_fails() {
    let ca = Ca::new("server CA");
    let client_ca = Ca::new("client CA");
    let mallory = Ca::new("mallory CA").client("mallory");
    let without = trusting(&ca);
    let untrusted = TlsClientConfig::builder()
        .ca_certificates(vec![ca.der()])
        .client_certificate(mallory.chain.clone(), key_of(&mallory))
        .build()
        .unwrap();
    for client in [without, untrusted] {
        let (server_seen, client_seen) =
            tls_pair_seen(&client_auth_config(&ca, &client_ca, true), &client, "localhost");
        assert!(server_seen.borrow().data.is_empty());
        assert!(
            lost(&server_seen).is::<TlsHandshakeFailed>(),
            "{}",
            lost(&server_seen)
        );
        // In TLS 1.3 the client considers its handshake done before the
        // server judges its certificate, so it may hear a session failure.
        let reason = lost(&client_seen);
        assert!(
            reason.is::<TlsHandshakeFailed>() || reason.is::<TlsProtocolError>(),
            "{reason}"
        );
        assert!(client_seen.borrow().data.is_empty());
    }
}

#[test]
fn optional_client_certificate_may_be_missing() {
    let ca = Ca::new("server CA");
    let client_ca = Ca::new("client CA");
    let (server_seen, client_seen) = tls_pair_seen(
        &client_auth_config(&ca, &client_ca, false),
        &trusting(&ca),
        "localhost",
    );
    assert_eq!(client_seen.borrow().data, b"hello");
    let server = server_seen.borrow().transport.clone().unwrap();
    assert!(server.capability::<PeerCertificates>().unwrap().is_empty());
}

/// Both sides of a STARTTLS exchange: plain text, the switch, then TLS.
struct StartTlsSide {
    server: Option<TlsServerConfig>,
    client: Option<TlsClientConfig>,
    log: Rc<RefCell<Vec<Vec<u8>>>>,
    kinds: Rc<RefCell<Vec<&'static str>>>,
}

impl Protocol for StartTlsSide {
    fn connection_made(&mut self, transport: &Transport) {
        if self.client.is_some() {
            transport.write(b"EHLO plain\r\n");
            transport.write(b"STARTTLS\r\n");
        }
    }

    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        self.log.borrow_mut().push(data.to_vec());
        self.kinds.borrow_mut().push(transport.kind());
        if let Some(config) = &self.server {
            if data.ends_with(b"STARTTLS\r\n") {
                transport.write(b"220 go ahead\r\n");
                start_tls_server(transport, config).unwrap();
                let again = start_tls_server(transport, config).unwrap_err();
                assert!(again.is::<AlreadyTls>());
            } else {
                transport.write(data);
            }
        } else if let Some(config) = &self.client {
            if data == b"220 go ahead\r\n" {
                start_tls_client(transport, config, "localhost").unwrap();
                transport.write(b"secret\r\n");
            } else if data == b"secret\r\n" {
                transport.lose_connection();
            }
        }
    }
}

#[test]
fn start_tls_switches_after_the_plain_text_written_before_it() {
    let ca = Ca::new("starttls CA");
    let (server_config, _) = support::localhost_server(&ca);
    let server_log = Rc::default();
    let client_log = Rc::default();
    let server_kinds = Rc::default();
    let client_kinds = Rc::default();
    let mut pair = connect_pair(
        TlsProtocol::plaintext(StartTlsSide {
            server: Some(server_config),
            client: None,
            log: Rc::clone(&server_log),
            kinds: Rc::clone(&server_kinds),
        }),
        TlsProtocol::plaintext(StartTlsSide {
            server: None,
            client: Some(trusting(&ca)),
            log: Rc::clone(&client_log),
            kinds: Rc::clone(&client_kinds),
        }),
    );
    pair.pump();
    assert_eq!(
        server_log.borrow().concat(),
        b"EHLO plain\r\nSTARTTLS\r\nsecret\r\n"
    );
    assert_eq!(
        *client_log.borrow(),
        vec![b"220 go ahead\r\n".to_vec(), b"secret\r\n".to_vec()]
    );
    assert_eq!(*client_kinds.borrow(), ["starttls", "tls"]);
    assert_eq!(server_kinds.borrow().last(), Some(&"tls"));
    assert!(!pair.is_connected());
    let client = pair.client().transport().unwrap().clone();
    assert!(client.capability::<PeerCertificates>().unwrap().len() == 2);
    // A transport that was not built for STARTTLS says so.
    let plain = gyre_testing::StringTransport::new().handle();
    let refused = start_tls_client(&plain, &trusting(&ca), "localhost").unwrap_err();
    assert!(refused.is::<NotSupportedByTransport>());
}

#[derive(Default)]
struct Pausable {
    events: RefCell<Vec<&'static str>>,
}

impl PushProducer for Pausable {
    fn pause_producing(&self) {
        self.events.borrow_mut().push("pause");
    }
    fn resume_producing(&self) {
        self.events.borrow_mut().push("resume");
    }
    fn stop_producing(&self) {
        self.events.borrow_mut().push("stop");
    }
}

#[test]
fn producer_on_the_tls_transport_follows_the_buffer_below() {
    let ca = Ca::new("flow CA");
    let (server_config, _) = support::localhost_server(&ca);
    let (server, server_seen) = Recorder::new(b"");
    let (client, client_seen) = Recorder::new(b"hi");
    let mut pair = connect_pair(
        TlsProtocol::server(&server_config, server),
        TlsProtocol::client(&trusting(&ca), "localhost", client).unwrap(),
    );
    pair.pump();
    let server = server_seen.borrow().transport.clone().unwrap();
    let producer = Rc::new(Pausable::default());
    server.set_water_marks(WaterMarks::new(4096, 1024));
    server
        .register_producer(Producer::Push(producer.clone()))
        .unwrap();
    pair.client_end().handle().pause_reading();
    server.write(&[7u8; 10_000]);
    assert!(server.buffered_len() > 10_000, "the encrypted bytes wait below");
    assert_eq!(*producer.events.borrow(), ["pause"]);
    pair.client_end().handle().resume_reading();
    pair.pump();
    assert_eq!(*producer.events.borrow(), ["pause", "resume"]);
    assert_eq!(client_seen.borrow().data.len(), 10_000);
    server.lose_connection();
    pair.pump();
    assert!(lost(&server_seen).is::<ConnectionDone>());
    assert_eq!(*producer.events.borrow(), ["pause", "resume", "stop"]);
}

/// A pull producer that writes one chunk each time it is asked, three in
/// all, then unregisters.
struct Chunks {
    transport: Transport,
    asked: RefCell<usize>,
}

impl gyre_core::producer::PullProducer for Chunks {
    fn resume_producing(&self) {
        *self.asked.borrow_mut() += 1;
        self.transport.write(b"chunk");
        if *self.asked.borrow() == 3 {
            self.transport.unregister_producer();
        }
    }
    fn stop_producing(&self) {}
}

#[test]
fn producers_registered_during_the_handshake_wait_for_it() {
    let ca = Ca::new("handshake flow CA");
    let (server_config, _) = support::localhost_server(&ca);
    let (server, server_seen) = Recorder::new(b"");
    let (client, client_seen) = Recorder::new(b"early");
    let mut pair = connect_pair(
        TlsProtocol::server(&server_config, server),
        TlsProtocol::client(&trusting(&ca), "localhost", client).unwrap(),
    );
    // connection_made ran, the handshake has not: what the client wrote
    // waits inside TLS and counts as buffered.
    let client = client_seen.borrow().transport.clone().unwrap();
    assert!(client.buffered_len() >= b"early".len());
    let push = Rc::new(Pausable::default());
    client.register_producer(Producer::Push(push.clone())).unwrap();
    assert_eq!(*push.events.borrow(), ["pause"], "paused until records can flow");
    let second = client.register_producer(Producer::Push(Rc::new(Pausable::default())));
    assert!(
        second
            .unwrap_err()
            .is::<gyre_core::errors::ProducerAlreadyRegistered>()
    );
    pair.pump();
    assert_eq!(*push.events.borrow(), ["pause", "resume"]);
    client.unregister_producer();

    // A pull producer is asked for nothing before the handshake.
    let (server, pulled_seen) = Recorder::new(b"");
    let (client_protocol, pull_seen) = Recorder::new(b"");
    let mut pair = connect_pair(
        TlsProtocol::server(&server_config, server),
        TlsProtocol::client(&trusting(&ca), "localhost", client_protocol).unwrap(),
    );
    let client = pull_seen.borrow().transport.clone().unwrap();
    let pull = Rc::new(Chunks {
        transport: client.clone(),
        asked: RefCell::new(0),
    });
    client.register_producer(Producer::Pull(pull.clone())).unwrap();
    assert_eq!(*pull.asked.borrow(), 0);
    pair.pump();
    assert_eq!(*pull.asked.borrow(), 3, "asked once the handshake completed");
    assert_eq!(pulled_seen.borrow().data, b"chunkchunkchunk");
    assert_eq!(server_seen.borrow().data, b"early");
}

#[test]
fn a_producer_held_for_the_handshake_is_stopped_when_the_connection_ends_first() {
    let ca = Ca::new("handshake stop CA");
    let (server_config, _) = support::localhost_server(&ca);
    let (server, _) = Recorder::new(b"");
    let (client, client_seen) = Recorder::new(b"");
    let mut pair = connect_pair(
        TlsProtocol::server(&server_config, server),
        TlsProtocol::client(&trusting(&ca), "localhost", client).unwrap(),
    );
    let client = client_seen.borrow().transport.clone().unwrap();
    let push = Rc::new(Pausable::default());
    client.register_producer(Producer::Push(push.clone())).unwrap();
    client.abort_connection();
    pair.pump();
    assert_eq!(*push.events.borrow(), ["pause", "stop"]);
}
