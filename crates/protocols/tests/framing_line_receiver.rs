//! `LineReceiver` and `LineOnlyReceiver` as protocols, on the in-memory
//! doubles: mode switches from inside callbacks at every chunk size,
//! pausing and resuming from outside, end of file while paused, limits and
//! their hooks, clearing the buffer, and two receivers talking through a
//! pump.

use gyre_core::errors::ConnectionDone;
use gyre_core::{Failure, Transport};
use gyre_protocols::framing::{
    BufferLimitExceeded, LineContext, LineDecoder, LineHandler, LineOnlyContext, LineOnlyHandler,
    LineOnlyReceiver, LineReceiver, LineTooLong, RawDataUnhandled, ReceiverHandle,
};
use gyre_testing::{StringTransportWithDisconnection, chunk_sizes, connect_pair, feed_chunked};

/// Writes a transcript of what it receives: `L:<line>` for lines, raw bytes
/// as they are (so the transcript does not depend on how raw runs split).
/// Lines are commands: `RAW n`, `RAWDOT` (raw up to and including a `.`),
/// `PAUSE`, `CLEAR`, `QUIT`, `SEND x`.
#[derive(Default)]
struct Script {
    paused: Option<ReceiverHandle>,
    until_dot: bool,
    eof: bool,
    reason: Option<Failure>,
}

impl LineHandler for Script {
    fn line_received(&mut self, cx: &mut LineContext<'_>, line: &[u8]) {
        cx.write(b"L:");
        cx.send_line(line);
        match line {
            b"PAUSE" => self.paused = Some(cx.pause()),
            b"CLEAR" => cx.clear_line_buffer(),
            b"QUIT" => cx.lose_connection(),
            b"RAWDOT" => {
                self.until_dot = true;
                cx.set_raw_mode();
            }
            _ => {}
        }
        if let Some(n) = line.strip_prefix(b"RAW ") {
            cx.set_raw_mode_for(std::str::from_utf8(n).unwrap().parse().unwrap());
        }
        if let Some(text) = line.strip_prefix(b"SEND ") {
            cx.send_line(text);
        }
    }

    fn raw_data_received(&mut self, cx: &mut LineContext<'_>, data: &[u8]) {
        match data.iter().position(|&b| b == b'.').filter(|_| self.until_dot) {
            Some(dot) => {
                cx.write(&data[..=dot]);
                self.until_dot = false;
                cx.set_line_mode_after(dot + 1);
            }
            None => cx.write(data),
        }
    }

    fn read_connection_lost(&mut self, cx: &mut LineContext<'_>) {
        self.eof = true;
        cx.send_line(b"EOF");
        cx.lose_connection();
    }

    fn connection_lost(&mut self, _: &Transport, reason: Failure) {
        self.reason = Some(reason);
    }
}

fn script() -> LineReceiver<Script> {
    LineReceiver::new(Script::default())
}

#[test]
fn mode_switches_inside_callbacks_keep_the_leftover_in_order_at_every_chunk_size() {
    let input = b"HEAD\r\nRAW 7\r\nab\r\ncd\rnext\r\nRAWDOT\r\nraw\r\nbytes.after dot\r\nRAW 2\r\n!!";
    let run = feed_chunked(script, input);
    let expected =
        b"L:HEAD\r\nL:RAW 7\r\nab\r\ncd\rL:next\r\nL:RAWDOT\r\nraw\r\nbytes.L:after dot\r\nL:RAW 2\r\n!!";
    assert_eq!(
        run.written.escape_ascii().to_string(),
        expected.escape_ascii().to_string()
    );
    assert!(!run.closed);
}

#[test]
fn quit_stops_delivery_and_the_rest_of_the_read_is_ignored() {
    let run = feed_chunked(script, b"one\r\nQUIT\r\nSEND never\r\n");
    assert_eq!(run.written, b"L:one\r\nL:QUIT\r\n");
    assert!(run.closed);
}

#[test]
fn clear_line_buffer_drops_the_rest_of_the_read() {
    let mut conn = StringTransportWithDisconnection::new(script());
    conn.data_received(b"CLEAR\r\ndropped\r\nalso dro");
    conn.data_received(b"pped?\r\nkept\r\n");
    assert_eq!(conn.value(), b"L:CLEAR\r\nL:pped?\r\nL:kept\r\n");
}

#[test]
fn paused_lines_wait_for_resume_from_outside_and_come_out_in_order() {
    let mut conn = StringTransportWithDisconnection::new(script());
    conn.data_received(b"a\r\nPAUSE\r\nRAW 3\r\nxyzb\r\n");
    assert_eq!(conn.transport().take(), b"L:a\r\nL:PAUSE\r\n");
    assert!(conn.transport().is_reading_paused());
    // The harness does not honour pause_reading: more arrives, and is kept.
    conn.data_received(b"c\r\nPA");
    conn.data_received(b"USE\r\nd\r\n");
    assert!(conn.value().is_empty(), "nothing delivered while paused");
    let handle = conn.protocol().handler_mut().paused.take().unwrap();
    assert!(handle.is_paused());
    handle.resume();
    assert_eq!(
        conn.transport().take(),
        b"L:RAW 3\r\nxyzL:b\r\nL:c\r\nL:PAUSE\r\n"
    );
    assert!(
        conn.transport().is_reading_paused(),
        "paused again by the second PAUSE"
    );
    let again = conn.protocol().handler_mut().paused.take().unwrap();
    again.resume();
    assert_eq!(conn.transport().take(), b"L:d\r\n");
    assert!(!conn.transport().is_reading_paused());
    handle.resume(); // not paused: nothing happens
    assert!(conn.value().is_empty());
}

#[test]
fn pausing_and_resuming_from_outside_keeps_the_order_at_every_chunk_size() {
    let input = b"a\r\nPAUSE\r\nRAW 3\r\nxyzb\r\nPAUSE\r\nRAWDOT\r\nq.c\r\nPAUSE\r\nd\r\npartial";
    let expected =
        b"L:a\r\nL:PAUSE\r\nL:RAW 3\r\nxyzL:b\r\nL:PAUSE\r\nL:RAWDOT\r\nq.L:c\r\nL:PAUSE\r\nL:d\r\n";
    for size in chunk_sizes(input.len()) {
        let mut conn = StringTransportWithDisconnection::new(script());
        let resume = |conn: &mut StringTransportWithDisconnection<LineReceiver<Script>>| {
            let handle = conn.protocol().handler_mut().paused.take();
            handle.inspect(ReceiverHandle::resume).is_some()
        };
        for chunk in input.chunks(size) {
            conn.data_received(chunk);
            resume(&mut conn); // the work a PAUSE started is done before the next read
        }
        while resume(&mut conn) {}
        let (got, expected) = (
            conn.value().escape_ascii().to_string(),
            expected.escape_ascii().to_string(),
        );
        assert_eq!(got, expected, "chunks of {size}");
        assert!(!conn.transport().is_reading_paused());
    }
}

#[test]
#[should_panic(expected = "drop that guard first")]
fn resuming_while_the_handler_is_borrowed_is_a_clear_bug() {
    let mut conn = StringTransportWithDisconnection::new(script());
    conn.data_received(b"PAUSE\r\nheld\r\n");
    conn.protocol().handler_mut().paused.take().unwrap().resume();
}

/// Pauses on every line and resumes itself at once, from its own callback.
struct Hiccup;

impl LineHandler for Hiccup {
    fn line_received(&mut self, cx: &mut LineContext<'_>, line: &[u8]) {
        let handle = cx.pause();
        cx.send_line(line);
        handle.resume();
    }
}

#[test]
fn resuming_from_inside_the_receivers_own_callback_goes_on() {
    let run = feed_chunked(|| LineReceiver::new(Hiccup), b"a\r\nb\r\nc\r\n");
    assert_eq!(run.written, b"a\r\nb\r\nc\r\n");
    let mut conn = StringTransportWithDisconnection::new(LineReceiver::new(Hiccup));
    conn.data_received(b"x\r\n");
    assert!(!conn.transport().is_reading_paused());
}

#[test]
fn end_of_file_while_paused_is_told_after_the_held_lines() {
    let mut conn = StringTransportWithDisconnection::new(script());
    conn.data_received(b"PAUSE\r\nlast\r\n");
    conn.peer_half_closed();
    assert!(!conn.protocol().handler().eof);
    assert!(conn.is_connected());
    let handle = conn.protocol().handler_mut().paused.take().unwrap();
    handle.resume();
    conn.settle();
    assert_eq!(conn.value(), b"L:PAUSE\r\nL:last\r\nEOF\r\n");
    assert!(!conn.is_connected());
    let reason = conn.protocol().handler_mut().reason.take().unwrap();
    assert!(reason.is::<ConnectionDone>(), "{reason}");
}

#[test]
fn a_too_long_line_closes_with_line_too_long_by_default() {
    let decoder = LineDecoder::new().with_delimiter(b"\n").with_max_length(10);
    let mut conn =
        StringTransportWithDisconnection::new(LineReceiver::with_decoder(decoder, Script::default()));
    conn.data_received(b"short\n0123456789");
    assert!(conn.is_connected(), "10 bytes may still end in a delimiter");
    conn.data_received(b"X and more\nnot delivered\n");
    assert_eq!(conn.value(), b"L:short\n");
    assert!(!conn.is_connected());
    let reason = conn.protocol().handler_mut().reason.take().unwrap();
    let error = reason.downcast_ref::<LineTooLong>().expect("LineTooLong");
    assert_eq!(error.limit, 10);
    assert!(error.received > 10);
}

/// Answers too-long lines with an error and goes on.
#[derive(Default)]
struct Tolerant {
    lines: Vec<Vec<u8>>,
}

impl LineHandler for Tolerant {
    fn line_received(&mut self, _: &mut LineContext<'_>, line: &[u8]) {
        self.lines.push(line.to_vec());
    }

    fn line_length_exceeded(&mut self, cx: &mut LineContext<'_>, line: &[u8]) {
        assert!(line.len() > cx.max_length());
        cx.send_line(b"ERR line too long");
    }
}

#[test]
fn a_hook_that_does_not_close_skips_the_long_line_and_goes_on() {
    let decoder = LineDecoder::new().with_max_length(4);
    let input = b"ok\r\ntoo long by far\r\nfine\r\nthis one never ends";
    let run = feed_chunked(
        || LineReceiver::with_decoder(decoder.clone(), Tolerant::default()),
        input,
    );
    assert_eq!(run.written, b"ERR line too long\r\nERR line too long\r\n");
    let mut conn =
        StringTransportWithDisconnection::new(LineReceiver::with_decoder(decoder, Tolerant::default()));
    conn.data_received(input);
    conn.data_received(b"... still\r\nlast\r\n");
    assert_eq!(
        conn.protocol().handler().lines,
        [b"ok".to_vec(), b"fine".to_vec(), b"last".to_vec()]
    );
}

/// Switches to raw mode without handling raw data.
#[derive(Default)]
struct ForgetsRaw {
    reason: Option<Failure>,
}

impl LineHandler for ForgetsRaw {
    fn line_received(&mut self, cx: &mut LineContext<'_>, line: &[u8]) {
        cx.send_line(line);
        cx.set_raw_mode();
    }

    fn connection_lost(&mut self, _: &Transport, reason: Failure) {
        self.reason = Some(reason);
    }
}

#[test]
fn raw_data_without_a_raw_handler_closes_with_raw_data_unhandled() {
    let mut conn = StringTransportWithDisconnection::new(LineReceiver::new(ForgetsRaw::default()));
    conn.data_received(b"go raw\r\n");
    assert!(conn.is_connected(), "no raw bytes yet");
    conn.data_received(b"bytes");
    assert!(!conn.is_connected());
    assert_eq!(conn.value(), b"go raw\r\n");
    let reason = conn.protocol().handler_mut().reason.take().unwrap();
    assert!(reason.is::<RawDataUnhandled>(), "{reason}");
}

#[test]
fn a_paused_receiver_fed_too_much_closes_with_buffer_limit_exceeded() {
    let decoder = LineDecoder::new().with_max_buffered(64);
    let mut conn =
        StringTransportWithDisconnection::new(LineReceiver::with_decoder(decoder, Script::default()));
    conn.data_received(b"PAUSE\r\n");
    conn.data_received(&[b'a'; 64]);
    assert!(conn.is_connected(), "64 bytes fit");
    conn.data_received(b"b");
    assert!(!conn.is_connected());
    let reason = conn.protocol().handler_mut().reason.take().unwrap();
    assert_eq!(
        reason.downcast_ref::<BufferLimitExceeded>().map(|e| e.limit),
        Some(64)
    );
}

#[test]
fn a_connection_ending_mid_line_says_so_in_the_reason() {
    let mut conn = StringTransportWithDisconnection::new(script());
    conn.data_received(b"complete\r\nincompl");
    conn.peer_closed();
    let reason = conn.protocol().handler_mut().reason.take().unwrap();
    assert!(reason.is::<ConnectionDone>());
    assert!(reason.to_string().contains("in the middle of a line"), "{reason}");
}

/// A client that sends a header, a body and a trailer in one write.
struct Uploader;

impl LineHandler for Uploader {
    fn connection_made(&mut self, cx: &mut LineContext<'_>) {
        cx.send_line(b"RAW 5");
        cx.write(b"12345");
        cx.send_line(b"SEND done");
    }

    fn line_received(&mut self, cx: &mut LineContext<'_>, line: &[u8]) {
        if line == b"done" {
            cx.lose_connection();
        }
    }
}

#[test]
fn two_receivers_talk_through_a_pump() {
    let mut pair = connect_pair(script(), LineReceiver::new(Uploader));
    pair.pump();
    assert!(!pair.is_connected());
    let reason = pair.server().handler_mut().reason.take().unwrap();
    assert!(reason.is::<ConnectionDone>(), "{reason}");
}

/// Echoes lines in upper case.
struct Upper;

impl LineOnlyHandler for Upper {
    fn line_received(&mut self, cx: &mut LineOnlyContext<'_>, line: &[u8]) {
        cx.send_line(&line.to_ascii_uppercase());
    }
}

#[test]
fn line_only_receiver_splits_at_every_chunk_size_and_enforces_the_limit() {
    let decoder = LineDecoder::new().with_delimiter(b"\n").with_max_length(8);
    let make = || LineOnlyReceiver::with_decoder(decoder.clone(), Upper);
    let run = feed_chunked(make, b"hello\nworld\n\n");
    assert_eq!(run.written, b"HELLO\nWORLD\n\n");
    let run = feed_chunked(make, b"fine\nmuch too long\nnot reached\n");
    assert_eq!(run.written, b"FINE\n");
    assert!(run.closed);
}
