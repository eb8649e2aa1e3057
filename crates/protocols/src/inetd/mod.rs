//! The inetd internal services (Twisted's `twisted.protocols.wire`), over
//! TCP and UDP: echo (RFC 862), discard (RFC 863), chargen (RFC 864),
//! quote of the day (RFC 865), daytime (RFC 867) and time (RFC 868).
//!
//! ```text
//!   pattern.rs   the data, sans-IO: chargen pattern, RFC 868 value, daytime line, WallClock, Quote
//!   tcp.rs       Protocols + factories: Echo, Discard, Chargen (pull producer), Daytime, Time, Qotd
//!   udp.rs       DatagramProtocols: UdpEcho, UdpDiscard, UdpChargen, UdpDaytime, UdpTime, UdpQotd
//! ```
//!
//! Differences from Twisted, on purpose: the time service sends seconds
//! since 1900 as RFC 868 says (Twisted's sends seconds since 1970); chargen
//! sends the RFC's rotating 72-column lines; echo pauses reading while its
//! answer waits to be sent, so a client that does not read cannot grow the
//! server's buffer; the UDP services do not answer datagrams from the
//! services' own ports, which would let a forged source start an endless
//! echo–chargen loop. [`Service`] names the six for programs that start
//! them all (see `examples/inetd_services.rs`).
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use gyre_protocols::inetd::{Service, WallClock};
//! use gyre_testing::StringTransportWithDisconnection;
//!
//! let clock = WallClock::fixed(UNIX_EPOCH + Duration::from_secs(1_000_000_000));
//! let factory = Service::Time.tcp_factory(&clock, &Default::default());
//! let conn = StringTransportWithDisconnection::new(factory.build_protocol(&gyre_testing::default_peer()).unwrap());
//! assert_eq!(conn.value(), (1_000_000_000u32 + 2_208_988_800).to_be_bytes());
//! assert!(!conn.is_connected());
//! ```

mod pattern;
mod tcp;
mod udp;

use gyre_core::SharedFactory;
use gyre_core::datagram::DatagramProtocol;

pub use pattern::{
    CHARGEN_CYCLE, CHARGEN_LINE, ChargenPattern, DEFAULT_QUOTE, MAX_QUOTE, Quote, QuoteTooLong,
    SECONDS_1900_TO_1970, WallClock, chargen_cycle, daytime_line, rfc868_time,
};
pub use tcp::{
    CHARGEN_CHUNK, Chargen, Daytime, Discard, Echo, Qotd, Time, chargen_factory, daytime_factory,
    discard_factory, echo_factory, qotd_factory, time_factory,
};
pub use udp::{
    MAX_CHARGEN_DATAGRAM, UdpChargen, UdpDaytime, UdpDiscard, UdpEcho, UdpQotd, UdpTime, may_answer,
};

/// One of the inetd internal services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// RFC 862.
    Echo,
    /// RFC 863.
    Discard,
    /// RFC 864.
    Chargen,
    /// RFC 865.
    Qotd,
    /// RFC 867.
    Daytime,
    /// RFC 868.
    Time,
}

impl Service {
    /// Every service, in RFC order.
    pub const ALL: [Service; 6] = [
        Service::Echo,
        Service::Discard,
        Service::Chargen,
        Service::Qotd,
        Service::Daytime,
        Service::Time,
    ];

    /// The name in `/etc/services`.
    pub fn name(self) -> &'static str {
        match self {
            Service::Echo => "echo",
            Service::Discard => "discard",
            Service::Chargen => "chargen",
            Service::Qotd => "qotd",
            Service::Daytime => "daytime",
            Service::Time => "time",
        }
    }

    /// The well-known port (TCP and UDP alike).
    pub fn port(self) -> u16 {
        match self {
            Service::Echo => 7,
            Service::Discard => 9,
            Service::Chargen => 19,
            Service::Qotd => 17,
            Service::Daytime => 13,
            Service::Time => 37,
        }
    }

    /// The service by its name.
    pub fn from_name(name: &str) -> Option<Service> {
        Service::ALL.into_iter().find(|service| service.name() == name)
    }

    /// A factory of the TCP service; the time services tell `clock`'s time.
    pub fn tcp_factory(self, clock: &WallClock, quote: &Quote) -> SharedFactory {
        match self {
            Service::Echo => echo_factory(),
            Service::Discard => discard_factory(),
            Service::Chargen => chargen_factory(),
            Service::Qotd => qotd_factory(quote.clone()),
            Service::Daytime => daytime_factory(clock.clone()),
            Service::Time => time_factory(clock.clone()),
        }
    }

    /// The UDP service; the time services tell `clock`'s time.
    pub fn udp_protocol(self, clock: &WallClock, quote: &Quote) -> Box<dyn DatagramProtocol> {
        match self {
            Service::Echo => Box::new(UdpEcho),
            Service::Discard => Box::new(UdpDiscard),
            Service::Chargen => Box::new(UdpChargen::default()),
            Service::Qotd => Box::new(UdpQotd::new(quote.clone())),
            Service::Daytime => Box::new(UdpDaytime::new(clock.clone())),
            Service::Time => Box::new(UdpTime::new(clock.clone())),
        }
    }
}
