//! All six inetd internal services (echo, discard, chargen, qotd, daytime,
//! time) over TCP and UDP, on ports given as endpoint strings.
//!
//! ```text
//! cargo run -p gyre-protocols --example inetd_services
//! cargo run -p gyre-protocols --example inetd_services -- --echo tcp:7007 --echo-udp udp:7007 --quote "Hello."
//! ```
//!
//! Arguments (all optional):
//! - `--SERVICE DESCRIPTION`: where the TCP service listens, as an endpoint
//!   string (default `tcp:0:interface=127.0.0.1`, a free port). `haproxy:`
//!   works too: `--echo haproxy:tcp:7007`.
//! - `--SERVICE-udp udp:PORT[:interface=IP]`: where the UDP service listens
//!   (default `udp:0:interface=127.0.0.1`).
//! - `--quote TEXT`: the quote of the day (at most 511 bytes).
//!
//! `SERVICE` is one of `echo`, `discard`, `chargen`, `qotd`, `daytime`,
//! `time`. Once everything listens, one line per service and transport is
//! printed, `SERVICE tcp|udp ADDRESS` with the port actually bound, then
//! `ready`. Try `socat - TCP:127.0.0.1:PORT` or `socat - UDP:127.0.0.1:PORT`.
//! Stop it with Ctrl-C or `kill`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::rc::Rc;

use gyre_core::connector::ListeningPort;
use gyre_core::datagram::DatagramTransport;
use gyre_core::interfaces::ReactorUdp;
use gyre_endpoints::{Description, EndpointRegistry};
use gyre_protocols::inetd::{Quote, Service, WallClock};
use gyre_protocols::proxy_protocol::register_haproxy;
use gyre_reactor::Reactor;

const USAGE: &str =
    "usage: inetd_services [--SERVICE ENDPOINT] [--SERVICE-udp udp:PORT[:interface=IP]] [--quote TEXT]
SERVICE: echo discard chargen qotd daytime time";

struct Options {
    tcp: HashMap<Service, String>,
    udp: HashMap<Service, String>,
    quote: Quote,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        tcp: HashMap::new(),
        udp: HashMap::new(),
        quote: Quote::default(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        if flag == "-h" || flag == "--help" {
            return Err(String::new());
        }
        if flag == "--quote" {
            options.quote = Quote::new(value()?).map_err(|e| e.to_string())?;
            continue;
        }
        let name = flag
            .strip_prefix("--")
            .ok_or_else(|| format!("unexpected argument {flag}"))?;
        let (name, udp) = match name.strip_suffix("-udp") {
            Some(name) => (name, true),
            None => (name, false),
        };
        let service = Service::from_name(name).ok_or_else(|| format!("unknown service {name}"))?;
        let description = value()?;
        if udp {
            options.udp.insert(service, description);
        } else {
            options.tcp.insert(service, description);
        }
    }
    Ok(options)
}

/// `udp:PORT[:interface=IP]` as a socket address.
fn udp_address(description: &str) -> Result<SocketAddr, String> {
    let parsed = Description::parse(description).map_err(|e| e.to_string())?;
    let bad = || format!("{description}: expected udp:PORT[:interface=IP]");
    if !parsed.prefix.value.eq_ignore_ascii_case("udp") || parsed.args.len() != 1 {
        return Err(bad());
    }
    let port: u16 = parsed.args[0].value.parse().map_err(|_| bad())?;
    let mut interface = IpAddr::V4(Ipv4Addr::LOCALHOST);
    for (key, value) in &parsed.kwargs {
        match key.value.as_str() {
            "interface" => interface = value.value.parse().map_err(|_| bad())?,
            _ => return Err(bad()),
        }
    }
    Ok(SocketAddr::new(interface, port))
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(options) => options,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("inetd_services: {message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let reactor = Reactor::new().expect("creating the reactor");
    let mut registry = EndpointRegistry::default();
    register_haproxy(&mut registry);
    let clock = WallClock::system();
    let mut ports: Vec<ListeningPort> = Vec::new();
    let mut sockets: Vec<DatagramTransport> = Vec::new();
    for service in Service::ALL {
        let tcp = options
            .tcp
            .get(&service)
            .map_or("tcp:0:interface=127.0.0.1", String::as_str);
        let endpoint = match registry.server_from_string(&reactor, tcp) {
            Ok(endpoint) => endpoint,
            Err(error) => {
                eprintln!("inetd_services: {error}");
                return ExitCode::from(2);
            }
        };
        // TCP endpoints listen at once; the Deferred has fired on return.
        let outcome = Rc::new(RefCell::new(None));
        let slot = outcome.clone();
        endpoint
            .listen(service.tcp_factory(&clock, &options.quote))
            .then(move |result| {
                *slot.borrow_mut() = Some(result);
            });
        let listened = outcome.borrow_mut().take();
        match listened {
            Some(Ok(port)) => {
                println!(
                    "{} tcp {}",
                    service.name(),
                    port.host()
                        .socket_addr()
                        .map_or_else(|| port.host().to_string(), |a| a.to_string())
                );
                ports.push(port);
            }
            Some(Err(failure)) => {
                eprintln!("inetd_services: {} over TCP: {failure}", service.name());
                return ExitCode::FAILURE;
            }
            None => {
                eprintln!(
                    "inetd_services: {} over TCP: the endpoint did not listen at once",
                    service.name()
                );
                return ExitCode::FAILURE;
            }
        }
        let udp = options
            .udp
            .get(&service)
            .map_or("udp:0:interface=127.0.0.1", String::as_str);
        let address = match udp_address(udp) {
            Ok(address) => address,
            Err(message) => {
                eprintln!("inetd_services: {message}");
                return ExitCode::from(2);
            }
        };
        match reactor.listen_udp(address, service.udp_protocol(&clock, &options.quote)) {
            Ok(socket) => {
                println!(
                    "{} udp {}",
                    service.name(),
                    socket.host().socket_addr().expect("an IP socket")
                );
                sockets.push(socket);
            }
            Err(failure) => {
                eprintln!("inetd_services: {} over UDP: {failure}", service.name());
                return ExitCode::FAILURE;
            }
        }
    }
    println!("ready");
    if let Err(error) = reactor.run() {
        eprintln!("inetd_services: {error}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
