//! The sans-IO length-prefixed and netstring decoders fed at every chunk
//! size: round trips with the encoders, holding while paused, too-long
//! prefixes skipped without buffering, every malformed netstring with the
//! offset of the offending byte, and bounded memory.

use gyre_protocols::framing::{
    Input, IntDecoder, IntEvent, NetstringDecoder, NetstringError, NetstringErrorKind, Prefix,
    encode_netstring, encode_string,
};
use gyre_testing::assert_chunking_invariant;
use gyre_testing::fuzz_smoke::SplitMix64;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    String(Vec<u8>),
    TooLong(u64),
}

/// Decodes every chunk; a string `PAUSE` makes it hold the rest of its
/// chunk and the next one before going on.
fn int_events(decoder: IntDecoder, chunks: &mut dyn Iterator<Item = &[u8]>) -> Vec<Ev> {
    let mut decoder = decoder;
    let mut events = Vec::new();
    let mut paused = false;
    let mut pump = |decoder: &mut IntDecoder, input: &mut Input<'_>, paused: &mut bool| loop {
        if *paused {
            return decoder.hold(input).expect("within max_buffered");
        }
        match decoder.decode(input) {
            None => return,
            Some(IntEvent::String(string)) => {
                *paused = string == b"PAUSE";
                events.push(Ev::String(string.to_vec()));
            }
            Some(IntEvent::TooLong { length }) => events.push(Ev::TooLong(length)),
        }
    };
    for chunk in chunks {
        let mut input = Input::new(chunk);
        if paused {
            decoder.hold(&mut input).unwrap();
            paused = false;
            pump(&mut decoder, &mut Input::new(&[]), &mut paused);
        } else {
            pump(&mut decoder, &mut input, &mut paused);
        }
        assert!(decoder.buffered().len() <= decoder.max_buffered());
    }
    while paused {
        paused = false;
        pump(&mut decoder, &mut Input::new(&[]), &mut paused);
    }
    events
}

fn frames(prefix: Prefix, strings: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for string in strings {
        encode_string(prefix, string, &mut out).unwrap();
    }
    out
}

#[test]
fn every_prefix_round_trips_at_every_chunk_size() {
    let long = vec![7; 300];
    for prefix in [Prefix::U8, Prefix::U16, Prefix::U32] {
        let strings: Vec<&[u8]> = match prefix {
            Prefix::U8 => vec![b"", b"a", b"PAUSE", &long[..255], b"end"],
            _ => vec![b"", b"a", b"PAUSE", &long, b"PAUSE", b"end"],
        };
        let input = frames(prefix, &strings);
        let events = assert_chunking_invariant(&input, |chunks| int_events(IntDecoder::new(prefix), chunks));
        let expected: Vec<Ev> = strings.iter().map(|s| Ev::String(s.to_vec())).collect();
        assert_eq!(events, expected, "{prefix:?}");
    }
}

#[test]
fn a_too_long_string_is_reported_and_skipped_by_counting() {
    let decoder = IntDecoder::new(Prefix::U16).with_max_length(10);
    let big = vec![b'x'; 5000];
    let input = frames(Prefix::U16, &[b"before", &big, b"PAUSE", &big, b"after"]);
    let events = assert_chunking_invariant(&input, |chunks| int_events(decoder.clone(), chunks));
    assert_eq!(
        events,
        [
            Ev::String(b"before".to_vec()),
            Ev::TooLong(5000),
            Ev::String(b"PAUSE".to_vec()),
            Ev::TooLong(5000),
            Ev::String(b"after".to_vec()),
        ]
    );
    // Skipping buffers nothing: the decoder never holds more than a prefix.
    let mut decoder = decoder;
    for chunk in frames(Prefix::U16, &[&big]).chunks(100) {
        let mut input = Input::new(chunk);
        while decoder.decode(&mut input).is_some() {}
        assert!(decoder.buffered().len() < 2);
    }
    assert!(!decoder.is_mid_frame(), "the skipped string is over");
}

#[test]
fn an_unfinished_string_is_buffered_up_to_its_length_only() {
    let mut decoder = IntDecoder::new(Prefix::U32).with_max_length(1000);
    let input = frames(Prefix::U32, &[&[1; 1000], b"next"]);
    for chunk in input.chunks(3) {
        let mut input = Input::new(chunk);
        while decoder.decode(&mut input).is_some() {}
        assert!(decoder.buffered().len() <= 1004);
    }
    assert!(!decoder.is_mid_frame());
}

#[test]
fn prefixes_encode_big_endian_and_refuse_what_they_cannot_announce() {
    assert_eq!(Prefix::U16.encode(0x0102).unwrap().as_bytes(), [1, 2]);
    assert_eq!(Prefix::U32.encode(0x0102_0304).unwrap().as_bytes(), [1, 2, 3, 4]);
    assert_eq!(Prefix::U8.encode(255).unwrap().as_bytes(), [255]);
    let error = Prefix::U8.encode(256).unwrap_err();
    assert_eq!((error.length, error.max), (256, 255));
    assert!(Prefix::U16.encode(65_536).is_err());
    assert_eq!(Prefix::U32.decode(&[0, 0, 1, 0, 9]), Some(256));
    assert_eq!(Prefix::U32.decode(&[0, 0, 1]), None);
    let mut out = b"kept".to_vec();
    assert!(encode_string(Prefix::U8, &[0; 300], &mut out).is_err());
    assert_eq!(out, b"kept", "nothing appended");
}

#[test]
fn random_int_streams_round_trip() {
    let mut rng = SplitMix64::new(16);
    for _ in 0..400 {
        let prefix = *rng.pick(&[Prefix::U8, Prefix::U16, Prefix::U32]);
        let max = rng.below(40);
        let strings: Vec<Vec<u8>> = (0..rng.below(8))
            .map(|_| (0..rng.below(60)).map(|_| rng.next_u64() as u8).collect())
            .collect();
        let refs: Vec<&[u8]> = strings.iter().map(Vec::as_slice).collect();
        let input = frames(prefix, &refs);
        let expected: Vec<Ev> = strings
            .iter()
            .map(|s| {
                if s.len() > max {
                    Ev::TooLong(s.len() as u64)
                } else {
                    Ev::String(s.clone())
                }
            })
            .collect();
        let decoder = IntDecoder::new(prefix).with_max_length(max);
        for size in [1, 2, 5, rng.below(input.len() + 1).max(1), input.len().max(1)] {
            assert_eq!(
                int_events(decoder.clone(), &mut input.chunks(size)),
                expected,
                "{prefix:?} max {max}"
            );
        }
    }
}

/// Decodes netstrings until the input ends or the stream fails.
fn netstrings(
    decoder: NetstringDecoder,
    chunks: &mut dyn Iterator<Item = &[u8]>,
) -> (Vec<Vec<u8>>, Option<NetstringError>) {
    let mut decoder = decoder;
    let mut strings = Vec::new();
    for chunk in chunks {
        let mut input = Input::new(chunk);
        loop {
            match decoder.decode(&mut input) {
                Ok(Some(string)) => strings.push(string.to_vec()),
                Ok(None) => break,
                Err(error) => {
                    assert_eq!(decoder.decode(&mut Input::new(b"1:a,")), Err(error), "sticky");
                    return (strings, Some(error));
                }
            }
        }
        assert!(decoder.buffered().len() <= decoder.max_length() + 1);
    }
    (strings, None)
}

#[test]
fn netstrings_round_trip_at_every_chunk_size() {
    let strings: [&[u8]; 5] = [b"hello world!", b"", b"with , and : inside", &[b'z'; 1000], b"0"];
    let mut input = Vec::new();
    for string in strings {
        encode_netstring(string, &mut input);
    }
    assert!(input.starts_with(b"12:hello world!,0:,19:"));
    let (decoded, error) =
        assert_chunking_invariant(&input, |chunks| netstrings(NetstringDecoder::new(), chunks));
    assert_eq!(error, None);
    assert_eq!(decoded, strings.map(<[u8]>::to_vec));
}

#[test]
fn every_malformed_netstring_fails_with_its_kind_and_offset() {
    use NetstringErrorKind::*;
    let cases: [(&[u8], NetstringErrorKind, u64); 9] = [
        (b"x:", NonDigitLength { byte: b'x' }, 0),
        (b"2:ok,12a:", NonDigitLength { byte: b'a' }, 7),
        (b":,", EmptyLength, 0),
        (b"01:a,", LeadingZero, 1),
        (b"0:,00:", LeadingZero, 4),
        (b"3:abc;", MissingComma { byte: b';' }, 5),
        (b"1:ab,", MissingComma { byte: b'b' }, 3),
        (b"100000:", TooLong { limit: 99_999 }, 5),
        (b"-1:", NonDigitLength { byte: b'-' }, 0),
    ];
    for (input, kind, offset) in cases {
        let (_, error) =
            assert_chunking_invariant(input, |chunks| netstrings(NetstringDecoder::new(), chunks));
        assert_eq!(
            error,
            Some(NetstringError::new(kind, offset)),
            "{}",
            input.escape_ascii()
        );
    }
    let huge = NetstringDecoder::new().with_max_length(usize::MAX);
    let (_, error) = netstrings(huge, &mut [&b"99999999999999999999:"[..]].into_iter());
    assert_eq!(error.map(|e| e.kind), Some(LengthOverflow));
    // The largest length that fits: refused, not a length + comma overflow.
    let mut huge = NetstringDecoder::new().with_max_length(usize::MAX);
    let error = huge
        .decode(&mut Input::new(b"18446744073709551615:x"))
        .unwrap_err();
    assert_eq!(
        error.kind,
        TooLong {
            limit: usize::MAX - 1
        }
    );
}

#[test]
fn a_too_long_netstring_is_refused_before_its_data_is_buffered() {
    let mut decoder = NetstringDecoder::new().with_max_length(100);
    let mut input = Input::new(b"1000");
    let error = decoder.decode(&mut input).unwrap_err();
    assert_eq!(error.kind, NetstringErrorKind::TooLong { limit: 100 });
    assert!(decoder.is_failed() && decoder.buffered().is_empty());
    assert!(error.to_string().contains("limit of 100"), "{error}");
}

#[test]
fn netstrings_held_while_paused_come_out_in_order() {
    let mut decoder = NetstringDecoder::new();
    let mut first = Input::new(b"3:abc,2:");
    assert_eq!(decoder.decode(&mut first), Ok(Some(&b"abc"[..])));
    decoder.hold(&mut first).unwrap();
    decoder.hold(&mut Input::new(b"de,1:f,1")).unwrap();
    assert!(decoder.is_mid_frame());
    let mut empty = Input::new(b"");
    assert_eq!(decoder.decode(&mut empty), Ok(Some(&b"de"[..])));
    assert_eq!(decoder.decode(&mut empty), Ok(Some(&b"f"[..])));
    assert_eq!(decoder.decode(&mut empty), Ok(None));
    assert_eq!(decoder.decode(&mut Input::new(b":g,")), Ok(Some(&b"g"[..])));
    assert!(!decoder.is_mid_frame());
}

#[test]
fn random_netstring_streams_do_not_depend_on_the_chunking() {
    let mut rng = SplitMix64::new(7);
    let pieces: [&[u8]; 10] = [
        b"0", b"1", b"9", b":", b",", b"3:abc,", b"x", b"12", b"0:,", b"5:",
    ];
    for _ in 0..500 {
        let data: Vec<u8> = (0..rng.below(20))
            .flat_map(|_| rng.pick(&pieces).to_vec())
            .collect();
        let decoder = NetstringDecoder::new().with_max_length(rng.below(30));
        assert_chunking_invariant(&data, |chunks| netstrings(decoder.clone(), chunks));
    }
}
