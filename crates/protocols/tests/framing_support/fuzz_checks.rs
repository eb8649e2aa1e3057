//! The checks of the framing fuzz targets, shared by the cargo-fuzz targets
//! in `fuzz/fuzz_targets/framing_*.rs` (which include this file) and the
//! stable smoke test `tests/fuzz_smoke_framing.rs`. Each takes arbitrary
//! bytes: the first few choose the configuration and a chunk size, the rest
//! is the stream. Nothing may panic; the result must not depend on how the
//! stream is split; every frame must respect the limits; the buffer must
//! stay bounded; and what was decoded must re-encode and decode the same.

use gyre_protocols::framing::{
    Input, IntDecoder, IntEvent, LineDecoder, LineEvent, NetstringDecoder, NetstringError, Prefix,
    encode_netstring, encode_string,
};

/// Splits `data` into (configuration bytes, stream).
fn split<const N: usize>(data: &[u8]) -> ([u8; N], &[u8]) {
    let mut config = [0; N];
    let n = data.len().min(N);
    config[..n].copy_from_slice(&data[..n]);
    (config, &data[n..])
}

#[derive(Debug, PartialEq, Eq)]
enum LineOut {
    Line(Vec<u8>),
    Raw(Vec<u8>),
    TooLong(Vec<u8>),
}

/// Decodes `stream` in chunks of `size`; a line `R<digit>` switches to raw
/// mode for that many bytes.
fn lines(decoder: &LineDecoder, stream: &[u8], size: usize) -> Vec<LineOut> {
    let mut decoder = decoder.clone();
    let max = decoder.max_length();
    let dlen = decoder.delimiter().len();
    let mut out: Vec<LineOut> = Vec::new();
    for chunk in stream.chunks(size) {
        let mut input = Input::new(chunk);
        while let Some(event) = decoder.decode(&mut input) {
            match event {
                LineEvent::Line(line) => {
                    assert!(line.len() <= max, "a line over the limit");
                    let switch = match line {
                        [b'R', digit @ b'0'..=b'9'] => Some(u64::from(digit - b'0')),
                        _ => None,
                    };
                    out.push(LineOut::Line(line.to_vec()));
                    if let Some(len) = switch {
                        decoder.set_raw_mode_for(len);
                    }
                }
                LineEvent::Raw(data) => match out.last_mut() {
                    Some(LineOut::Raw(run)) => run.extend_from_slice(data),
                    _ => out.push(LineOut::Raw(data.to_vec())),
                },
                LineEvent::TooLong(line) => {
                    assert!(line.len() > max, "a too-long line within the limit");
                    out.push(LineOut::TooLong(line[..=max].to_vec()));
                }
            }
        }
        assert!(input.is_empty());
        assert!(
            decoder.buffered().len() < max + dlen,
            "{} bytes kept",
            decoder.buffered().len()
        );
    }
    out
}

/// The line decoder target.
pub fn line_decoder(data: &[u8]) {
    let ([which, max, size], stream) = split::<3>(data);
    let delimiter: &[u8] = match which % 4 {
        0 => b"\r\n",
        1 => b"\n",
        2 => b"ab",
        _ => b"XYX",
    };
    let decoder = LineDecoder::new()
        .with_delimiter(delimiter)
        .with_max_length(usize::from(max % 64));
    let whole = lines(&decoder, stream, stream.len().max(1));
    assert_eq!(lines(&decoder, stream, 1), whole, "byte by byte");
    assert_eq!(
        lines(&decoder, stream, usize::from(size % 17) + 1),
        whole,
        "chunked"
    );
    for event in &whole {
        if let LineOut::Line(line) = event {
            assert!(
                !line.windows(delimiter.len()).any(|w| w == delimiter),
                "a delimiter inside a line"
            );
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum IntOut {
    String(Vec<u8>),
    TooLong(u64),
}

fn int_strings(decoder: &IntDecoder, stream: &[u8], size: usize) -> Vec<IntOut> {
    let mut decoder = decoder.clone();
    let max = decoder.max_length();
    let bound = decoder.prefix().width() + max;
    let mut out = Vec::new();
    for chunk in stream.chunks(size) {
        let mut input = Input::new(chunk);
        while let Some(event) = decoder.decode(&mut input) {
            out.push(match event {
                IntEvent::String(string) => {
                    assert!(string.len() <= max);
                    IntOut::String(string.to_vec())
                }
                IntEvent::TooLong { length } => {
                    assert!(length > max as u64);
                    IntOut::TooLong(length)
                }
            });
        }
        assert!(
            decoder.buffered().len() <= bound,
            "{} bytes kept",
            decoder.buffered().len()
        );
    }
    out
}

/// The length-prefixed decoder target.
pub fn int_decoder(data: &[u8]) {
    let ([which, max, size], stream) = split::<3>(data);
    let prefix = [Prefix::U8, Prefix::U16, Prefix::U32][usize::from(which % 3)];
    let decoder = IntDecoder::new(prefix).with_max_length(usize::from(max) * 4);
    let whole = int_strings(&decoder, stream, stream.len().max(1));
    assert_eq!(int_strings(&decoder, stream, 1), whole, "byte by byte");
    assert_eq!(
        int_strings(&decoder, stream, usize::from(size % 13) + 1),
        whole,
        "chunked"
    );
    let mut encoded = Vec::new();
    let strings: Vec<IntOut> = whole
        .into_iter()
        .filter(|e| matches!(e, IntOut::String(_)))
        .collect();
    for event in &strings {
        if let IntOut::String(string) = event {
            encode_string(prefix, string, &mut encoded).expect("decoded strings fit their prefix");
        }
    }
    assert_eq!(int_strings(&decoder, &encoded, 7), strings, "re-encoded");
}

fn netstrings(
    decoder: &NetstringDecoder,
    stream: &[u8],
    size: usize,
) -> (Vec<Vec<u8>>, Option<NetstringError>) {
    let mut decoder = decoder.clone();
    let max = decoder.max_length();
    let mut strings = Vec::new();
    for chunk in stream.chunks(size) {
        let mut input = Input::new(chunk);
        loop {
            match decoder.decode(&mut input) {
                Ok(Some(string)) => {
                    assert!(string.len() <= max);
                    strings.push(string.to_vec());
                }
                Ok(None) => break,
                Err(error) => {
                    assert!(decoder.is_failed());
                    return (strings, Some(error));
                }
            }
        }
        assert!(decoder.buffered().len() <= max + 1);
    }
    (strings, None)
}

/// The netstring decoder target.
pub fn netstring_decoder(data: &[u8]) {
    let ([max, size], stream) = split::<2>(data);
    let decoder = NetstringDecoder::new().with_max_length(usize::from(max) * 2);
    let whole = netstrings(&decoder, stream, stream.len().max(1));
    assert_eq!(netstrings(&decoder, stream, 1), whole, "byte by byte");
    assert_eq!(
        netstrings(&decoder, stream, usize::from(size % 13) + 1),
        whole,
        "chunked"
    );
    let mut encoded = Vec::new();
    for string in &whole.0 {
        encode_netstring(string, &mut encoded);
    }
    assert_eq!(netstrings(&decoder, &encoded, 5), (whole.0, None), "re-encoded");
}
