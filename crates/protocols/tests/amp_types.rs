//! Every AMP argument type against the bytes Twisted itself produced
//! (`amp_support/golden.rs`), both ways, plus seeded round trips and the
//! values each type must refuse.

mod amp_support;

use amp_support::{Row, golden};
use gyre_protocols::amp::{
    AmpBox, AmpList, Argument, ArgumentError, DateTime, Decimal, DecodeContext, EncodeContext, Fields,
    ValueError,
};
use gyre_testing::fuzz_smoke::SplitMix64;

fn encode<T: Argument>(value: T) -> Vec<u8> {
    value.encode(&mut EncodeContext::default()).unwrap()
}

fn decode<T: Argument>(bytes: &[u8]) -> Result<T, ValueError> {
    T::decode(bytes, &mut DecodeContext::default())
}

#[test]
fn integers_match_twisted() {
    for (text, wire) in golden::INTEGERS {
        let value: i128 = text.parse().unwrap();
        assert_eq!(encode(value), *wire, "{text}");
        assert_eq!(decode::<i128>(wire).unwrap(), value);
        if let Ok(small) = i64::try_from(value) {
            assert_eq!(encode(small), *wire);
            assert_eq!(decode::<i64>(wire).unwrap(), small);
        } else {
            assert!(
                decode::<i64>(wire).unwrap_err().detail.contains("out of range"),
                "{text}"
            );
        }
    }
    assert_eq!(decode::<u64>(b"18446744073709551615").unwrap(), u64::MAX);
    for bad in [&b""[..], b" 1", b"1 ", b"0x10", b"1_000", b"--1", b"1.0", b"\xff"] {
        assert!(
            decode::<i64>(bad).is_err(),
            "{:?}",
            bad.escape_ascii().to_string()
        );
    }
    assert!(decode::<i8>(b"128").is_err());
    assert!(decode::<u16>(b"-1").is_err());
}

#[test]
fn floats_match_pythons_repr_for_hundreds_of_values() {
    assert!(golden::FLOATS.len() > 400);
    for &(bits, wire) in golden::FLOATS {
        let value = f64::from_bits(bits);
        assert_eq!(
            encode(value),
            wire,
            "{value:e} should be {}",
            String::from_utf8_lossy(wire)
        );
        let back: f64 = decode(wire).unwrap();
        assert!(
            back.to_bits() == bits || (back.is_nan() && value.is_nan()),
            "{value:e}"
        );
    }
    assert!(decode::<f64>(b"nan").unwrap().is_nan());
    assert_eq!(decode::<f64>(b"-inf").unwrap(), f64::NEG_INFINITY);
    assert!(decode::<f64>(b"one").is_err());
}

#[test]
fn booleans_text_and_bytes_match_twisted() {
    for &(value, wire) in golden::BOOLEANS {
        assert_eq!(encode(value), wire);
        assert_eq!(decode::<bool>(wire).unwrap(), value);
    }
    for bad in [&b"true"[..], b"1", b"", b"TRUE"] {
        assert!(decode::<bool>(bad).is_err());
    }
    for &(text, wire) in golden::UNICODE {
        assert_eq!(encode(text.to_owned()), wire);
        assert_eq!(decode::<String>(wire).unwrap(), text);
    }
    assert!(decode::<String>(b"\xff").is_err());
    assert!(
        decode::<String>(b"\xed\xa0\x80").is_err(),
        "surrogates are not UTF-8"
    );
    assert_eq!(decode::<Vec<u8>>(b"\x00\xff").unwrap(), b"\x00\xff");
    let path = std::path::PathBuf::from("/tmp/h\u{e9}llo");
    assert_eq!(encode(path.clone()), "/tmp/h\u{e9}llo".as_bytes());
    assert_eq!(
        decode::<std::path::PathBuf>("/tmp/h\u{e9}llo".as_bytes()).unwrap(),
        path
    );
}

#[test]
fn decimals_match_pythons_str_including_special_values() {
    for &(input, wire) in golden::DECIMALS {
        let value: Decimal = input.parse().unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(encode(value.clone()), wire, "Decimal({input:?})");
        let back: Decimal = decode(wire).unwrap();
        assert_eq!(back, value, "{input}");
    }
    let nan: Decimal = "-sNaN123".parse().unwrap();
    assert!(nan.is_signaling_nan() && nan.is_sign_negative());
    assert_eq!("1.50".parse::<Decimal>().unwrap().to_f64(), 1.5);
    assert_eq!(
        "-Infinity".parse::<Decimal>().unwrap().to_f64(),
        f64::NEG_INFINITY
    );
    assert_eq!(Decimal::new(-150, -2).to_string(), "-1.50");
    for bad in [
        "",
        ".",
        "1..2",
        "1e",
        "e5",
        "1e+",
        "NaNx",
        "Infinit",
        "--1",
        "1 ",
        "0x1",
        "1e99999999999999999999",
    ] {
        assert!(bad.parse::<Decimal>().is_err(), "{bad:?}");
    }
}

#[test]
fn datetimes_match_twisted_including_its_minus_zero_offset() {
    for &((year, month, day, hour, minute, second, micro), offset, wire) in golden::DATETIMES {
        let value = DateTime::utc(year, month, day, hour, minute, second)
            .unwrap()
            .with_microsecond(micro)
            .unwrap()
            .with_offset_minutes(offset)
            .unwrap();
        assert_eq!(encode(value), wire);
        assert_eq!(decode::<DateTime>(wire).unwrap(), value);
    }
    // "+00:00" (which Twisted never writes) reads as UTC too.
    let utc = decode::<DateTime>(b"2012-01-23T12:34:56.054321+00:00").unwrap();
    assert_eq!(utc.offset_minutes(), 0);
    assert!(decode::<DateTime>(b"2012-01-23T12:34:56.054321").is_err());
    let now = std::time::SystemTime::now();
    let round = DateTime::from_system_time(now).unwrap().to_system_time();
    let drift = now.duration_since(round).unwrap_or_default();
    assert!(drift < std::time::Duration::from_micros(1), "{drift:?}");
}

#[test]
fn lists_and_amp_lists_match_twisted() {
    assert_eq!(encode(vec![3_i64, 7, 9, 15]), golden::LIST_OF_INTEGERS);
    assert_eq!(
        decode::<Vec<i64>>(golden::LIST_OF_INTEGERS).unwrap(),
        [3, 7, 9, 15]
    );
    assert_eq!(encode(Vec::<i64>::new()), golden::LIST_OF_NOTHING);
    let texts = vec!["a".to_owned(), "\u{fc}".to_owned(), String::new()];
    assert_eq!(encode(texts.clone()), golden::LIST_OF_UNICODE);
    assert_eq!(decode::<Vec<String>>(golden::LIST_OF_UNICODE).unwrap(), texts);
    let rows = AmpList(vec![
        Row {
            a: 7,
            b: "hello".into(),
        },
        Row {
            a: 9,
            b: "goodbye".into(),
        },
    ]);
    assert_eq!(encode(rows.clone()), golden::AMP_LIST);
    assert_eq!(decode::<AmpList<Row>>(golden::AMP_LIST).unwrap(), rows);

    gyre_protocols::amp_fields! {
        /// A row whose only field is optional.
        #[derive(Debug, Clone, PartialEq)]
        struct Sparse { a: Option<i64> }
    }
    let sparse = AmpList(vec![Sparse { a: None }, Sparse { a: Some(3) }]);
    assert_eq!(encode(sparse.clone()), golden::AMP_LIST_OPTIONAL);
    assert_eq!(
        decode::<AmpList<Sparse>>(golden::AMP_LIST_OPTIONAL).unwrap(),
        sparse
    );

    for bad in [&b"\x00"[..], b"\x00\x05ab", b"\x00\x01x"] {
        assert!(
            decode::<Vec<i64>>(bad).is_err(),
            "{:?}",
            bad.escape_ascii().to_string()
        );
    }
    assert!(
        decode::<AmpList<Row>>(b"\x00\x01a\x00\x017").is_err(),
        "truncated row"
    );
    assert!(
        decode::<AmpList<Row>>(b"\x00\x01a\x00\x017\x00\x00").is_err(),
        "row without b"
    );
    let too_long = vec![vec![0_u8; 65536]];
    assert!(too_long.encode(&mut EncodeContext::default()).is_err());
}

#[test]
fn fields_report_missing_invalid_and_oversized_arguments() {
    let mut arguments = AmpBox::new();
    arguments.insert("a", "1");
    let error = amp_support::Pair::decode_fields(&arguments, &mut DecodeContext::default()).unwrap_err();
    assert_eq!(error, ArgumentError::Missing { key: "b" });
    arguments.insert("b", "two");
    let error = amp_support::Pair::decode_fields(&arguments, &mut DecodeContext::default()).unwrap_err();
    assert!(
        matches!(error, ArgumentError::Invalid { key: "b", .. }),
        "{error:?}"
    );
    let message = amp_support::Message {
        message: "x".repeat(65536),
    };
    let error = message
        .encode_fields(&mut AmpBox::new(), &mut EncodeContext::default())
        .unwrap_err();
    assert_eq!(
        error,
        ArgumentError::TooLong {
            key: "message",
            length: 65536
        }
    );
    // Unknown keys are ignored, as in Twisted.
    arguments.insert("b", "2");
    arguments.insert("extra", "ignored");
    let pair = amp_support::Pair::decode_fields(&arguments, &mut DecodeContext::default()).unwrap();
    assert_eq!((pair.a, pair.b), (1, 2));
}

#[cfg(unix)]
#[test]
fn a_descriptor_needs_a_connection_that_received_it() {
    let error = decode::<std::os::fd::OwnedFd>(b"0").unwrap_err();
    assert!(error.detail.contains("no file descriptor 0"), "{error}");
    assert!(decode::<std::os::fd::OwnedFd>(b"x").is_err());
    let (reader, _writer) = std::io::pipe().unwrap();
    let mut context = EncodeContext::new(5);
    assert_eq!(
        std::os::fd::OwnedFd::from(reader).encode(&mut context).unwrap(),
        b"5"
    );
    assert_eq!(context.descriptor_count(), 1);
}

#[test]
fn seeded_values_of_every_type_round_trip() {
    let mut rng = SplitMix64::new(0xA4B);
    for _ in 0..3000 {
        let integer = rng.next_u64() as i64;
        assert_eq!(decode::<i64>(&encode(integer)).unwrap(), integer);
        let float = f64::from_bits(rng.next_u64());
        let back: f64 = decode(&encode(float)).unwrap();
        assert!(back.to_bits() == float.to_bits() || float.is_nan());
        let text: String = (0..rng.below(20))
            .map(|_| char::from_u32(rng.below(0x11_0000) as u32).unwrap_or('?'))
            .collect();
        assert_eq!(decode::<String>(&encode(text.clone())).unwrap(), text);
        let decimal = Decimal::new(
            i128::from(rng.next_u64() as i64) * if rng.below(2) == 0 { 1 } else { 1_000_000_007 },
            rng.below(60) as i64 - 30,
        );
        assert_eq!(decode::<Decimal>(&encode(decimal.clone())).unwrap(), decimal);
        let micros = (rng.next_u64() % 253_402_300_799_000_000) as i64 - 62_135_596_800_000_000 / 2;
        let offset = rng.below(2 * 1439 + 1) as i16 - 1439;
        if let Ok(time) = DateTime::from_unix_micros(micros, offset) {
            assert_eq!(decode::<DateTime>(&encode(time)).unwrap(), time);
            assert_eq!(time.unix_micros(), micros);
        }
        let list: Vec<u32> = (0..rng.below(8)).map(|_| rng.next_u64() as u32).collect();
        assert_eq!(decode::<Vec<u32>>(&encode(list.clone())).unwrap(), list);
    }
}
