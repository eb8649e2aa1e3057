//! The table of request-smuggling and malformed-request vectors: each is
//! fed to the server machine at every chunk size and must be refused with
//! its status (and nothing of it may reach a handler as a request body or
//! a second request).

mod support;

use support::transcript::serve_at_every_split;

/// (name, request bytes, expected status)
const VECTORS: &[(&str, &[u8], u16)] = &[
    // Content-Length
    (
        "CL twice, equal",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
        400,
    ),
    (
        "CL twice, conflicting",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        400,
    ),
    (
        "CL as a list",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\n\r\nabc",
        400,
    ),
    (
        "CL negative",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n",
        400,
    ),
    (
        "CL with plus sign",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +3\r\n\r\nabc",
        400,
    ),
    (
        "CL hexadecimal",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x3\r\n\r\nabc",
        400,
    ),
    (
        "CL with inner space",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1 2\r\n\r\n",
        400,
    ),
    (
        "CL empty",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n",
        400,
    ),
    (
        "CL overflowing u64",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n",
        400,
    ),
    (
        "CL over the body limit",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9999999999999\r\n\r\n",
        413,
    ),
    // Transfer-Encoding
    (
        "TE and CL",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
    ),
    (
        "CL and TE",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n",
        400,
    ),
    (
        "TE not chunked last",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
        400,
    ),
    (
        "TE identity",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\n",
        400,
    ),
    (
        "TE chunked twice",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
        400,
    ),
    (
        "TE chunked in two fields",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        400,
    ),
    (
        "TE gzip then chunked",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        501,
    ),
    (
        "TE misspelt",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
        400,
    ),
    (
        "TE empty",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\r\n\r\n",
        400,
    ),
    (
        "TE in HTTP/1.0",
        b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
    ),
    (
        "TE with space before colon",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
        400,
    ),
    (
        "TE folded",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n",
        400,
    ),
    (
        "TE with a vertical tab",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\x0bchunked\r\n\r\n0\r\n\r\n",
        400,
    ),
    // Chunked bodies
    (
        "chunk size not hex",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nz\r\n",
        400,
    ),
    (
        "chunk size overflow",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1ffffffffffffffff\r\n",
        400,
    ),
    (
        "chunk size 0x prefix",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0x1\r\na\r\n0\r\n\r\n",
        400,
    ),
    (
        "chunk size negative",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n",
        400,
    ),
    (
        "chunk size line ends in LF",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\na\r\n0\r\n\r\n",
        400,
    ),
    (
        "chunk size line bare CR",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\ra\r\n0\r\n\r\n",
        400,
    ),
    (
        "chunk data too long",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n0\r\n\r\n",
        400,
    ),
    (
        "chunk data ends in LF",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\n0\r\n\r\n",
        400,
    ),
    (
        "chunk extension with CTL",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1;a\x00b\r\na\r\n0\r\n\r\n",
        400,
    ),
    (
        "trailer folded",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: 1\r\n folded\r\n\r\n",
        400,
    ),
    (
        "trailer bare LF",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: 1\n\r\n",
        400,
    ),
    (
        "trailer name with space",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX Y: 1\r\n\r\n",
        400,
    ),
    // Header syntax
    (
        "obs-fold",
        b"GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n 2\r\n\r\n",
        400,
    ),
    (
        "obs-fold with tab",
        b"GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\t2\r\n\r\n",
        400,
    ),
    ("space before colon", b"GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400),
    (
        "bare CR in a value",
        b"GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n",
        400,
    ),
    (
        "bare CR ending a line",
        b"GET / HTTP/1.1\r\nHost: h\rX: b\r\n\r\n",
        400,
    ),
    (
        "NUL in a value",
        b"GET / HTTP/1.1\r\nHost: h\r\nX: a\x00b\r\n\r\n",
        400,
    ),
    (
        "empty header name",
        b"GET / HTTP/1.1\r\nHost: h\r\n: v\r\n\r\n",
        400,
    ),
    (
        "header name with slash",
        b"GET / HTTP/1.1\r\nHost: h\r\nX/Y: v\r\n\r\n",
        400,
    ),
    (
        "header line without colon",
        b"GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n",
        400,
    ),
    (
        "non-ASCII header name",
        b"GET / HTTP/1.1\r\nHost: h\r\nX\xc3\xa9: v\r\n\r\n",
        400,
    ),
    // Host
    ("missing Host in HTTP/1.1", b"GET / HTTP/1.1\r\n\r\n", 400),
    ("two Hosts", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    ("Host with a path", b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400),
    ("Host with userinfo", b"GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400),
    // Request line
    ("lowercase version", b"GET / http/1.1\r\nHost: h\r\n\r\n", 400),
    ("HTTP/2.0", b"GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505),
    ("HTTP/0.9 style", b"GET /\r\n\r\n", 400),
    (
        "version with extra digits",
        b"GET / HTTP/1.10\r\nHost: h\r\n\r\n",
        400,
    ),
    ("double space", b"GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    ("tab as separator", b"GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    ("trailing space", b"GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400),
    ("method with CTL", b"G\x01T / HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    (
        "method too long",
        b"GEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEET / HTTP/1.1\r\nHost: h\r\n\r\n",
        400,
    ),
    ("fragment in target", b"GET /a#b HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    ("relative target", b"GET a/b HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    ("asterisk with GET", b"GET * HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    (
        "CONNECT with a path",
        b"CONNECT /x HTTP/1.1\r\nHost: h\r\n\r\n",
        400,
    ),
    (
        "CONNECT without port",
        b"CONNECT example.com HTTP/1.1\r\nHost: example.com\r\n\r\n",
        400,
    ),
    (
        "non-ASCII in target",
        b"GET /\xff HTTP/1.1\r\nHost: h\r\n\r\n",
        400,
    ),
    (
        "TLS handshake on the plain port",
        b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
        400,
    ),
];

/// The vectors too long to write out: limits and an endless chunk extension.
fn generated() -> Vec<(&'static str, Vec<u8>, u16)> {
    let chunked = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
    let many: String = (0..101).map(|i| format!("X{i}: v\r\n")).collect();
    vec![
        (
            "chunk extension endless",
            format!("{chunked}1;{}\r\na\r\n0\r\n\r\n", "e".repeat(5000)).into_bytes(),
            400,
        ),
        (
            "request line over 8 KiB",
            format!("GET /{} HTTP/1.1\r\nHost: h\r\n\r\n", "a".repeat(8200)).into_bytes(),
            414,
        ),
        (
            "request line over 8 KiB, unfinished",
            format!("GET /{}", "a".repeat(8200)).into_bytes(),
            414,
        ),
        (
            "too many header fields",
            format!("GET / HTTP/1.1\r\nHost: h\r\n{many}\r\n").into_bytes(),
            431,
        ),
        (
            "head over 32 KiB",
            format!("GET / HTTP/1.1\r\nHost: h\r\nX: {}\r\n\r\n", "v".repeat(33_000)).into_bytes(),
            431,
        ),
        (
            "head over 32 KiB, unfinished",
            format!("GET / HTTP/1.1\r\nHost: h\r\nX: {}", "v".repeat(33_000)).into_bytes(),
            431,
        ),
    ]
}

#[test]
fn every_vector_is_refused_with_its_status_at_every_split() {
    let mut all: Vec<(&str, Vec<u8>, u16)> = VECTORS
        .iter()
        .map(|(name, bytes, status)| (*name, bytes.to_vec(), *status))
        .collect();
    all.extend(generated());
    assert!(all.len() >= 40, "{} vectors", all.len());
    for (name, request, status) in &all {
        // A valid request follows each vector: it must never be answered.
        let mut input = request.clone();
        input.extend_from_slice(b"GET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n");
        let run = if input.len() > 4096 {
            support::transcript::serve(
                gyre_http::proto::ServerConfig::default(),
                &mut input.chunks(1000),
                false,
            )
        } else {
            serve_at_every_split(&input, false)
        };
        let sent = String::from_utf8_lossy(&run.sent);
        assert!(
            sent.starts_with(&format!("HTTP/1.1 {status} ")),
            "{name}: answered {sent:?}, log {:?}",
            run.log
        );
        assert_eq!(
            sent.matches("HTTP/1.1 ").count(),
            1,
            "{name}: one answer only: {sent:?}"
        );
        assert!(sent.contains("Connection: close"), "{name}");
        assert!(run.wants_close, "{name}");
        assert!(
            !run.log.iter().any(|line| line.contains("/smuggled")),
            "{name}: {:?}",
            run.log
        );
        assert!(
            !run.log.iter().any(|line| line.starts_with("end")),
            "{name}: no request completed: {:?}",
            run.log
        );
    }
}
