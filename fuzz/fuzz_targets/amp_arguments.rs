//! Feeds arbitrary bytes to every AMP argument decoder (Integer, Float,
//! Boolean, Unicode, Decimal, DateTime, ListOf, AmpList) and to a typed
//! struct decoded from boxes: nothing may panic, and whatever decodes must
//! encode and decode back to the same wire form. The stable-Rust smoke
//! version of this is `crates/protocols/tests/fuzz_smoke_amp.rs`.
#![no_main]

use gyre_protocols::amp::{
    AmpList, Argument, BoxLimits, DateTime, Decimal, DecodeContext, EncodeContext, Fields, decode_boxes,
};
use libfuzzer_sys::fuzz_target;

gyre_protocols::amp_fields! {
    /// A row with one field of each kind.
    struct Row {
        i: i64,
        f: Option<f64>,
        d: Option<Decimal>,
        t: Option<DateTime>,
        l: Option<Vec<String>>,
    }
}

/// Decodes `bytes` as `T`; if that works, its encoding must decode to the
/// same encoding again.
fn stable<T: Argument>(bytes: &[u8]) {
    let Ok(value) = T::decode(bytes, &mut DecodeContext::default()) else {
        return;
    };
    let encoded = value
        .encode(&mut EncodeContext::default())
        .expect("a decoded value encodes");
    let again = T::decode(&encoded, &mut DecodeContext::default()).expect("an encoded value decodes");
    let twice = again
        .encode(&mut EncodeContext::default())
        .expect("encodes again");
    assert_eq!(encoded, twice);
}

fuzz_target!(|data: &[u8]| {
    stable::<i64>(data);
    stable::<u128>(data);
    stable::<f64>(data);
    stable::<bool>(data);
    stable::<String>(data);
    stable::<Decimal>(data);
    stable::<DateTime>(data);
    stable::<Vec<i64>>(data);
    stable::<Vec<Vec<u8>>>(data);
    stable::<AmpList<Row>>(data);
    if let Ok(boxes) = decode_boxes(data, BoxLimits::default()) {
        for fields in &boxes {
            let _ = Row::decode_fields(fields, &mut DecodeContext::default());
        }
    }
});
