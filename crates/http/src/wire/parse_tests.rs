use super::*;

fn request(input: &[u8]) -> Result<Option<(RequestHead, usize)>, ErrorKind> {
    parse_request(input, &HeadLimits::default()).map_err(|e| e.kind())
}

fn request_error(input: &[u8]) -> ErrorKind {
    match request(input) {
        Err(kind) => kind,
        Ok(parsed) => panic!("{:?} parsed: {parsed:?}", input.escape_ascii().to_string()),
    }
}

#[test]
fn a_complete_request_head() {
    let (head, len) = request(b"POST http://h/x?y HTTP/1.0\r\nA: 1\r\nb:  2 \r\nA: 3\r\n\r\nrest")
        .unwrap()
        .unwrap();
    assert_eq!(len, 50);
    assert_eq!(head.method, Method::POST);
    assert_eq!(head.target.authority(), Some("h"));
    assert_eq!(head.version, Version::HTTP_10);
    assert_eq!(
        head.headers.iter().collect::<Vec<_>>(),
        [("A", &b"1"[..]), ("b", b"2"), ("A", b"3")]
    );
}

#[test]
fn bare_lf_line_ends_are_accepted_as_rfc_9112_allows() {
    let (head, len) = request(b"GET / HTTP/1.1\nHost: h\n\n").unwrap().unwrap();
    assert_eq!((head.headers.get("host"), len), (Some(&b"h"[..]), 24));
}

#[test]
fn malformed_heads_name_the_rule_they_broke() {
    let table: &[(&[u8], ErrorKind)] = &[
        (
            b"GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n",
            ErrorKind::ObsFold,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n\tfolded\r\n\r\n",
            ErrorKind::ObsFold,
        ),
        (
            b"GET / HTTP/1.1\r\nHost : h\r\n\r\n",
            ErrorKind::WhitespaceBeforeColon,
        ),
        (
            b"GET / HTTP/1.1\r\nHost\t: h\r\n\r\n",
            ErrorKind::WhitespaceBeforeColon,
        ),
        (
            b"GET / HTTP/1.1\r\nHo(st: h\r\n\r\n",
            ErrorKind::InvalidHeaderName,
        ),
        (b"GET / HTTP/1.1\r\n: h\r\n\r\n", ErrorKind::InvalidHeaderName),
        (b"GET / HTTP/1.1\r\nHost h\r\n\r\n", ErrorKind::InvalidHeaderName),
        (b"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", ErrorKind::BareCr),
        (b"GET / HTTP/1.1\rHost: a\r\n\r\n", ErrorKind::BareCr),
        (
            b"GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n",
            ErrorKind::InvalidHeaderValue,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a\x7f\r\n\r\n",
            ErrorKind::InvalidHeaderValue,
        ),
        (b"GET / HTTP/2.0\r\n\r\n", ErrorKind::UnsupportedVersion),
        (b"GET / HTTP/1.2\r\n\r\n", ErrorKind::UnsupportedVersion),
        (b"GET / http/1.1\r\n\r\n", ErrorKind::InvalidVersion),
        (b"GET / HTTP/1.1 \r\n\r\n", ErrorKind::InvalidStartLine),
        (b"GET  / HTTP/1.1\r\n\r\n", ErrorKind::InvalidTarget),
        (b"G(T / HTTP/1.1\r\n\r\n", ErrorKind::InvalidMethod),
        (b"GET /a#b HTTP/1.1\r\nHost: h\r\n\r\n", ErrorKind::InvalidTarget),
        (b"GET * HTTP/1.1\r\nHost: h\r\n\r\n", ErrorKind::InvalidTarget),
        (
            b"CONNECT /x HTTP/1.1\r\nHost: h\r\n\r\n",
            ErrorKind::InvalidTarget,
        ),
        (b"GET / HTTP/1.1\r\n\r\n", ErrorKind::MissingHost),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            ErrorKind::InvalidHost,
        ),
        (b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", ErrorKind::InvalidHost),
        (b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", ErrorKind::InvalidHost),
        (
            b"GET / HTTP/1.1\r\nHost: a:99999x\r\n\r\n",
            ErrorKind::InvalidHost,
        ),
    ];
    for (input, expected) in table {
        assert_eq!(request_error(input), *expected, "{}", input.escape_ascii());
    }
}

#[test]
fn hosts_that_are_valid() {
    for host in [
        "h",
        "h:80",
        "[::1]:8080",
        "[::1]",
        "",
        "xn--bcher-kva.example",
        "1.2.3.4:1",
    ] {
        let input = format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n");
        assert!(request(input.as_bytes()).unwrap().is_some(), "{host}");
    }
    assert!(
        request(b"GET / HTTP/1.0\r\n\r\n").unwrap().is_some(),
        "HTTP/1.0 needs no Host"
    );
    assert!(
        request(b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n")
            .unwrap()
            .is_some()
    );
}

#[test]
fn limits_map_to_414_and_431() {
    let limits = HeadLimits {
        max_start_line: 32,
        max_head: 100,
        max_headers: 2,
    };
    let kind = |input: &[u8]| parse_request(input, &limits).map_err(|e| e.kind());
    let long_target = format!("GET /{} HTTP/1.1\r\n", "a".repeat(40));
    assert_eq!(kind(long_target.as_bytes()), Err(ErrorKind::RequestLineTooLong));
    assert_eq!(
        kind(&long_target.as_bytes()[..33]),
        Err(ErrorKind::RequestLineTooLong)
    );
    assert_eq!(
        kind(&long_target.as_bytes()[..30]),
        Ok(None),
        "not over the limit yet"
    );
    let many = b"GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n";
    assert_eq!(kind(many), Err(ErrorKind::TooManyHeaders));
    let big = format!("GET / HTTP/1.1\r\nHost: h\r\nA: {}\r\n\r\n", "v".repeat(80));
    assert_eq!(kind(big.as_bytes()), Err(ErrorKind::HeadTooLarge));
    assert_eq!(
        kind(&big.as_bytes()[..101]),
        Err(ErrorKind::HeadTooLarge),
        "refused before the end arrives"
    );
    let status = |error: Result<_, ErrorKind>| error.unwrap_err().status().unwrap().as_u16();
    assert_eq!(status(kind(many)), 431);
    assert_eq!(status(kind(long_target.as_bytes())), 414);
}

#[test]
fn garbage_is_refused_before_the_head_ends() {
    assert_eq!(request(b"\x16\x03\x01\x02\x00"), Err(ErrorKind::InvalidMethod));
    assert_eq!(request(b"GE"), Ok(None));
}

#[test]
fn responses() {
    let limits = HeadLimits::default();
    let (head, len) = parse_response(b"HTTP/1.0 404 Gone Away\r\nA: b\r\n\r\n", &limits)
        .unwrap()
        .unwrap();
    assert_eq!(
        (head.status, head.version, head.reason(), len),
        (StatusCode::NOT_FOUND, Version::HTTP_10, "Gone Away", 32)
    );
    let (head, _) = parse_response(b"HTTP/1.1 200\r\n\r\n", &limits).unwrap().unwrap();
    assert_eq!(head.reason(), "");
    let kind = |input: &[u8]| parse_response(input, &limits).map_err(|e| e.kind());
    assert_eq!(kind(b"HTTP/1.1 99 x\r\n\r\n"), Err(ErrorKind::InvalidStatus));
    assert_eq!(
        kind(b"HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n"),
        Err(ErrorKind::ObsFold)
    );
    assert_eq!(
        kind(b"HTTP/3.0 200 OK\r\n\r\n"),
        Err(ErrorKind::UnsupportedVersion)
    );
    assert_eq!(kind(b"SSH-2.0-OpenSSH"), Err(ErrorKind::InvalidStatus));
    assert_eq!(kind(b"HTT"), Ok(None));
}

#[test]
fn head_end_scanning_resumes() {
    let head = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    for split in 0..head.len() {
        let first = find_head_end(&head[..split], 0);
        assert_eq!(first, None);
        assert_eq!(find_head_end(head, split), Some(head.len()), "resumed at {split}");
    }
}

#[test]
fn a_head_round_trips_through_write_to() {
    let input = b"PUT /x?y HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nx-a: 2\r\n\r\n";
    let (head, _) = request(input).unwrap().unwrap();
    let mut out = Vec::new();
    head.write_to(&mut out);
    assert_eq!(out, input);
}
