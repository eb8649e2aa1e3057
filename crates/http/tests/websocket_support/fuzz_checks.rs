//! The checks on a server-side WebSocket connection fed arbitrary bytes,
//! shared by the cargo-fuzz target `fuzz/fuzz_targets/http_websocket_frames.rs`
//! (which includes this file by path) and the stable smoke test
//! `crates/http/tests/fuzz_smoke_websocket.rs`: never a panic, no message
//! past the limit, and the same events and bytes whole and split.

use gyre_http::websocket::{DeflateParams, Event, Message, Role, WebSocketConfig, WebSocketConnection};

/// The message limit the connection is given.
pub const MAX_MESSAGE: usize = 4096;

/// Feeds `chunks` in turn; returns every event and every byte sent back.
pub fn run(chunks: &[&[u8]], deflate: bool) -> (Vec<Event>, Vec<u8>) {
    let config = WebSocketConfig {
        max_message_size: MAX_MESSAGE,
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

/// `input` whole and split at `split` (clamped): no binary message past the
/// limit, and both feedings agree. Returns the events of the whole feeding.
pub fn whole_and_split(input: &[u8], split: usize, deflate: bool) -> Vec<Event> {
    let split = split.min(input.len());
    let whole = run(&[input], deflate);
    for event in &whole.0 {
        if let Event::Message(Message::Binary(data)) = event {
            assert!(data.len() <= MAX_MESSAGE, "a message past the limit");
        }
    }
    assert_eq!(
        whole,
        run(&[&input[..split], &input[split..]], deflate),
        "{input:?}"
    );
    whole.0
}

/// The fuzz target: the split point comes from the first byte, and the low
/// bit of the second turns permessage-deflate on.
pub fn frames(input: &[u8]) {
    let split = input.first().map_or(0, |&b| b as usize % (input.len() + 1));
    let deflate = input.get(1).is_some_and(|b| b & 1 == 1);
    whole_and_split(input, split, deflate);
}
