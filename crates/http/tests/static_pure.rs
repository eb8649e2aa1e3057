//! Table tests of the pure parts of `static_files`: Range parsing and
//! resolution, preconditions, HTTP dates, MIME types, listing escaping and
//! path safety (hostile paths included).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use gyre_http::HeaderMap;
use gyre_http::static_files::*;

fn at(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(seconds)
}

#[test]
#[allow(clippy::single_range_in_vec_init)] // one-range answers are what is tested
fn range_headers_resolve_against_the_size() {
    use RangeOutcome::*;
    let table: &[(&str, u64, RangeOutcome)] = &[
        ("bytes=0-99", 1000, Partial(vec![0..100])),
        ("bytes=0-0", 1, Partial(vec![0..1])),
        ("bytes=990-", 1000, Partial(vec![990..1000])),
        ("bytes=-10", 1000, Partial(vec![990..1000])),
        ("bytes=-5000", 1000, Partial(vec![0..1000])),
        ("bytes=900-5000", 1000, Partial(vec![900..1000])),
        ("bytes=0-9,20-29", 100, Partial(vec![0..10, 20..30])),
        ("BYTES = 1-2", 10, Partial(vec![1..3])),
        ("bytes=0-1, ,5-6", 10, Partial(vec![0..2, 5..7])),
        ("bytes=1000-", 1000, Unsatisfiable),
        ("bytes=1000-2000", 1000, Unsatisfiable),
        ("bytes=-0", 1000, Unsatisfiable),
        ("bytes=0-", 0, Unsatisfiable),
        ("bytes=-1", 0, Unsatisfiable),
        ("bytes=2000-,0-1", 1000, Partial(vec![0..2])),
        // Ignored (served whole): other units, bad syntax, reversed, huge.
        ("items=0-1", 1000, Full),
        ("bytes=5-1", 1000, Full),
        ("bytes=", 1000, Full),
        ("bytes=a-b", 1000, Full),
        ("bytes=1", 1000, Full),
        ("bytes=--1", 1000, Full),
        ("bytes=+1-2", 1000, Full),
        ("bytes=99999999999999999999-", 1000, Full),
        ("0-1", 1000, Full),
    ];
    for (header, size, expected) in table {
        assert_eq!(
            &evaluate_range(Some(header), *size),
            expected,
            "{header} of {size}"
        );
    }
    assert_eq!(evaluate_range(None, 10), Full);
    let many = format!("bytes={}", vec!["0-0"; MAX_RANGES + 1].join(","));
    assert_eq!(
        evaluate_range(Some(&many), 10),
        Full,
        "too many ranges are ignored"
    );
    assert_eq!(content_range(&(0..100), 1000), "bytes 0-99/1000");
    assert_eq!(unsatisfied_range(1000), "bytes */1000");
}

fn headers(fields: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in fields {
        map.append(name, value).unwrap();
    }
    map
}

#[test]
fn preconditions_follow_the_rfc_9110_order() {
    use Precondition::*;
    let v = Validators::new(10, at(1_000_000), 7);
    let tag = v.etag.clone();
    let weak = format!("W/{tag}");
    let date = format_http_date(at(1_000_000));
    let before = format_http_date(at(999_999));
    let after = format_http_date(at(1_000_001));
    let table: Vec<(Vec<(&str, &str)>, Precondition)> = vec![
        (vec![], Proceed),
        (vec![("If-None-Match", &tag)], NotModified),
        (vec![("If-None-Match", &weak)], NotModified),
        (vec![("If-None-Match", "\"other\", \"x\"")], Proceed),
        (vec![("If-None-Match", "*")], NotModified),
        (
            vec![("If-None-Match", "\"a\""), ("If-None-Match", &tag)],
            NotModified,
        ),
        (vec![("If-Modified-Since", &date)], NotModified),
        (vec![("If-Modified-Since", &after)], NotModified),
        (vec![("If-Modified-Since", &before)], Proceed),
        (vec![("If-Modified-Since", "yesterday")], Proceed),
        // If-None-Match wins over If-Modified-Since.
        (
            vec![("If-None-Match", "\"x\""), ("If-Modified-Since", &date)],
            Proceed,
        ),
        (vec![("If-Match", &tag)], Proceed),
        (vec![("If-Match", "*")], Proceed),
        (vec![("If-Match", &weak)], Failed),
        (vec![("If-Match", "\"x\"")], Failed),
        (vec![("If-Unmodified-Since", &before)], Failed),
        (vec![("If-Unmodified-Since", &date)], Proceed),
        // If-Match wins over If-Unmodified-Since.
        (
            vec![("If-Match", &tag), ("If-Unmodified-Since", &before)],
            Proceed,
        ),
        (vec![("If-Match", "\"x\""), ("If-None-Match", "\"y\"")], Failed),
    ];
    for (fields, expected) in table {
        assert_eq!(
            evaluate_preconditions(&headers(&fields), &v, true),
            expected,
            "{fields:?}"
        );
    }
    assert_eq!(
        evaluate_preconditions(&headers(&[("If-None-Match", &tag)]), &v, false),
        Failed
    );
    assert_eq!(
        evaluate_preconditions(&headers(&[("If-Modified-Since", &date)]), &v, false),
        Proceed
    );
}

#[test]
fn etags_change_with_size_time_and_inode_and_compare_strongly_or_weakly() {
    let base = Validators::new(10, at(5), 1);
    assert_ne!(base, Validators::new(11, at(5), 1));
    assert_ne!(base, Validators::new(10, at(6), 1));
    assert_ne!(base, Validators::new(10, at(5), 2));
    assert_ne!(
        base.etag,
        Validators::new(10, at(5) + Duration::from_nanos(1), 1).etag
    );
    assert!(base.etag.starts_with('"') && base.etag.ends_with('"'));
    assert!(etag_matches("\"a\", \"b,c\"", "\"b,c\"", true));
    assert!(!etag_matches("W/\"a\"", "\"a\"", true));
    assert!(etag_matches("W/\"a\"", "\"a\"", false));
    assert!(!etag_matches("\"a", "\"a\"", false));
}

#[test]
fn if_range_needs_the_exact_current_version() {
    let v = Validators::new(10, at(1_000_000), 7);
    let tag = v.etag.clone();
    let date = format_http_date(at(1_000_000));
    assert!(if_range_allows(&headers(&[]), &v));
    assert!(if_range_allows(&headers(&[("If-Range", &tag)]), &v));
    assert!(if_range_allows(&headers(&[("If-Range", &date)]), &v));
    for other in [
        format!("W/{tag}"),
        "\"old\"".into(),
        format_http_date(at(1)),
        "garbage".into(),
    ] {
        assert!(!if_range_allows(&headers(&[("If-Range", &other)]), &v), "{other}");
    }
}

#[test]
fn http_dates_round_trip_and_all_three_forms_parse() {
    assert_eq!(format_http_date(at(784_111_777)), "Sun, 06 Nov 1994 08:49:37 GMT");
    for text in [
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994",
    ] {
        assert_eq!(parse_http_date(text), Some(at(784_111_777)), "{text}");
    }
    for seconds in [0, 951_782_400, 1_709_164_800, 4_102_444_799, 253_402_300_799] {
        assert_eq!(parse_http_date(&format_http_date(at(seconds))), Some(at(seconds)));
    }
    for bad in [
        "",
        "Sun, 31 Feb 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "06 Nov 1994",
        "Sun, 6 Foo 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 8:49:37 GMT",
    ] {
        assert_eq!(parse_http_date(bad), None, "{bad:?}");
    }
    assert_eq!(format_log_time(at(971_186_136)), "10/Oct/2000:13:55:36 +0000");
}

#[test]
fn mime_types_come_from_the_extension() {
    let mut mime = MimeTypes::new();
    let table = [
        ("index.html", "text/html; charset=utf-8"),
        ("STYLE.CSS", "text/css; charset=utf-8"),
        ("app.js", "text/javascript; charset=utf-8"),
        ("a.png", "image/png"),
        ("archive.tar.gz", "application/gzip"),
        ("data.json", "application/json"),
        ("noextension", DEFAULT_TYPE),
        ("weird.zzz", DEFAULT_TYPE),
        (".bashrc", DEFAULT_TYPE),
    ];
    for (name, expected) in table {
        assert_eq!(mime.content_type(name), expected, "{name}");
    }
    mime.insert(".zzz", "application/x-zzz");
    mime.insert("HTML", "text/html");
    assert_eq!(mime.content_type("weird.ZZZ"), "application/x-zzz");
    assert_eq!(
        mime.content_type("a.html"),
        "text/html",
        "user types are used as given"
    );
}

#[test]
fn listings_escape_names_and_encode_links() {
    assert_eq!(
        escape_html("<a href=\"x\">&'"),
        "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
    );
    assert_eq!(percent_encode_segment("a b?#%/é"), "a%20b%3F%23%25%2F%C3%A9");
    let mut entries = vec![
        ListingEntry {
            name: "z.txt".into(),
            is_dir: false,
            size: 5,
            modified: at(0),
        },
        ListingEntry {
            name: "<script>".into(),
            is_dir: false,
            size: 1,
            modified: at(0),
        },
        ListingEntry {
            name: "sub dir".into(),
            is_dir: true,
            size: 4096,
            modified: at(0),
        },
    ];
    sort_entries(&mut entries);
    assert_eq!(entries[0].name, "sub dir", "directories first");
    let page = render_listing("/<x>/", &entries);
    assert!(!page.contains("<script>"), "{page}");
    assert!(page.contains("<title>Index of /&lt;x&gt;/</title>"));
    assert!(
        page.contains("<a href=\"%3Cscript%3E\">&lt;script&gt;</a></td><td>1</td>"),
        "{page}"
    );
    assert!(
        page.contains("<a href=\"sub%20dir/\">sub dir/</a></td><td>-</td>"),
        "{page}"
    );
    assert!(page.find("sub%20dir").unwrap() < page.find("z.txt").unwrap());
    assert!(page.contains("Thu, 01 Jan 1970 00:00:00 GMT"));
    assert!(page.contains("href=\"../\""), "a parent link below the root");
    assert!(
        !render_listing("/", &entries).contains("href=\"../\""),
        "none at the root"
    );
}

#[test]
fn hostile_paths_are_refused_before_the_file_system() {
    use PathError::*;
    type Checked = Result<(Vec<&'static str>, bool), PathError>;
    let table: &[(&str, Checked)] = &[
        ("/", Ok((vec![], true))),
        ("", Ok((vec![], true))),
        ("/a/b.txt", Ok((vec!["a", "b.txt"], false))),
        ("/a/", Ok((vec!["a"], true))),
        ("/a%20b", Ok((vec!["a b"], false))),
        ("/%C3%A9", Ok((vec!["é"], false))),
        ("/../etc/passwd", Err(Forbidden)),
        ("/a/..", Err(Forbidden)),
        ("/a/./b", Err(Forbidden)),
        ("/%2e%2e/etc/passwd", Err(Forbidden)),
        ("/%2E%2E", Err(Forbidden)),
        ("/a%2f..%2fb", Err(Forbidden)),
        ("/a%2Fb", Err(Forbidden)),
        ("/a%5cb", Err(Forbidden)),
        ("/a%00.txt", Err(Forbidden)),
        ("//etc/passwd", Err(Forbidden)),
        ("/a//b", Err(Forbidden)),
        ("/.git/config", Err(Hidden)),
        ("/a/.env", Err(Hidden)),
        ("/%2egit", Err(Hidden)),
        ("/a%", Err(BadEscape)),
        ("/a%2", Err(BadEscape)),
        ("/a%zz", Err(BadEscape)),
        ("/a%+1", Err(BadEscape)),
        ("/%ff", Err(NotUtf8)),
    ];
    for (path, expected) in table {
        let checked = split_path(path).and_then(|segments| {
            check_segments(&segments, false).map(|(names, slash)| {
                (
                    names.iter().map(|name| name.to_string()).collect::<Vec<_>>(),
                    slash,
                )
            })
        });
        let expected = expected
            .clone()
            .map(|(names, slash)| (names.iter().map(|name| name.to_string()).collect(), slash));
        assert_eq!(checked, expected, "{path:?}");
    }
    let shown = check_segments(&[".well-known", "x"], true).unwrap();
    assert_eq!(shown, (vec![".well-known", "x"], false), "dotfiles on request");
    assert_eq!(check_segments(&["..", "x"], true), Err(Forbidden), "never `..`");
}
