//! Arbitrary bytes as a chunked body, fed whole and split in two at a
//! point taken from the input: never a panic, and both feedings agree.
#![no_main]

use gyre_http::body::{BodyDecoder, BodyFraming, BodyLimits, Decoded};
use libfuzzer_sys::fuzz_target;

fn decode(chunks: &[&[u8]]) -> Result<(Vec<u8>, bool), gyre_http::ErrorKind> {
    let mut decoder = BodyDecoder::new(BodyFraming::Chunked, BodyLimits::default());
    let (mut pending, mut body) = (Vec::new(), Vec::new());
    for chunk in chunks {
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
                Decoded::End { .. } => return Ok((body, true)),
            }
        }
    }
    Ok((body, false))
}

fuzz_target!(|input: &[u8]| {
    let split = input.first().map_or(0, |&b| b as usize % (input.len() + 1));
    let whole = decode(&[input]);
    let halves = decode(&[&input[..split], &input[split..]]);
    assert_eq!(whole, halves);
});
