//! Arbitrary bytes into a server-side WebSocket connection (with or without
//! permessage-deflate), whole and split in two at a point taken from the
//! input: never a panic, no message past the limit, and both feedings give
//! the same events and the same bytes back.
#![no_main]

use gyre_http::websocket::{DeflateParams, Event, Message, Role, WebSocketConfig, WebSocketConnection};
use libfuzzer_sys::fuzz_target;

fn run(chunks: &[&[u8]], deflate: bool) -> (Vec<Event>, Vec<u8>) {
    let config = WebSocketConfig {
        max_message_size: 4096,
        max_frame_size: 1024,
    };
    let mut conn = WebSocketConnection::new(Role::Server, config);
    if deflate {
        conn = conn.with_deflate(DeflateParams::default());
    }
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
    // The low bit of the second byte turns permessage-deflate on.
    let deflate = input.get(1).is_some_and(|b| b & 1 == 1);
    let whole = run(&[input], deflate);
    for event in &whole.0 {
        if let Event::Message(Message::Binary(data)) = event {
            assert!(data.len() <= 4096, "a message past the limit");
        }
    }
    assert_eq!(whole, run(&[&input[..split], &input[split..]], deflate));
});
