//! The stable-Rust stand-ins for the fuzz targets `http_resource_cookie`
//! and `http_resource_path`: thousands of seeded mutated and random
//! inputs. Nothing may panic; parsed cookies are tokens that re-parse
//! equal; accepted paths hold no dot segment or NUL and re-encode to the
//! same segments; `SetCookie` output parses back to its pair.

use gyre_http::resource::{SetCookie, parse_cookies, split_path};
use gyre_testing::fuzz_smoke::run_smoke;

const COOKIES: &[&[u8]] = &[
    b"a=1; b=2",
    b"GYRE_SESSION=0123456789abcdef; theme=\"dark\"",
    b"  x = y ;;; =z; w",
    b"n=v=w; m=",
];

const COOKIE_PIECES: &[&[u8]] = &[
    b";",
    b"=",
    b" ",
    b"\"",
    b"\t",
    b",",
    b"a",
    b"Z9",
    b"\xc3\xa9",
    b"\x00",
    b"\r\n",
    b"()",
    b"GYRE_SESSION",
];

const PATHS: &[&[u8]] = &[
    b"/",
    b"/a/b/c",
    b"/a/../b/./c/",
    b"/%2e%2E/x",
    b"/a%2Fb/%41%c3%a9",
    b"//x//",
];

const PATH_PIECES: &[&[u8]] = &[
    b"/",
    b".",
    b"..",
    b"%",
    b"%2",
    b"%2f",
    b"%2F",
    b"%2e",
    b"%00",
    b"%ff",
    b"%c3%a9",
    b"a",
    b"\\",
    b"?",
    b"\xc3\xa9",
];

fn encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || b"-_~".contains(&byte) {
                (byte as char).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

fn check_cookies(input: &[u8]) {
    let Ok(header) = std::str::from_utf8(input) else {
        return;
    };
    let cookies = parse_cookies(header);
    assert!(cookies.len() <= 256);
    for (name, value) in &cookies {
        assert!(!name.is_empty() && !name.contains([';', '=', ' ']), "{name:?}");
        assert!(!value.contains(';'));
        if let Ok(cookie) = SetCookie::new(name, value) {
            assert_eq!(
                parse_cookies(&cookie.to_string()),
                [(name.clone(), value.clone())]
            );
        }
    }
    let plain: Vec<(String, String)> = cookies
        .into_iter()
        .filter(|(_, value)| !value.contains('"') && value.trim() == value)
        .collect();
    let joined: Vec<String> = plain
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    assert_eq!(parse_cookies(&joined.join("; ")), plain, "{header:?}");
}

fn check_path(input: &[u8]) {
    let Ok(path) = std::str::from_utf8(input) else {
        return;
    };
    let Ok(segments) = split_path(path) else {
        return;
    };
    for segment in &segments {
        assert!(
            segment != "." && segment != ".." && !segment.contains('\0'),
            "{path:?}"
        );
    }
    let encoded: Vec<String> = segments.iter().map(|segment| encode(segment)).collect();
    assert_eq!(
        split_path(&format!("/{}", encoded.join("/"))).unwrap(),
        segments,
        "{path:?}"
    );
}

#[test]
fn cookie_parser_survives_mutations_and_round_trips() {
    let mut parsed = 0;
    run_smoke(0xC00C1E, 20_000, COOKIES, COOKIE_PIECES, |input| {
        check_cookies(input);
        parsed += usize::from(std::str::from_utf8(input).is_ok_and(|h| !parse_cookies(h).is_empty()));
    });
    assert!(parsed > 1000, "the inputs exercised the parser ({parsed})");
}

#[test]
fn path_splitter_survives_mutations_and_round_trips() {
    let (mut accepted, mut refused) = (0, 0);
    run_smoke(0x9A7B, 20_000, PATHS, PATH_PIECES, |input| {
        check_path(input);
        match std::str::from_utf8(input).map(split_path) {
            Ok(Ok(_)) => accepted += 1,
            Ok(Err(_)) => refused += 1,
            Err(_) => {}
        }
    });
    assert!(
        accepted > 1000 && refused > 1000,
        "both outcomes exercised ({accepted}, {refused})"
    );
}
