//! Arbitrary bytes as an upgrade request: parsing and handshake validation
//! never panic, and an accepted request's answer passes the client's check.
#![no_main]

use gyre_http::websocket::{ClientHandshake, accept_response, validate_request};
use gyre_http::wire::{HeadLimits, parse_request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    if let Ok(Some((head, _))) = parse_request(input, &HeadLimits::default())
        && let Ok(offer) = validate_request(&head)
    {
        let answer = accept_response(&offer, offer.protocols.first().map(String::as_str), None);
        let protocols: Vec<&str> = offer.protocols.iter().map(String::as_str).collect();
        let client = ClientHandshake::with_key(&offer.key, &protocols);
        assert!(client.check_response(&answer).is_ok());
    }
});
