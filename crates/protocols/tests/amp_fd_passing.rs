//! `Descriptor` arguments between two gyre AMP peers over a real Unix
//! socket: descriptors in calls and in answers, many in one box (more than
//! one `SCM_RIGHTS` message carries), and ordinals staying in step across
//! calls. (The in-memory pump carries no descriptors; `amp_limits.rs` tests
//! the bookkeeping with a fake capability, `amp_interop_twisted.rs` passes
//! descriptors to and from Twisted.)

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::time::Duration;

use gyre_core::address::UnixAddress;
use gyre_core::interfaces::ReactorUnix;
use gyre_core::{Failure, SharedFactory};
use gyre_endpoints::EndpointRegistry;
use gyre_protocols::amp::{
    AmpConfig, AmpFactory, AmpProtocol, Command, Empty, NoErrors, Responders, connect_amp,
};
use gyre_reactor::Reactor;

gyre_protocols::amp_fields! {
    /// Write ends of pipes, and the text to write into each.
    struct Sinks { text: String, fds: Vec<OwnedFd> }
}

gyre_protocols::amp_fields! {
    /// How many descriptors were written to.
    struct Count { count: u32 }
}

/// Writes the text into every passed descriptor.
struct Fill;
impl Command for Fill {
    const NAME: &'static str = "Fill";
    type Arguments = Sinks;
    type Response = Count;
    type Error = NoErrors;
}

gyre_protocols::amp_fields! {
    /// A pipe's read end with text waiting in it, or none.
    struct Source { fd: Option<OwnedFd>, label: String }
}

/// Answers with a pipe holding "from the server".
struct Open;
impl Command for Open {
    const NAME: &'static str = "Open";
    type Arguments = Empty;
    type Response = Source;
    type Error = NoErrors;
}

fn responders() -> Responders {
    let mut responders = Responders::new();
    responders
        .add(Fill, |sinks| {
            let count = sinks.fds.len() as u32;
            for fd in sinks.fds {
                std::fs::File::from(fd).write_all(sinks.text.as_bytes())?;
            }
            Ok(Count { count })
        })
        .add(Open, |_| {
            let (reader, mut writer) = std::io::pipe()?;
            writer.write_all(b"from the server")?;
            Ok(Source {
                fd: Some(reader.into()),
                label: "pipe".into(),
            })
        });
    responders
}

#[test]
fn descriptors_travel_both_ways_between_gyre_peers_over_a_unix_socket() {
    let dir = std::env::temp_dir().join(format!("gyre-amp-fds-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let socket = dir.join("amp.sock");
    let reactor = Reactor::new().unwrap();
    // 100 descriptors in one box are more than the default 64 allowed to
    // wait unclaimed, so this server allows more.
    let config = AmpConfig {
        max_received_descriptors: 128,
        ..AmpConfig::default()
    };
    let factory = SharedFactory::new(AmpFactory::new(responders()).with_config(config));
    let _port = reactor
        .listen_unix(UnixAddress::Path(socket.clone()), factory, 8, None)
        .unwrap();
    let endpoint = EndpointRegistry::default()
        .client_from_string(&reactor, &format!("unix:path={}", socket.display()))
        .unwrap();
    let connecting = connect_amp(&*endpoint, AmpProtocol::default());
    let run = reactor.spawn(async move {
        let amp = connecting.await?;
        for round in 0..3 {
            let count = if round == 1 { 100 } else { 2 };
            let (readers, writers): (Vec<_>, Vec<_>) = (0..count).map(|_| std::io::pipe().unwrap()).unzip();
            let text = format!("round {round}");
            let filled = amp
                .call_remote::<Fill>(Sinks {
                    text: text.clone(),
                    fds: writers.into_iter().map(OwnedFd::from).collect(),
                })
                .await?;
            assert_eq!(filled.count, count);
            for mut reader in readers {
                let mut got = String::new();
                reader.read_to_string(&mut got)?;
                assert_eq!(got, text);
            }
            let source = amp.call_remote::<Open>(Empty).await?;
            let mut got = String::new();
            std::fs::File::from(source.fd.expect("a descriptor")).read_to_string(&mut got)?;
            assert_eq!((got.as_str(), source.label.as_str()), ("from the server", "pipe"));
        }
        amp.lose_connection();
        Ok::<(), Failure>(())
    });
    let result = reactor.run_until(run.add_timeout(&reactor, Duration::from_secs(60)));
    let _ = std::fs::remove_dir_all(&dir);
    result.unwrap_or_else(|failure| panic!("{failure:#}"));
}
