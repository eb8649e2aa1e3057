//! `IntStringReceiver` and `NetstringReceiver` as protocols, on the
//! in-memory doubles: one handler over both framings at every chunk size,
//! `send_string` refusing what the prefix cannot carry, the length limit and
//! its hook, malformed netstrings closing with a typed reason, pausing,
//! and a receiver registered as the push producer of a slow transport.

use gyre_core::errors::ConnectionDone;
use gyre_core::producer::{Producer, WaterMarks};
use gyre_core::{Failure, Transport};
use gyre_protocols::framing::{
    IntDecoder, IntStringReceiver, LengthLimitExceeded, NetstringDecoder, NetstringError, NetstringErrorKind,
    NetstringReceiver, Prefix, ReceiverHandle, StringContext, StringHandler, StringTooLong, encode_netstring,
    encode_string,
};
use gyre_testing::{StringTransport, StringTransportWithDisconnection, connect_pair, feed_chunked};

/// Answers each string with its length and the string reversed; `PAUSE`
/// pauses, `QUIT` closes, `BIG n` tries to send n bytes.
#[derive(Default)]
struct Reply {
    paused: Option<ReceiverHandle>,
    refused: Option<StringTooLong>,
    received: Vec<Vec<u8>>,
    reason: Option<Failure>,
}

impl StringHandler for Reply {
    fn string_received(&mut self, cx: &mut StringContext<'_>, string: &[u8]) {
        self.received.push(string.to_vec());
        let reversed: Vec<u8> = string.iter().rev().copied().collect();
        cx.send_string(&reversed).unwrap();
        match string {
            b"PAUSE" => self.paused = Some(cx.pause()),
            b"QUIT" => cx.lose_connection(),
            _ => {}
        }
        if let Some(n) = string.strip_prefix(b"BIG ") {
            let n: usize = std::str::from_utf8(n).unwrap().parse().unwrap();
            self.refused = cx.send_string(&vec![b'b'; n]).err();
        }
    }

    fn connection_lost(&mut self, _: &Transport, reason: Failure) {
        self.reason = Some(reason);
    }
}

fn int_frames(prefix: Prefix, strings: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for string in strings {
        encode_string(prefix, string, &mut out).unwrap();
    }
    out
}

fn netstrings(strings: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for string in strings {
        encode_netstring(string, &mut out);
    }
    out
}

#[test]
fn one_handler_runs_over_every_prefix_and_netstrings_at_every_chunk_size() {
    let strings: [&[u8]; 4] = [b"hello", b"", b"with\0nul and \xff", b"QUIT"];
    let reversed: Vec<Vec<u8>> = strings
        .iter()
        .map(|s| s.iter().rev().copied().collect())
        .collect();
    let reversed: Vec<&[u8]> = reversed.iter().map(Vec::as_slice).collect();
    for prefix in [Prefix::U8, Prefix::U16, Prefix::U32] {
        let mut input = int_frames(prefix, &strings);
        input.extend_from_slice(b"\x01ignored after QUIT");
        let run = feed_chunked(|| IntStringReceiver::new(prefix, Reply::default()), &input);
        assert_eq!(run.written, int_frames(prefix, &reversed), "{prefix:?}");
        assert!(run.closed);
    }
    let run = feed_chunked(|| NetstringReceiver::new(Reply::default()), &netstrings(&strings));
    assert_eq!(run.written, netstrings(&reversed));
    assert!(run.closed);
}

#[test]
fn send_string_refuses_what_the_prefix_cannot_announce() {
    let mut conn =
        StringTransportWithDisconnection::new(IntStringReceiver::new(Prefix::U8, Reply::default()));
    conn.data_received(&int_frames(Prefix::U8, &[b"BIG 255"]));
    assert!(conn.protocol().handler().refused.is_none());
    conn.transport().clear();
    conn.data_received(&int_frames(Prefix::U8, &[b"BIG 256"]));
    let refused = conn.protocol().handler_mut().refused.take().expect("refused");
    assert_eq!((refused.length, refused.max), (256, 255));
    assert_eq!(
        conn.value(),
        int_frames(Prefix::U8, &[b"652 GIB"]),
        "only the reply, not the refused string"
    );
    let mut conn = StringTransportWithDisconnection::new(NetstringReceiver::new(Reply::default()));
    conn.data_received(&netstrings(&[b"BIG 70000"]));
    assert!(
        conn.protocol().handler().refused.is_none(),
        "netstrings take any length"
    );
}

#[test]
fn a_too_long_prefix_closes_with_length_limit_exceeded_by_default() {
    let decoder = IntDecoder::new(Prefix::U32).with_max_length(8);
    let mut conn =
        StringTransportWithDisconnection::new(IntStringReceiver::with_decoder(decoder, Reply::default()));
    let mut input = int_frames(Prefix::U32, &[b"fits", b"far too long"]);
    input.extend_from_slice(&int_frames(Prefix::U32, &[b"never"]));
    conn.data_received(&input);
    assert!(!conn.is_connected());
    let handler = conn.protocol().handler();
    assert_eq!(handler.received, [b"fits".to_vec()]);
    let reason = handler.reason.as_ref().unwrap();
    let error = reason
        .downcast_ref::<LengthLimitExceeded>()
        .expect("LengthLimitExceeded");
    assert_eq!((error.length, error.limit), (12, 8));
}

/// Skips too-long strings, answering each with `SKIPPED`.
#[derive(Default)]
struct Skipper {
    received: Vec<Vec<u8>>,
}

impl StringHandler for Skipper {
    fn string_received(&mut self, _: &mut StringContext<'_>, string: &[u8]) {
        self.received.push(string.to_vec());
    }

    fn length_limit_exceeded(&mut self, cx: &mut StringContext<'_>, error: LengthLimitExceeded) {
        assert_eq!(error.limit, cx.max_length());
        cx.send_string(b"SKIPPED").unwrap();
    }
}

#[test]
fn a_hook_that_does_not_close_skips_the_long_string_without_buffering_it() {
    let decoder = IntDecoder::new(Prefix::U16).with_max_length(4);
    let input = int_frames(Prefix::U16, &[b"one", &[b'x'; 1000], b"two"]);
    let make = || IntStringReceiver::with_decoder(decoder.clone(), Skipper::default());
    let run = feed_chunked(make, &input);
    assert_eq!(run.written, int_frames(Prefix::U16, &[b"SKIPPED"]));
    let mut conn = StringTransportWithDisconnection::new(make());
    conn.data_received(&input);
    assert_eq!(
        conn.protocol().handler().received,
        [b"one".to_vec(), b"two".to_vec()]
    );
}

#[test]
fn a_malformed_netstring_closes_with_its_error_after_the_good_ones() {
    let mut conn = StringTransportWithDisconnection::new(NetstringReceiver::new(Reply::default()));
    conn.data_received(b"2:ok,");
    conn.data_received(b"03:abc,");
    assert_eq!(conn.value(), b"2:ko,");
    assert!(!conn.is_connected());
    let reason = conn.protocol().handler_mut().reason.take().unwrap();
    let error = reason.downcast_ref::<NetstringError>().expect("NetstringError");
    assert_eq!((error.kind, error.offset), (NetstringErrorKind::LeadingZero, 6));
}

#[test]
fn an_over_long_netstring_is_refused_as_its_length_arrives() {
    let decoder = NetstringDecoder::new().with_max_length(1000);
    let mut conn =
        StringTransportWithDisconnection::new(NetstringReceiver::with_decoder(decoder, Reply::default()));
    conn.data_received(b"100");
    assert!(conn.is_connected());
    conn.data_received(b"1");
    assert!(!conn.is_connected(), "refused without waiting for data");
    let reason = conn.protocol().handler_mut().reason.take().unwrap();
    assert!(reason.is::<NetstringError>(), "{reason}");
}

#[test]
fn paused_strings_are_held_and_delivered_in_order_on_resume() {
    let mut conn = StringTransportWithDisconnection::new(NetstringReceiver::new(Reply::default()));
    conn.data_received(b"1:a,5:PAUSE,1:b,2:");
    conn.data_received(b"cd,1:e");
    assert_eq!(conn.transport().take(), b"1:a,5:ESUAP,");
    let handle = conn.protocol().handler_mut().paused.take().unwrap();
    handle.resume();
    assert_eq!(conn.transport().take(), b"1:b,2:dc,");
    conn.data_received(b",");
    assert_eq!(conn.transport().take(), b"1:e,");
    conn.peer_closed();
    let reason = conn.protocol().handler_mut().reason.take().unwrap();
    assert!(
        reason.is::<ConnectionDone>() && !reason.to_string().contains("middle"),
        "{reason}"
    );
}

#[test]
fn a_receiver_registered_as_producer_pauses_while_the_other_side_is_full() {
    // A relay: strings from one connection are forwarded to a slow one.
    struct Forward(Transport);
    impl StringHandler for Forward {
        fn string_received(&mut self, _: &mut StringContext<'_>, string: &[u8]) {
            self.0.write(string);
        }
    }
    let slow = StringTransport::new();
    slow.handle().set_water_marks(WaterMarks::new(10, 0));
    let mut conn =
        StringTransportWithDisconnection::new(IntStringReceiver::new(Prefix::U8, Forward(slow.handle())));
    let handle = conn.protocol().handle();
    slow.handle()
        .register_producer(Producer::Push(std::rc::Rc::new(handle.clone())))
        .unwrap();
    conn.data_received(&int_frames(Prefix::U8, &[b"0123456789", b"X", b"held", b"too"]));
    assert_eq!(
        slow.value(),
        b"0123456789X",
        "paused once the buffer went over 10"
    );
    assert!(handle.is_paused() && conn.transport().is_reading_paused());
    slow.clear(); // the slow side drained: the receiver resumes and delivers
    assert_eq!(slow.value(), b"heldtoo");
    assert!(!handle.is_paused() && !conn.transport().is_reading_paused());
}

#[test]
fn int_string_peers_talk_through_a_pump() {
    struct Client {
        answers: Vec<Vec<u8>>,
    }
    impl StringHandler for Client {
        fn connection_made(&mut self, cx: &mut StringContext<'_>) {
            for string in [&b"first"[..], b"", &[b'z'; 60_000]] {
                cx.send_string(string).unwrap();
            }
            cx.send_string(b"QUIT").unwrap();
        }
        fn string_received(&mut self, _: &mut StringContext<'_>, string: &[u8]) {
            self.answers.push(string.to_vec());
        }
    }
    let server = IntStringReceiver::new(Prefix::U16, Reply::default());
    let client = IntStringReceiver::new(Prefix::U16, Client { answers: Vec::new() });
    let mut pair = connect_pair(server, client);
    pair.pump();
    assert!(!pair.is_connected());
    let answers = std::mem::take(&mut pair.client().handler_mut().answers);
    assert_eq!(
        answers,
        [
            b"tsrif".to_vec(),
            b"".to_vec(),
            vec![b'z'; 60_000],
            b"TIUQ".to_vec()
        ]
    );
}
