//! The sans-IO line decoder fed at every chunk size: lines, raw mode
//! switched from inside the event loop (with the leftover bytes reaching the
//! new mode in order), holding while paused, the length limit, split
//! multi-byte delimiters, and agreement with a one-piece reference model on
//! thousands of random streams.

use gyre_protocols::framing::{Input, LineDecoder, LineEvent, LineMode};
use gyre_testing::assert_chunking_invariant;
use gyre_testing::fuzz_smoke::SplitMix64;

/// An event, owned, with consecutive raw runs merged (their split depends
/// on the chunking) and a too-long line cut to `max_length + 1` bytes (how
/// much of it is reported depends on the chunking too).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    Line(Vec<u8>),
    Raw(Vec<u8>),
    TooLong(Vec<u8>),
}

/// What the driver does when told by the stream itself:
/// `RAW n` → raw for n bytes; `RAWEND` → raw until `END`, then lines
/// (via `set_line_mode_after`); `PAUSE` → hold the rest of this chunk and
/// the next one, then resume.
#[derive(Default)]
struct Driver {
    events: Vec<Ev>,
    paused: bool,
    /// In `RAWEND` raw mode: the last bytes seen, to find a split `END`.
    until_end: Option<Vec<u8>>,
}

impl Driver {
    fn pump(&mut self, decoder: &mut LineDecoder, input: &mut Input<'_>) {
        loop {
            if self.paused {
                decoder.hold(input).expect("within max_buffered");
                return;
            }
            let max = decoder.max_length();
            let event = match decoder.decode(input) {
                None => return,
                Some(LineEvent::Line(line)) => Ev::Line(line.to_vec()),
                Some(LineEvent::Raw(data)) => Ev::Raw(data.to_vec()),
                Some(LineEvent::TooLong(line)) => {
                    assert!(line.len() > max, "{} bytes", line.len());
                    Ev::TooLong(line[..=max].to_vec())
                }
            };
            match event {
                Ev::Line(line) => {
                    if line == b"PAUSE" {
                        self.paused = true;
                    } else if line == b"RAWEND" {
                        decoder.set_raw_mode();
                        self.until_end = Some(Vec::new());
                    } else if let Some(n) = line.strip_prefix(b"RAW ") {
                        decoder.set_raw_mode_for(std::str::from_utf8(n).unwrap().parse().unwrap());
                    }
                    self.events.push(Ev::Line(line));
                }
                Ev::Raw(mut data) => {
                    if let Some(seen) = &mut self.until_end {
                        let before = seen.len();
                        seen.extend_from_slice(&data);
                        if let Some(at) = seen.windows(3).position(|w| w == b"END") {
                            let used = at + 3 - before;
                            decoder.set_line_mode_after(used, input);
                            data.truncate(used);
                            self.until_end = None;
                        }
                    }
                    match self.events.last_mut() {
                        Some(Ev::Raw(run)) => run.extend_from_slice(&data),
                        _ => self.events.push(Ev::Raw(data)),
                    }
                }
                too_long => self.events.push(too_long),
            }
        }
    }

    fn run(decoder: LineDecoder, chunks: &mut dyn Iterator<Item = &[u8]>) -> Vec<Ev> {
        let mut decoder = decoder;
        let mut driver = Driver::default();
        for chunk in chunks {
            let mut input = Input::new(chunk);
            if driver.paused {
                decoder.hold(&mut input).expect("within max_buffered");
                driver.paused = false;
                driver.pump(&mut decoder, &mut Input::new(&[]));
            } else {
                driver.pump(&mut decoder, &mut input);
            }
            assert!(input.is_empty(), "every byte is decoded or kept");
        }
        while driver.paused {
            driver.paused = false;
            driver.pump(&mut decoder, &mut Input::new(&[]));
        }
        driver.events
    }
}

fn line(bytes: &[u8]) -> Ev {
    Ev::Line(bytes.to_vec())
}

fn raw(bytes: &[u8]) -> Ev {
    Ev::Raw(bytes.to_vec())
}

fn every_chunking(decoder: &LineDecoder, input: &[u8]) -> Vec<Ev> {
    assert_chunking_invariant(input, |chunks| Driver::run(decoder.clone(), chunks))
}

#[test]
fn lines_split_on_crlf_at_every_chunk_size() {
    let events = every_chunking(
        &LineDecoder::new(),
        b"one\r\n\r\ntwo\rthree\nfour\r\n\r\r\npartial",
    );
    assert_eq!(
        events,
        [line(b"one"), line(b""), line(b"two\rthree\nfour"), line(b"\r")]
    );
}

#[test]
fn a_header_then_raw_for_n_bytes_then_lines_again() {
    // The raw part contains the delimiter; the line after it shares its read.
    let input = b"HEAD\r\nRAW 10\r\nab\r\ncd\r\nefafter\r\nRAW 3\r\nxyzRAW 1\r\n!\r\nlast\r\n";
    let events = every_chunking(&LineDecoder::new(), input);
    assert_eq!(
        events,
        [
            line(b"HEAD"),
            line(b"RAW 10"),
            raw(b"ab\r\ncd\r\nef"),
            line(b"after"),
            line(b"RAW 3"),
            raw(b"xyz"),
            line(b"RAW 1"),
            raw(b"!"),
            line(b""),
            line(b"last"),
        ]
    );
}

#[test]
fn raw_until_a_marker_gives_the_rest_back_to_line_mode() {
    let input = b"RAWEND\r\nbinary\r\n\x00ENDline one\r\nRAWEND\r\nENDx\r\n";
    let events = every_chunking(&LineDecoder::new(), input);
    assert_eq!(
        events,
        [
            line(b"RAWEND"),
            raw(b"binary\r\n\x00END"),
            line(b"line one"),
            line(b"RAWEND"),
            raw(b"END"),
            line(b"x"),
        ]
    );
}

#[test]
fn held_bytes_while_paused_come_out_in_order_in_every_mode() {
    let input = b"a\r\nPAUSE\r\nb\r\nRAW 4\r\nwxyzc\r\nPAUSE\r\nRAWEND\r\nqENDd\r\ne";
    let events = every_chunking(&LineDecoder::new(), input);
    assert_eq!(
        events,
        [
            line(b"a"),
            line(b"PAUSE"),
            line(b"b"),
            line(b"RAW 4"),
            raw(b"wxyz"),
            line(b"c"),
            line(b"PAUSE"),
            line(b"RAWEND"),
            raw(b"qEND"),
            line(b"d"),
        ]
    );
}

#[test]
fn lines_over_the_limit_are_reported_once_and_skipped() {
    let decoder = LineDecoder::new().with_delimiter(b"\n").with_max_length(5);
    let input = b"12345\n123456\nok\n1234567890123\nafter\n12345678";
    let events = every_chunking(&decoder, input);
    assert_eq!(
        events,
        [
            line(b"12345"),
            Ev::TooLong(b"123456".to_vec()),
            line(b"ok"),
            Ev::TooLong(b"123456".to_vec()),
            line(b"after"),
            Ev::TooLong(b"123456".to_vec()),
        ]
    );
}

#[test]
fn a_line_exactly_at_the_limit_with_a_split_delimiter_is_accepted() {
    let decoder = LineDecoder::new().with_max_length(4);
    let events = every_chunking(&decoder, b"abcd\r\nabcde\r\nab");
    assert_eq!(events, [line(b"abcd"), Ev::TooLong(b"abcde".to_vec())]);
}

#[test]
fn overlapping_multi_byte_delimiters() {
    let decoder = LineDecoder::new().with_delimiter(b"abab");
    let events = every_chunking(&decoder, b"xababyabababz aabab");
    assert_eq!(events, [line(b"x"), line(b"y"), line(b"abz a")]);
}

#[test]
fn memory_stays_within_the_limit_whatever_the_chunking() {
    let decoder = LineDecoder::new().with_max_length(100);
    let mut long = vec![b'x'; 10_000];
    long.extend_from_slice(b"\r\nshort\r\n");
    for size in [1, 7, 99, 100, 101, 102, 4096] {
        let mut decoder = decoder.clone();
        let mut lines = 0;
        for chunk in long.chunks(size) {
            let mut input = Input::new(chunk);
            while let Some(event) = decoder.decode(&mut input) {
                lines += usize::from(event == LineEvent::Line(b"short"));
            }
            assert!(
                decoder.buffered().len() <= 101,
                "{} bytes kept",
                decoder.buffered().len()
            );
        }
        assert_eq!(lines, 1, "chunks of {size}");
    }
}

#[test]
fn holding_is_bounded_and_refuses_without_taking_anything() {
    let mut decoder = LineDecoder::new().with_max_buffered(10);
    let mut input = Input::new(b"0123456789");
    decoder.hold(&mut input).unwrap();
    let mut more = Input::new(b"x");
    let error = decoder.hold(&mut more).unwrap_err();
    assert_eq!(error.limit, 10);
    assert_eq!(more.remaining(), b"x", "nothing taken");
    assert_eq!(decoder.buffered(), b"0123456789");
    decoder.clear_buffer();
    assert!(decoder.buffered().is_empty() && !decoder.is_mid_frame());
}

#[test]
fn mode_reporting_and_raw_for_zero() {
    let mut decoder = LineDecoder::new();
    decoder.set_raw_mode_for(0);
    assert_eq!(decoder.mode(), LineMode::Line);
    decoder.set_raw_mode_for(3);
    assert_eq!(decoder.mode(), LineMode::Raw { remaining: Some(3) });
    assert!(
        decoder.is_mid_frame(),
        "a raw run of announced length is under way"
    );
    let mut input = Input::new(b"ab");
    assert_eq!(decoder.decode(&mut input), Some(LineEvent::Raw(b"ab")));
    assert_eq!(decoder.mode(), LineMode::Raw { remaining: Some(1) });
    decoder.set_line_mode();
    assert_eq!(decoder.mode(), LineMode::Line);
}

/// The one-piece reference: split at each first delimiter; a line over the
/// limit is `TooLong`; so is an unfinished tail already past any chance.
fn model(data: &[u8], delimiter: &[u8], max: usize) -> Vec<Ev> {
    let mut events = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let found = data[at..].windows(delimiter.len()).position(|w| w == delimiter);
        let Some(len) = found else {
            if data.len() - at >= max + delimiter.len() {
                events.push(Ev::TooLong(data[at..=at + max].to_vec()));
            }
            break;
        };
        let text = &data[at..at + len];
        events.push(if len > max {
            Ev::TooLong(text[..=max].to_vec())
        } else {
            line(text)
        });
        at += len + delimiter.len();
    }
    events
}

#[test]
fn random_streams_agree_with_the_model_at_every_chunking() {
    let mut rng = SplitMix64::new(0x1ee7);
    let delimiters: [&[u8]; 5] = [b"\r\n", b"\n", b"XX", b"abab", b"\0\r\n"];
    let pieces: [&[u8]; 9] = [b"a", b"b", b"ab", b"X", b"\r", b"\n", b"\r\n", b"\0", b"hello "];
    for round in 0..1500 {
        let delimiter = *rng.pick(&delimiters);
        let max = rng.below(12);
        let len = rng.below(60);
        let data: Vec<u8> = (0..len).flat_map(|_| rng.pick(&pieces).to_vec()).collect();
        let decoder = LineDecoder::new().with_delimiter(delimiter).with_max_length(max);
        let expected = model(&data, delimiter, max);
        let sizes = [1, 2, 3, rng.below(data.len() + 1).max(1), data.len().max(1)];
        for size in sizes {
            let events = Driver::run(decoder.clone(), &mut data.chunks(size));
            assert_eq!(
                events,
                expected,
                "round {round}: {:?} split {delimiter:?} max {max} in chunks of {size}",
                data.escape_ascii().to_string()
            );
        }
    }
}

#[test]
fn random_mode_switches_and_pauses_do_not_depend_on_the_chunking() {
    let mut rng = SplitMix64::new(42);
    let pieces: [&[u8]; 10] = [
        b"RAW 3\r\n",
        b"RAW 1\r\n",
        b"PAUSE\r\n",
        b"RAWEND\r\n",
        b"END",
        b"E",
        b"\r\n",
        b"\r",
        b"x",
        b"long line",
    ];
    for _ in 0..300 {
        let data: Vec<u8> = (0..rng.below(24))
            .flat_map(|_| rng.pick(&pieces).to_vec())
            .collect();
        let decoder = LineDecoder::new().with_max_length(rng.below(20) + 3);
        let events = every_chunking(&decoder, &data);
        let raw_bytes: usize = events
            .iter()
            .map(|e| if let Ev::Raw(r) = e { r.len() } else { 0 })
            .sum();
        assert!(raw_bytes <= data.len());
    }
}
