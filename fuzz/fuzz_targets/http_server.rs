//! Arbitrary bytes to the whole server machine, answering every request:
//! never a panic, and while it reads a head or a body the machine holds no
//! more than its head or trailer limit plus one input.
#![no_main]

use gyre_http::proto::{ReadPhase, ServerConfig, ServerConnection, ServerEvent};
use gyre_http::{HeaderMap, ResponseHead, StatusCode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let config = ServerConfig::default();
    let mut conn = ServerConnection::new(config);
    for chunk in input.chunks(7) {
        conn.handle_input(chunk);
        while let Some(event) = conn.poll_event() {
            match event {
                ServerEvent::Request(_) => conn.accept_body(),
                ServerEvent::End(_) => {
                    let _ = conn.send_response(ResponseHead::new(StatusCode::OK));
                    let _ = conn.send_data(b"ok");
                    let _ = conn.send_end(&HeaderMap::new());
                }
                ServerEvent::Error(error) => {
                    if let (Some(status), true) = (error.status(), conn.can_send_response()) {
                        conn.send_error_response(status)
                            .expect("an error response can be sent");
                    }
                }
                ServerEvent::Data(_) | ServerEvent::Closed => {}
            }
        }
        drop(conn.poll_transmit());
        let bound = match conn.read_phase() {
            ReadPhase::Head => config.head.max_head,
            ReadPhase::Body => config.body.max_trailers,
            _ => continue,
        };
        assert!(conn.buffered_len() <= bound + chunk.len());
    }
    conn.handle_eof();
    while conn.poll_event().is_some() {}
});
