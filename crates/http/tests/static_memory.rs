//! `StaticFiles` on in-memory transports: whole files, ranges, multipart,
//! conditionals, directories, refusals, and the body streamed as a pull
//! producer only as fast as the client drains it.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use gyre_http::server::HttpServer;
use gyre_http::static_files::StaticFiles;
use gyre_testing::{ManualClock, StringTransportWithDisconnection, feed_chunked};

/// A fresh directory tree under the system temp dir, removed on drop.
struct Tree(PathBuf);

impl Tree {
    fn new(name: &str) -> Tree {
        let dir = std::env::temp_dir().join(format!("gyre-static-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub dir")).unwrap();
        std::fs::create_dir_all(dir.join("site")).unwrap();
        std::fs::write(dir.join("hello.txt"), "hello, world\n").unwrap();
        std::fs::write(dir.join("digits.bin"), "0123456789abcdefghijklmnopqrstuvwxyz").unwrap();
        std::fs::write(dir.join("sub dir").join("<b>.html"), "<p>").unwrap();
        std::fs::write(dir.join("site").join("index.html"), "<h1>site</h1>").unwrap();
        std::fs::write(dir.join(".secret"), "hidden").unwrap();
        Tree(dir)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn server(site: StaticFiles) -> HttpServer {
    HttpServer::new(Rc::new(ManualClock::new()), site)
}

/// The answer to one request, fed at every chunk size.
fn ask(site: StaticFiles, request: &str) -> String {
    let server = server(site);
    String::from_utf8(feed_chunked(|| server.protocol(), request.as_bytes()).written).unwrap()
}

/// The answer to one request, draining the transport until the producer
/// is done (answers longer than one chunk or one piece).
fn ask_draining(site: StaticFiles, request: &str) -> String {
    let server = server(site);
    let mut connection = StringTransportWithDisconnection::new(server.protocol());
    connection.data_received(request.as_bytes());
    let mut answer = Vec::new();
    for _ in 0..1000 {
        let more = connection.transport().take();
        if more.is_empty() {
            break;
        }
        answer.extend(more);
    }
    String::from_utf8(answer).unwrap()
}

fn get(site: StaticFiles, path: &str, extra: &str) -> String {
    ask(site, &format!("GET {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n"))
}

fn field<'a>(answer: &'a str, name: &str) -> Option<&'a str> {
    let head = answer.split("\r\n\r\n").next().unwrap();
    head.lines()
        .find_map(|line| line.strip_prefix(name).and_then(|rest| rest.strip_prefix(": ")))
}

fn body(answer: &str) -> &str {
    answer.split_once("\r\n\r\n").unwrap().1
}

#[test]
fn a_file_comes_with_type_length_validators_and_accept_ranges() {
    let tree = Tree::new("whole");
    let answer = get(StaticFiles::new(tree.path()), "/hello.txt", "");
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert_eq!(field(&answer, "Content-Type"), Some("text/plain; charset=utf-8"));
    assert_eq!(field(&answer, "Content-Length"), Some("13"));
    assert_eq!(field(&answer, "Accept-Ranges"), Some("bytes"));
    assert!(field(&answer, "ETag").unwrap().starts_with('"'));
    assert!(field(&answer, "Last-Modified").unwrap().ends_with(" GMT"));
    assert_eq!(body(&answer), "hello, world\n");
}

#[test]
fn pipelined_get_head_range_and_conditional_requests_at_every_chunk_size() {
    let tree = Tree::new("pipeline");
    let first = get(StaticFiles::new(tree.path()), "/digits.bin", "");
    let etag = field(&first, "ETag").unwrap().to_owned();
    let input = format!(
        "HEAD /digits.bin HTTP/1.1\r\nHost: x\r\n\r\n\
         GET /digits.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=2-4\r\n\r\n\
         GET /digits.bin HTTP/1.1\r\nHost: x\r\nIf-None-Match: {etag}\r\n\r\n\
         GET /digits.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=-3\r\n\r\n"
    );
    let answer = ask(StaticFiles::new(tree.path()), &input);
    let answers: Vec<&str> = answer.split("HTTP/1.1 ").skip(1).collect();
    assert_eq!(answers.len(), 4, "{answer}");
    assert!(answers[0].starts_with("200 OK") && answers[0].contains("Content-Length: 36\r\n"));
    assert!(answers[0].ends_with("\r\n\r\n"), "HEAD has no body: {answer}");
    assert!(answers[1].starts_with("206 Partial Content") && answers[1].ends_with("\r\n\r\n234"));
    assert!(answers[1].contains("Content-Range: bytes 2-4/36\r\n"));
    assert!(answers[2].starts_with("304 Not Modified") && answers[2].contains(&etag));
    assert!(answers[3].ends_with("\r\n\r\nxyz"), "{answer}");
}

#[test]
fn several_ranges_make_an_exactly_sized_multipart_body() {
    let tree = Tree::new("multipart");
    let answer = ask_draining(
        StaticFiles::new(tree.path()),
        "GET /digits.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=0-1, 10-12\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 206 Partial Content\r\n"), "{answer}");
    let media = field(&answer, "Content-Type").unwrap();
    let boundary = media.strip_prefix("multipart/byteranges; boundary=").unwrap();
    let expected = format!(
        "\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 0-1/36\r\n\r\n01\
         \r\n--{boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 10-12/36\r\n\r\nabc\
         \r\n--{boundary}--\r\n"
    );
    assert_eq!(body(&answer), expected);
    let again = ask_draining(
        StaticFiles::new(tree.path()),
        "GET /digits.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=0-1, 10-12\r\n\r\n",
    );
    assert_ne!(
        field(&again, "Content-Type"),
        Some(media),
        "boundaries are random"
    );
    assert_eq!(
        field(&answer, "Content-Length"),
        Some(expected.len().to_string().as_str())
    );
}

#[test]
fn unsatisfiable_ranges_failed_preconditions_and_stale_if_range() {
    let tree = Tree::new("refusals");
    let site = || StaticFiles::new(tree.path());
    let answer = get(site(), "/digits.bin", "Range: bytes=100-\r\n");
    assert!(answer.starts_with("HTTP/1.1 416 "), "{answer}");
    assert_eq!(field(&answer, "Content-Range"), Some("bytes */36"));
    let answer = get(site(), "/digits.bin", "If-Match: \"nope\"\r\n");
    assert!(answer.starts_with("HTTP/1.1 412 "), "{answer}");
    let answer = get(
        site(),
        "/digits.bin",
        "If-Unmodified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 412 "), "{answer}");
    let answer = get(site(), "/digits.bin", "Range: bytes=0-0\r\nIf-Range: \"old\"\r\n");
    assert!(
        answer.starts_with("HTTP/1.1 200 OK\r\n") && body(&answer).len() == 36,
        "{answer}"
    );
    let answer = get(
        site(),
        "/digits.bin",
        "If-Modified-Since: Fri, 01 Jan 9999 00:00:00 GMT\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 304 "), "{answer}");
}

#[test]
fn other_methods_get_405_with_allow() {
    let tree = Tree::new("methods");
    for method in ["POST", "PUT", "DELETE", "OPTIONS"] {
        let answer = ask(
            StaticFiles::new(tree.path()),
            &format!("{method} /hello.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"),
        );
        assert!(answer.starts_with("HTTP/1.1 405 "), "{method}: {answer}");
        assert_eq!(field(&answer, "Allow"), Some("GET, HEAD"));
    }
}

#[test]
fn directories_redirect_use_index_files_or_list() {
    let tree = Tree::new("dirs");
    let answer = get(StaticFiles::new(tree.path()), "/site?x=1", "");
    assert!(answer.starts_with("HTTP/1.1 301 "), "{answer}");
    assert_eq!(field(&answer, "Location"), Some("/site/?x=1"));
    assert_eq!(
        body(&get(StaticFiles::new(tree.path()), "/site/", "")),
        "<h1>site</h1>"
    );
    let custom = StaticFiles::new(tree.path()).index_names(["missing.html"]);
    assert!(body(&get(custom, "/site/", "")).contains("<a href=\"index.html\">"));
    let listing = get(StaticFiles::new(tree.path()), "/", "");
    assert_eq!(field(&listing, "Content-Type"), Some("text/html; charset=utf-8"));
    let page = body(&listing);
    assert!(
        page.find("sub%20dir/").unwrap() < page.find("hello.txt").unwrap(),
        "{page}"
    );
    assert!(!page.contains(".secret"), "dotfiles are not listed");
    let sub = body(&get(StaticFiles::new(tree.path()), "/sub%20dir/", "")).to_owned();
    assert!(sub.contains("href=\"%3Cb%3E.html\">&lt;b&gt;.html</a>"), "{sub}");
    let closed = get(StaticFiles::new(tree.path()).listing(false), "/sub%20dir/", "");
    assert!(closed.starts_with("HTTP/1.1 403 "), "{closed}");
    let file_as_dir = get(StaticFiles::new(tree.path()), "/hello.txt/", "");
    assert!(file_as_dir.starts_with("HTTP/1.1 404 "), "{file_as_dir}");
}

#[test]
fn hostile_paths_dotfiles_and_symlinks_out_of_the_root_are_refused() {
    let tree = Tree::new("hostile");
    let outside = Tree::new("hostile-outside");
    std::os::unix::fs::symlink(outside.path().join("hello.txt"), tree.path().join("escape.txt")).unwrap();
    std::os::unix::fs::symlink(outside.path(), tree.path().join("escape-dir")).unwrap();
    std::os::unix::fs::symlink(tree.path().join("hello.txt"), tree.path().join("inside.txt")).unwrap();
    std::os::unix::fs::symlink(tree.path().join(".secret"), tree.path().join("public.txt")).unwrap();
    let site = || StaticFiles::new(tree.path().join("sub dir"));
    for (path, status) in [
        ("/../hello.txt", "400"),
        ("/%2e%2e/hello.txt", "400"),
        ("/..%2fhello.txt", "400"),
        ("/x%00", "400"),
        ("/%zz", "400"),
        ("//etc/passwd", "400"),
    ] {
        let answer = get(site(), path, "");
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status} ")),
            "{path}: {answer}"
        );
    }
    let root = || StaticFiles::new(tree.path());
    for path in [
        "/.secret",
        "/public.txt",
        "/escape.txt",
        "/escape-dir/hello.txt",
        "/missing",
    ] {
        let answer = get(root(), path, "");
        assert!(answer.starts_with("HTTP/1.1 404 "), "{path}: {answer}");
    }
    let listing = get(root(), "/", "");
    assert!(!body(&listing).contains("escape"), "links out are not listed");
    assert!(
        !body(&listing).contains("public.txt"),
        "links to dotfiles are not listed"
    );
    assert_eq!(body(&get(root(), "/inside.txt", "")), "hello, world\n");
    assert_eq!(body(&get(root().show_hidden(true), "/.secret", "")), "hidden");
    let open = root().follow_symlinks_outside(true);
    assert_eq!(body(&get(open, "/escape-dir/hello.txt", "")), "hello, world\n");
}

#[test]
fn extra_headers_and_mime_additions_apply() {
    let tree = Tree::new("headers");
    let site = StaticFiles::new(tree.path())
        .header("Cache-Control", "no-cache")
        .mime_type("bin", "application/x-digits");
    let answer = get(site, "/digits.bin", "");
    assert_eq!(field(&answer, "Cache-Control"), Some("no-cache"));
    assert_eq!(field(&answer, "Content-Type"), Some("application/x-digits"));
}

#[test]
fn the_body_is_pulled_one_chunk_per_drain_and_stops_when_the_client_leaves() {
    let tree = Tree::new("stream");
    let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(tree.path().join("big.bin"), &data).unwrap();
    let options = gyre_http::static_files::StaticOptions {
        chunk_size: 1000,
        ..Default::default()
    };
    let first = server(StaticFiles::with_options(tree.path(), options.clone()));
    let mut connection = StringTransportWithDisconnection::new(first.protocol());
    connection.data_received(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
    let head_and_first = connection.transport().take();
    let at = head_and_first.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(
        head_and_first.len() - at,
        1000,
        "one chunk until the client drains it"
    );
    let mut received = head_and_first[at..].to_vec();
    for _ in 0..100 {
        let more = connection.transport().take();
        if more.is_empty() {
            break;
        }
        assert!(more.len() <= 1000, "never more than a chunk at a time");
        received.extend(more);
    }
    assert_eq!(received, data);
    // A second request on the same connection works: the producer is gone.
    connection.data_received(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(
        String::from_utf8(connection.transport().take())
            .unwrap()
            .ends_with("hello, world\n")
    );

    // A client leaving mid-file stops the producer.
    let second = server(StaticFiles::with_options(tree.path(), options));
    let mut connection = StringTransportWithDisconnection::new(second.protocol());
    connection.data_received(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(!connection.transport().take().is_empty());
    connection.peer_closed();
    // What was buffered before the close (one chunk), and nothing more.
    assert!(connection.transport().take().len() <= 1000);
    for _ in 0..3 {
        assert!(
            connection.transport().take().is_empty(),
            "nothing written after the client left"
        );
    }
}
