//! The inetd services over UDP: each datagram received is answered with
//! one datagram (echo: the same bytes; chargen: 0 to 512 pattern bytes;
//! daytime, time, quote: the service's answer; discard: nothing).
//!
//! UDP answers go wherever the source address says, so two such services
//! could be made to answer each other forever (echo to chargen, say, with
//! a forged source). As the BSD inetd does, datagrams from the ports of
//! these services (7, 9, 13, 17, 19, 37) and from port 0 are dropped.

use gyre_core::Address;
use gyre_core::datagram::{DatagramProtocol, DatagramTransport};

use crate::inetd::pattern::{ChargenPattern, Quote, WallClock, daytime_line, rfc868_time};

/// The most bytes one chargen datagram carries (RFC 864).
pub const MAX_CHARGEN_DATAGRAM: usize = 512;

/// Whether a datagram from `from` may be answered: not from a service port
/// that would answer back.
pub fn may_answer(from: &Address) -> bool {
    !matches!(from.port(), Some(0 | 7 | 9 | 13 | 17 | 19 | 37))
}

/// Sends `answer` to `from` unless that could start a loop. A send error
/// (a full socket buffer, an unreachable peer) loses the answer, as UDP would.
fn answer(transport: &DatagramTransport, answer: &[u8], from: &Address) {
    if may_answer(from)
        && let Err(failure) = transport.write_to(answer, from)
    {
        tracing::debug!(target: "gyre::inetd", to = %from, "answer not sent: {failure}");
    }
}

/// splitmix64: enough randomness to vary answer lengths (not for secrets).
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) % n as u64) as usize
    }
}

/// RFC 862 over UDP: each datagram is sent back.
#[derive(Debug, Default)]
pub struct UdpEcho;

impl DatagramProtocol for UdpEcho {
    fn datagram_received(&mut self, transport: &DatagramTransport, data: &[u8], from: &Address) {
        answer(transport, data, from);
    }
}

/// RFC 863 over UDP: datagrams are thrown away.
#[derive(Debug, Default)]
pub struct UdpDiscard;

impl DatagramProtocol for UdpDiscard {
    fn datagram_received(&mut self, _transport: &DatagramTransport, _data: &[u8], _from: &Address) {}
}

/// RFC 864 over UDP: each datagram is answered with a random number (0 to
/// 512) of bytes of the pattern, continuing where the last answer stopped.
#[derive(Debug)]
pub struct UdpChargen {
    pattern: ChargenPattern,
    random: SplitMix64,
    buffer: Vec<u8>,
}

impl UdpChargen {
    /// Answer lengths drawn from a sequence fixed by `seed`.
    pub fn with_seed(seed: u64) -> Self {
        UdpChargen {
            pattern: ChargenPattern::new(),
            random: SplitMix64::new(seed),
            buffer: Vec::with_capacity(MAX_CHARGEN_DATAGRAM),
        }
    }
}

impl Default for UdpChargen {
    /// Seeded from the system time: the lengths need to vary, not to be secret.
    fn default() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos() as u64);
        UdpChargen::with_seed(nanos)
    }
}

impl DatagramProtocol for UdpChargen {
    fn datagram_received(&mut self, transport: &DatagramTransport, _data: &[u8], from: &Address) {
        if !may_answer(from) {
            return;
        }
        let len = self.random.below(MAX_CHARGEN_DATAGRAM + 1);
        self.buffer.clear();
        self.pattern.fill(&mut self.buffer, len);
        answer(transport, &self.buffer, from);
    }
}

/// RFC 867 over UDP: each datagram is answered with the daytime line.
#[derive(Debug, Default)]
pub struct UdpDaytime {
    clock: WallClock,
}

impl UdpDaytime {
    /// Tells the time of `clock`.
    pub fn new(clock: WallClock) -> Self {
        UdpDaytime { clock }
    }
}

impl DatagramProtocol for UdpDaytime {
    fn datagram_received(&mut self, transport: &DatagramTransport, _data: &[u8], from: &Address) {
        answer(transport, daytime_line(self.clock.now()).as_bytes(), from);
    }
}

/// RFC 868 over UDP: each datagram is answered with the 4-byte time.
#[derive(Debug, Default)]
pub struct UdpTime {
    clock: WallClock,
}

impl UdpTime {
    /// Tells the time of `clock`.
    pub fn new(clock: WallClock) -> Self {
        UdpTime { clock }
    }
}

impl DatagramProtocol for UdpTime {
    fn datagram_received(&mut self, transport: &DatagramTransport, _data: &[u8], from: &Address) {
        answer(transport, &rfc868_time(self.clock.now()).to_be_bytes(), from);
    }
}

/// RFC 865 over UDP: each datagram is answered with the quote.
#[derive(Debug, Default)]
pub struct UdpQotd {
    quote: Quote,
}

impl UdpQotd {
    /// Sends `quote`.
    pub fn new(quote: Quote) -> Self {
        UdpQotd { quote }
    }
}

impl DatagramProtocol for UdpQotd {
    fn datagram_received(&mut self, transport: &DatagramTransport, _data: &[u8], from: &Address) {
        answer(transport, self.quote.as_bytes(), from);
    }
}
