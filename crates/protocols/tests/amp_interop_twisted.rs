//! gyre's AMP against Python Twisted's `twisted.protocols.amp` (from
//! `.venv-peers`), over real sockets on 127.0.0.1 and a Unix socket, both
//! directions: a gyre client calling a Twisted server, a Twisted client
//! calling a gyre server (in this process, and the `amp_calculator`
//! example), and file descriptors passed both ways with `Descriptor`.
//! The peer is `amp_support/twisted_peer.py`; every child is killed by PID.

mod amp_support;

use std::process::Command as Process;
use std::rc::Rc;

use amp_support::interop::*;
use amp_support::*;
use gyre_core::address::UnixAddress;
use gyre_core::errors::{ConnectionDone, ConnectionLost};
use gyre_core::interfaces::{ReactorTcp, ReactorUnix};
use gyre_core::{Failure, SharedFactory};
use gyre_endpoints::{ClientEndpoint, EndpointRegistry};
use gyre_protocols::amp::{
    Amp, AmpFactory, AmpProtocol, Empty, UnhandledCommand, UnknownRemoteError, connect_amp,
};
use gyre_reactor::Reactor;

fn endpoint(reactor: &Reactor, description: &str) -> Rc<dyn ClientEndpoint> {
    EndpointRegistry::default()
        .client_from_string(reactor, description)
        .unwrap()
}

/// Runs `test` with a connected gyre AMP client on the reactor, bounded.
fn with_client<T: 'static>(
    reactor: &Reactor,
    description: &str,
    test: impl AsyncFnOnce(Amp) -> Result<T, Failure> + 'static,
) -> T {
    let connecting = connect_amp(&*endpoint(reactor, description), AmpProtocol::default());
    let run = reactor.spawn(async move { test(connecting.await?).await });
    reactor
        .run_until(run.add_timeout(reactor, LIMIT))
        .unwrap_or_else(|failure| panic!("{failure:#}"))
}

#[test]
fn a_gyre_client_calls_a_twisted_server_with_every_type_and_error() {
    let dir = PeerDir::new("tcp-server");
    let (_server, port) = twisted_server(&dir, &["server", "tcp"]);
    let reactor = Reactor::new().unwrap();
    with_client(
        &reactor,
        &format!("tcp:host=127.0.0.1:port={port}"),
        async |amp: Amp| {
            assert_eq!(amp.call_remote::<Sum>(Pair { a: 13, b: 81 }).await?.total, 94);
            let quotient = amp
                .call_remote::<Divide>(Fraction {
                    numerator: 1,
                    denominator: 8,
                })
                .await?;
            assert_eq!(quotient.result, 0.125);

            let echoed = amp.call_remote::<Echo>(expected()).await?;
            assert!(
                echoed.matches,
                "Twisted decoded every argument to the expected Python value"
            );
            assert_eq!(wire_form(echoed.everything), wire_form(expected()));

            let zero = amp
                .call_remote::<Divide>(Fraction {
                    numerator: 1,
                    denominator: 0,
                })
                .await
                .unwrap_err();
            assert_eq!(
                zero.downcast_ref::<DivideError>(),
                Some(&DivideError::ZeroDivision("division by zero".into()))
            );

            let nope = amp.call_remote::<Nope>(Empty).await.unwrap_err();
            assert_eq!(
                nope.downcast_ref::<UnhandledCommand>()
                    .map(|e| e.description.as_str()),
                Some("Unhandled Command: b'Nope'")
            );

            amp.send::<Log>(Message {
                message: "hello".into(),
            })?;
            amp.send::<Log>(Message {
                message: "w\u{f6}rld".into(),
            })?;
            let heard = amp.call_remote::<Heard>(Empty).await?;
            assert_eq!(heard.messages, ["hello", "w\u{f6}rld"]);

            let failed = amp
                .call_remote::<Fail>(Why { why: "boom".into() })
                .await
                .unwrap_err();
            assert_eq!(
                failed
                    .downcast_ref::<UnknownRemoteError>()
                    .map(|e| e.description.as_str()),
                Some("Unknown Error")
            );
            // Twisted closes the connection after an undeclared failure (our
            // next call may or may not be written before we hear of it).
            let after = amp.call_remote::<Sum>(Pair { a: 1, b: 1 }).await.unwrap_err();
            assert!(
                after.is::<ConnectionDone>() || after.is::<ConnectionLost>(),
                "{after}"
            );
            assert!(!amp.is_connected());
            Ok(())
        },
    );
}

#[test]
fn a_twisted_client_calls_a_gyre_server_with_every_type_and_error() {
    let dir = PeerDir::new("tcp-client");
    let reactor = Reactor::new().unwrap();
    let factory = SharedFactory::new(AmpFactory::new(peer_responders()));
    let port = reactor
        .listen_tcp("127.0.0.1:0".parse().unwrap(), factory, 16)
        .unwrap();
    let address = port.host().socket_addr().unwrap();
    let (status, printed) =
        run_twisted_client(&reactor, &dir, &["client", "tcp", &address.port().to_string()]);
    assert!(status.success(), "{status}:\n{printed}");
    for check in [
        "ok sum",
        "ok echo matches on the gyre side",
        "ok echo comes back unchanged",
        "ok declared error",
        "ok unknown command",
        "ok no-answer commands arrive",
        "ok undeclared failure",
        "ok the server closed after the undeclared failure",
        "all checks passed",
    ] {
        assert!(printed.contains(check), "{check} missing:\n{printed}");
    }
}

#[test]
fn a_twisted_client_calls_the_calculator_example() {
    let dir = PeerDir::new("calculator-server");
    let example = gyre_testing::peers::example_binary(env!("CARGO_MANIFEST_DIR").as_ref(), "amp_calculator");
    let (_server, address) = start_listening(&example, &["--listen", "tcp:0:interface=127.0.0.1"]);
    let port = address.rsplit(':').next().unwrap().to_owned();
    let reactor = Reactor::new().unwrap();
    let (status, printed) = run_twisted_client(&reactor, &dir, &["calculator", &port]);
    assert!(status.success(), "{status}:\n{printed}");
    assert!(printed.contains("all checks passed"), "{printed}");
}

#[test]
fn the_calculator_example_calls_a_twisted_server() {
    let dir = PeerDir::new("calculator-client");
    let (_server, port) = twisted_server(&dir, &["server", "tcp"]);
    let example = gyre_testing::peers::example_binary(env!("CARGO_MANIFEST_DIR").as_ref(), "amp_calculator");
    let mut child = Process::new(example)
        .args(["--connect", &format!("tcp:host=127.0.0.1:port={port}")])
        .args(["sum", "13", "81", "divide", "1", "8", "divide", "1", "0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let guard = gyre_testing::peers::KillOnDrop(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut { stdout }, &mut text);
        let _ = tx.send(text);
    });
    let printed = rx
        .recv_timeout(LIMIT)
        .expect("the example client finished in time");
    drop(guard);
    assert_eq!(
        printed,
        "sum 13 81 = 94\ndivide 1 8 = 0.125\ndivide 1 0 failed: ZERO_DIVISION: division by zero\n"
    );
}

#[test]
fn descriptors_cross_a_unix_socket_to_and_from_a_twisted_server() {
    let dir = PeerDir::new("unix-server");
    let socket = dir.path("peer.sock");
    let (_server, _) = twisted_server(&dir, &["server", "unix", socket.to_str().unwrap()]);
    let reactor = Reactor::new().unwrap();
    let description = format!("unix:path={}", socket.display());
    with_client(&reactor, &description, async |amp: Amp| {
        for label in ["first", "second"] {
            let (mut reader, writer) = std::io::pipe()?;
            amp.call_remote::<Greet>(Label {
                label: label.into(),
                fd: writer.into(),
            })
            .await?;
            let mut text = String::new();
            std::io::Read::read_to_string(&mut reader, &mut text)?;
            assert_eq!(text, label, "Twisted wrote into the descriptor gyre passed");
        }
        let answer = amp
            .call_remote::<Pipe>(Text {
                text: "from twisted".into(),
            })
            .await?;
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::fs::File::from(answer.fd), &mut text)?;
        assert_eq!(text, "from twisted", "gyre read the descriptor Twisted passed");
        Ok(())
    });
}

#[test]
fn descriptors_cross_a_unix_socket_to_and_from_a_twisted_client() {
    let dir = PeerDir::new("unix-client");
    let socket = dir.path("gyre.sock");
    let reactor = Reactor::new().unwrap();
    let factory = SharedFactory::new(AmpFactory::new(peer_responders()));
    let _port = reactor
        .listen_unix(UnixAddress::Path(socket.clone()), factory, 16, None)
        .unwrap();
    let (status, printed) = run_twisted_client(&reactor, &dir, &["client", "unix", socket.to_str().unwrap()]);
    assert!(status.success(), "{status}:\n{printed}");
    for check in [
        "ok greet first",
        "ok greet second",
        "ok a descriptor in a response",
        "all checks passed",
    ] {
        assert!(printed.contains(check), "{check} missing:\n{printed}");
    }
}
