//! The SOCKS5 UDP request header from arbitrary datagrams: parsing never
//! panics, and a parsed header written back before the same payload
//! parses to the same header and payload. The stable smoke version is
//! `crates/protocols/tests/fuzz_smoke_socks.rs`.
#![no_main]

use gyre_protocols::socks::wire::udp::{encode_header, parse_datagram};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    if let Ok((header, payload)) = parse_datagram(input) {
        let mut again = Vec::new();
        encode_header(&header, &mut again);
        again.extend_from_slice(payload);
        assert_eq!(again.len(), input.len());
        assert_eq!(parse_datagram(&again), Ok((header, payload)));
    }
});
