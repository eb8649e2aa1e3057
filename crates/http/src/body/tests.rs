use super::*;
use crate::error::SendError;

/// The body, the trailer fields, and the input bytes left after the end.
type Outcome = Result<(Vec<u8>, Vec<(String, Vec<u8>)>, usize), ErrorKind>;

/// Feeds `chunks` through a decoder the way a connection does: unconsumed
/// bytes wait in a buffer for the next chunk.
fn decode_chunks(
    framing: BodyFraming,
    limits: BodyLimits,
    chunks: &mut dyn Iterator<Item = &[u8]>,
    closed: bool,
) -> Outcome {
    let mut decoder = BodyDecoder::new(framing, limits);
    let mut pending = Vec::new();
    let mut body = Vec::new();
    while let Some(chunk) = chunks.next() {
        pending.extend_from_slice(chunk);
        loop {
            match decoder.decode(&pending).map_err(|e| e.kind())? {
                Decoded::Data { consumed, data } => {
                    body.extend_from_slice(data);
                    pending.drain(..consumed);
                }
                Decoded::NeedMore { consumed } => {
                    pending.drain(..consumed);
                    break;
                }
                Decoded::End { consumed, trailers } => {
                    pending.drain(..consumed);
                    let fields = trailers.iter().map(|(n, v)| (n.to_owned(), v.to_vec())).collect();
                    let left: usize = pending.len() + (&mut *chunks).map(<[u8]>::len).sum::<usize>();
                    return Ok((body, fields, left));
                }
            }
        }
    }
    if closed {
        decoder.finish_at_close().map_err(|e| e.kind())?;
        return Ok((body, Vec::new(), pending.len()));
    }
    Err(ErrorKind::IncompleteBody)
}

fn chunked_at_every_split(input: &[u8]) -> Outcome {
    gyre_testing::assert_chunking_invariant(input, |chunks| {
        decode_chunks(BodyFraming::Chunked, BodyLimits::default(), chunks, false)
    })
}

#[test]
fn chunked_bodies_decode_the_same_at_every_split() {
    let (body, trailers, left) =
        chunked_at_every_split(b"5;name=\"va;l\"\r\nhello\r\n1 ; x\r\n \r\nA\r\n0123456789\r\n0\r\n\r\nNEXT")
            .unwrap();
    assert_eq!(
        (body.as_slice(), trailers.len(), left),
        (&b"hello 0123456789"[..], 0, 4)
    );
    let (body, trailers, _) = chunked_at_every_split(b"3\r\nabc\r\n000\r\nX-Sum: 1\r\nY: 2\r\n\r\n").unwrap();
    assert_eq!(body, b"abc");
    assert_eq!(
        trailers,
        [
            ("X-Sum".to_owned(), b"1".to_vec()),
            ("Y".to_owned(), b"2".to_vec())
        ]
    );
    let (body, _, _) = chunked_at_every_split(b"00000000000000000000003\r\nabc\r\n0\r\n\r\n").unwrap();
    assert_eq!(body, b"abc", "leading zeros do not overflow");
}

#[test]
fn malformed_chunked_bodies() {
    let table: &[(&[u8], ErrorKind)] = &[
        (b"x\r\n", ErrorKind::InvalidChunkSize),
        (b"\r\n", ErrorKind::InvalidChunkSize),
        (b";ext\r\n", ErrorKind::InvalidChunkSize),
        (b"-1\r\n", ErrorKind::InvalidChunkSize),
        (b"0x5\r\n", ErrorKind::InvalidChunkSize),
        (b"5\n", ErrorKind::InvalidChunkSize),
        (b"5\rx", ErrorKind::BareCr),
        (b"5;a\x01\r\n", ErrorKind::InvalidChunkSize),
        (b"10000000000000000\r\n", ErrorKind::ChunkSizeOverflow),
        (b"ffffffffffffffff0\r\n", ErrorKind::ChunkSizeOverflow),
        (b"3\r\nabcd\r\n", ErrorKind::InvalidChunkDelimiter),
        (b"3\r\nabc\n0\r\n\r\n", ErrorKind::InvalidChunkDelimiter),
        (b"3\r\nabc\r\r\n", ErrorKind::InvalidChunkDelimiter),
        (b"0\r\nX: 1\n\n", ErrorKind::InvalidTrailers),
        (b"0\r\nX : 1\r\n\r\n", ErrorKind::InvalidTrailers),
        (b"0\r\n folded\r\n\r\n", ErrorKind::InvalidTrailers),
        (b"0\r\n\rx", ErrorKind::BareCr),
    ];
    for (input, expected) in table {
        assert_eq!(
            chunked_at_every_split(input),
            Err(*expected),
            "{}",
            input.escape_ascii()
        );
    }
}

#[test]
fn chunked_limits() {
    let limits = BodyLimits {
        max_body: Some(10),
        max_chunk_line: 8,
        max_trailers: 16,
        max_trailer_fields: 1,
    };
    let run = |input: &[u8]| decode_chunks(BodyFraming::Chunked, limits, &mut std::iter::once(input), false);
    assert_eq!(
        run(b"5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n").map(|r| r.0),
        Ok(b"helloworld".to_vec())
    );
    assert_eq!(run(b"5\r\nhello\r\n6\r\n").unwrap_err(), ErrorKind::BodyTooLarge);
    assert_eq!(run(b"1;abcdefgh\r\n").unwrap_err(), ErrorKind::ChunkLineTooLong);
    assert_eq!(run(b"000000001\r\n").unwrap_err(), ErrorKind::ChunkLineTooLong);
    assert_eq!(
        run(b"0\r\nA: 1\r\nB: 2\r\n\r\n").unwrap_err(),
        ErrorKind::InvalidTrailers
    );
    assert_eq!(
        run(b"0\r\nA: 12345678901234\r\n").unwrap_err(),
        ErrorKind::InvalidTrailers,
        "refused before the end"
    );
}

#[test]
fn length_and_close_delimited_bodies() {
    let input = b"hello world";
    let length = gyre_testing::assert_chunking_invariant(input, |chunks| {
        decode_chunks(BodyFraming::Length(5), BodyLimits::default(), chunks, false)
    });
    assert_eq!(length, Ok((b"hello".to_vec(), vec![], 6)));
    let close = gyre_testing::assert_chunking_invariant(input, |chunks| {
        decode_chunks(BodyFraming::UntilClose, BodyLimits::default(), chunks, true)
    });
    assert_eq!(close, Ok((input.to_vec(), vec![], 0)));
    let truncated = decode_chunks(
        BodyFraming::Length(50),
        BodyLimits::default(),
        &mut std::iter::once(&input[..]),
        true,
    );
    assert_eq!(truncated, Err(ErrorKind::IncompleteBody));
    let empty = decode_chunks(
        BodyFraming::Empty,
        BodyLimits::default(),
        &mut std::iter::once(&b"x"[..]),
        false,
    );
    assert_eq!(empty, Ok((vec![], vec![], 1)));
}

#[test]
fn encoders_hold_to_their_framing() {
    let mut out = Vec::new();
    let mut length = BodyEncoder::new(BodyFraming::Length(5));
    length.encode(b"hel", &mut out).unwrap();
    assert_eq!(
        length.encode(b"lo!", &mut out),
        Err(SendError::BodyTooLong { declared: 5 })
    );
    assert_eq!(
        length.finish(&HeaderMap::new(), &mut out),
        Err(SendError::BodyTooShort { missing: 2 })
    );
    length.encode(b"lo", &mut out).unwrap();
    length.finish(&HeaderMap::new(), &mut out).unwrap();
    assert_eq!(out, b"hello");
    assert!(length.encode(b"x", &mut out).is_err());

    out.clear();
    let mut chunked = BodyEncoder::new(BodyFraming::Chunked);
    chunked.encode(&[b'x'; 300], &mut out).unwrap();
    chunked.encode(b"", &mut out).unwrap();
    chunked.finish(&HeaderMap::new(), &mut out).unwrap();
    assert!(out.starts_with(b"12c\r\nxxx"));
    assert!(out.ends_with(b"xx\r\n0\r\n\r\n"));
    // What the encoder writes, the decoder reads back.
    let decoded = decode_chunks(
        BodyFraming::Chunked,
        BodyLimits::default(),
        &mut std::iter::once(&out[..]),
        false,
    );
    assert_eq!(decoded.unwrap().0, vec![b'x'; 300]);

    let mut forbidden = BodyEncoder::new(BodyFraming::Empty);
    assert_eq!(forbidden.encode(b"x", &mut out), Err(SendError::BodyNotAllowed));
    let mut head = BodyEncoder::discard();
    let before = out.len();
    head.encode(b"dropped", &mut out).unwrap();
    assert_eq!(out.len(), before);
}
