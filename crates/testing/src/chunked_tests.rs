//! Tests of [`feed_chunked`] and [`assert_chunking_invariant`]: they pass
//! split-safe code and catch split-sensitive code with a useful message.

use gyre_core::transport::Transport;

use super::*;
use crate::test_support::panic_message;

/// Answers every complete line with "+OK <line>\r\n", buffering partial lines.
#[derive(Default)]
struct LineReplier {
    pending: Vec<u8>,
}

impl Protocol for LineReplier {
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        self.pending.extend_from_slice(data);
        while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            transport.write(b"+OK ");
            transport.write(&line[..line.len() - 1]);
            transport.write(b"\r\n");
            if line == b"QUIT\n" {
                transport.lose_connection();
                return;
            }
        }
    }
}

/// Wrongly assumes each read holds exactly one whole line.
struct WholeReadsOnly;

impl Protocol for WholeReadsOnly {
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        if data.ends_with(b"\r\n") {
            transport.write(b"got: ");
            transport.write(data);
        }
    }
}

#[test]
fn split_safe_protocol_passes_and_the_one_piece_run_is_returned() {
    let run = feed_chunked(LineReplier::default, b"USER bob\nQUIT\n");
    assert_eq!(run.written, b"+OK USER bob\r\n+OK QUIT\r\n");
    assert!(run.closed);
}

#[test]
fn empty_input_runs_the_connection_once() {
    let run = feed_chunked(LineReplier::default, b"");
    assert_eq!(
        run,
        ChunkedRun {
            written: Vec::new(),
            closed: false
        }
    );
}

#[test]
fn split_sensitive_protocol_is_caught_with_size_offset_and_escaped_context() {
    let message = panic_message(|| {
        feed_chunked(|| WholeReadsOnly, b"HELLO\r\n");
    });
    assert!(
        message.contains("in chunks of 1 wrote different bytes"),
        "{message}"
    );
    assert!(message.contains("first difference at byte offset 0"), "{message}");
    assert!(message.contains(r#"one piece: b"got: HELLO\r\n""#), "{message}");
    assert!(message.contains(r#"chunked:   b"""#), "{message}");
}

/// Closes on "Q" but, wrongly, goes on echoing the rest of the read.
struct KeepsTalkingAfterQuit;

impl Protocol for KeepsTalkingAfterQuit {
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        for &byte in data {
            if byte == b'Q' {
                transport.lose_connection();
            } else {
                transport.write(&[byte]);
            }
        }
    }
}

#[test]
fn processing_pipelined_input_after_closing_is_caught() {
    let message = panic_message(|| {
        feed_chunked(|| KeepsTalkingAfterQuit, b"abQcd");
    });
    assert!(message.contains("in chunks of 1"), "{message}");
    assert!(message.contains("first difference at byte offset 2"), "{message}");
    assert!(
        message.contains("one piece wrote 4 bytes, chunked 2"),
        "{message}"
    );
}

/// Closes only when "BYE" arrives in a single read.
struct ClosesOnWholeBye;

impl Protocol for ClosesOnWholeBye {
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        if data == b"BYE" {
            transport.lose_connection();
        }
    }
}

#[test]
fn a_difference_in_closing_alone_is_caught() {
    let message = panic_message(|| {
        feed_chunked(|| ClosesOnWholeBye, b"BYE");
    });
    assert!(
        message.contains("in chunks of 1: the protocol did not close"),
        "{message}"
    );
}

#[test]
fn long_inputs_use_small_sizes_powers_of_two_and_the_whole_length() {
    assert_eq!(chunk_sizes(0), Vec::<usize>::new());
    assert_eq!(chunk_sizes(3), [1, 2, 3]);
    assert_eq!(chunk_sizes(4096).len(), 4096);
    let sizes = chunk_sizes(5000);
    assert_eq!(sizes[..3], [1, 2, 3]);
    assert_eq!(sizes[511], 512);
    assert_eq!(sizes[512..], [1024, 2048, 4096, 5000]);
}

#[test]
fn long_input_is_replayed_correctly() {
    let mut input = Vec::new();
    for n in 0..1000 {
        input.extend_from_slice(format!("line {n}\n").as_bytes());
    }
    assert!(input.len() > EVERY_SIZE_UP_TO);
    let run = feed_chunked(LineReplier::default, &input);
    assert_eq!(run.written.iter().filter(|&&b| b == b'\n').count(), 1000);
}

#[test]
fn chunking_invariant_returns_the_common_answer() {
    let total = assert_chunking_invariant(b"12345", |chunks| {
        chunks
            .map(|c| c.iter().map(|&b| b as u32).sum::<u32>())
            .sum::<u32>()
    });
    assert_eq!(total, (b'1'..=b'5').map(u32::from).sum::<u32>());
}

#[test]
fn chunking_invariant_catches_an_answer_that_depends_on_the_split() {
    let message = panic_message(|| {
        assert_chunking_invariant(b"abcd", |chunks| chunks.count());
    });
    assert!(
        message.contains("in chunks of 1 gave a different answer"),
        "{message}"
    );
    assert!(message.contains("one piece: 1"), "{message}");
    assert!(message.contains("chunked:   4"), "{message}");
}
