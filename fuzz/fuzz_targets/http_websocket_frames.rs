//! Arbitrary bytes into a server-side WebSocket connection, whole and split
//! in two at a point taken from the input: never a panic, and both feedings
//! give the same events and the same bytes back.
#![no_main]

use gyre_http::websocket::{Event, Role, WebSocketConfig, WebSocketConnection};
use libfuzzer_sys::fuzz_target;

fn run(chunks: &[&[u8]]) -> (Vec<Event>, Vec<u8>) {
    let config = WebSocketConfig {
        max_message_size: 4096,
        max_frame_size: 1024,
    };
    let mut conn = WebSocketConnection::new(Role::Server, config);
    let (mut events, mut sent) = (Vec::new(), Vec::new());
    for chunk in chunks {
        conn.handle_input(chunk);
        while let Some(event) = conn.poll_event() {
            events.push(event);
        }
        if let Some(bytes) = conn.poll_transmit() {
            sent.extend_from_slice(&bytes);
        }
    }
    (events, sent)
}

fuzz_target!(|input: &[u8]| {
    let split = input.first().map_or(0, |&b| b as usize % (input.len() + 1));
    assert_eq!(run(&[input]), run(&[&input[..split], &input[split..]]));
});
