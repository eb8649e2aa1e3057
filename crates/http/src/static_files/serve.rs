//! The glue of [`StaticFiles::serve`]: file system look-ups and answers.
//! Every decision is delegated to the pure modules next door.

use std::fs::{File, Metadata};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use std::rc::Rc;

use crate::resource::ReplySink;
use crate::wire::RequestHead;
use crate::wire::{HeaderMap, Method, ResponseHead, StatusCode};

use super::conditional::{Precondition, Validators, evaluate_preconditions, if_range_allows};
use super::listing::{ListingEntry, render_listing, sort_entries};
use super::path::{PathError, Resolved, check_segments, is_inside, resolve_checked};
use super::range::{RangeOutcome, content_range, evaluate_range, unsatisfied_range};
use super::sender::{FileSender, Piece, body_length};
use super::{StaticFiles, StaticOptions};

/// Where an answer goes: the connection's response, or a resource-tree
/// reply (which may be wrapped, by gzip for one).
pub(crate) type Sink = Rc<dyn ReplySink>;

/// A short text answer (errors, refusals), with `Allow` on 405.
pub(crate) fn refuse(response: &Sink, status: StatusCode) {
    let reason = status.canonical_reason().unwrap_or("Error");
    let body = format!("{} {reason}\n", status.as_u16());
    let mut head = ResponseHead::new(status);
    let _ = head.headers.append("Content-Type", "text/plain; charset=utf-8");
    let _ = head.headers.append("Content-Length", body.len().to_string());
    if status == StatusCode::METHOD_NOT_ALLOWED {
        let _ = head.headers.append("Allow", "GET, HEAD");
    }
    if response.send_head(head).is_ok() && response.write(body.as_bytes()).is_ok() {
        let _ = response.finish();
    }
}

fn add_headers(headers: &mut HeaderMap, options: &StaticOptions) {
    for (name, value) in &options.headers {
        let _ = headers.append(name, value);
    }
}

pub(crate) fn serve<S: AsRef<str>>(
    site: &StaticFiles,
    request: &RequestHead,
    response: &Sink,
    segments: &[S],
) {
    let method = &request.method;
    if *method != Method::GET && *method != Method::HEAD {
        return refuse(response, StatusCode::METHOD_NOT_ALLOWED);
    }
    let options = site.options();
    let (names, trailing_slash) = match check_segments(segments, options.show_hidden) {
        Ok(checked) => checked,
        Err(PathError::Hidden) => return refuse(response, StatusCode::NOT_FOUND),
        Err(_) => return refuse(response, StatusCode::BAD_REQUEST),
    };
    let confine = !options.follow_symlinks_outside;
    let Some(Resolved { path, linked, is_dir }) = resolve_checked(site.root(), &names, confine) else {
        return refuse(response, StatusCode::NOT_FOUND);
    };
    if linked && !options.show_hidden && reaches_hidden(site.root(), &path) {
        return refuse(response, StatusCode::NOT_FOUND); // a link to a dotfile
    }
    if is_dir {
        if !trailing_slash {
            return redirect_to_directory(request, response);
        }
        for index in &options.index_names {
            let candidate = path.join(index);
            if candidate.is_file() && (!confine || is_inside(site.root(), &candidate)) {
                return send_file(site, request, response, &candidate);
            }
        }
        if !options.listing {
            return refuse(response, StatusCode::FORBIDDEN);
        }
        return send_listing(site, request, response, &path, &names);
    }
    if trailing_slash {
        return refuse(response, StatusCode::NOT_FOUND);
    }
    send_file(site, request, response, &path);
}

/// Whether `path`, links followed, is a dotfile (or inside a dot
/// directory) under the root.
fn reaches_hidden(root: &Path, path: &Path) -> bool {
    let Ok(real) = path.canonicalize() else {
        return true;
    };
    real.strip_prefix(root).is_ok_and(|below| {
        below
            .components()
            .any(|part| part.as_os_str().to_str().is_none_or(|name| name.starts_with('.')))
    })
}

fn redirect_to_directory(request: &RequestHead, response: &Sink) {
    let target = &request.target;
    let mut location = format!("{}/", target.path());
    if let Some(query) = target.query() {
        location.push('?');
        location.push_str(query);
    }
    let mut head = ResponseHead::new(StatusCode::MOVED_PERMANENTLY);
    let _ = head.headers.append("Location", &location);
    let _ = head.headers.append("Content-Length", "0");
    if response.send_head(head).is_ok() {
        let _ = response.finish();
    }
}

fn send_listing(site: &StaticFiles, request: &RequestHead, response: &Sink, dir: &Path, names: &[&str]) {
    let options = site.options();
    let Ok(read) = std::fs::read_dir(dir) else {
        return refuse(response, StatusCode::FORBIDDEN);
    };
    let mut entries = Vec::new();
    for entry in read.flatten() {
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if name.starts_with('.') && !options.show_hidden {
            continue;
        }
        let path = entry.path();
        if (!options.follow_symlinks_outside && !is_inside(site.root(), &path))
            || (!options.show_hidden && reaches_hidden(site.root(), &path))
        {
            continue;
        }
        let Ok(meta) = path.metadata() else { continue };
        entries.push(ListingEntry {
            name,
            is_dir: meta.is_dir(),
            size: meta.len(),
            modified: meta.modified().unwrap_or(std::time::UNIX_EPOCH),
        });
    }
    sort_entries(&mut entries);
    let title = format!(
        "/{}",
        names.iter().map(|name| format!("{name}/")).collect::<String>()
    );
    let page = render_listing(&title, &entries);
    let mut head = ResponseHead::new(StatusCode::OK);
    let _ = head.headers.append("Content-Type", "text/html; charset=utf-8");
    let _ = head.headers.append("Content-Length", page.len().to_string());
    add_headers(&mut head.headers, options);
    if response.send_head(head).is_err() {
        return;
    }
    if request.method != Method::HEAD && response.write(page.as_bytes()).is_err() {
        return;
    }
    let _ = response.finish();
}

fn open_regular(path: &Path) -> Option<(File, Metadata)> {
    let file = File::open(path).ok()?;
    let meta = file.metadata().ok()?;
    meta.is_file().then_some((file, meta))
}

fn send_file(site: &StaticFiles, request: &RequestHead, response: &Sink, path: &Path) {
    let options = site.options();
    let Some((file, meta)) = open_regular(path) else {
        return refuse(response, StatusCode::NOT_FOUND);
    };
    let size = meta.len();
    let modified = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
    let validators = Validators::new(size, modified, meta.ino());
    let headers = &request.headers;
    let validator_fields = |head: &mut ResponseHead| {
        let _ = head
            .headers
            .append("Last-Modified", super::format_http_date(validators.last_modified));
        let _ = head.headers.append("ETag", &validators.etag);
    };
    match evaluate_preconditions(headers, &validators, true) {
        Precondition::Proceed => {}
        Precondition::NotModified => {
            let mut head = ResponseHead::new(StatusCode::NOT_MODIFIED);
            validator_fields(&mut head);
            add_headers(&mut head.headers, options);
            if response.send_head(head).is_ok() {
                let _ = response.finish();
            }
            return;
        }
        Precondition::Failed => return refuse(response, StatusCode::PRECONDITION_FAILED),
    }
    let name = path.file_name().and_then(|name| name.to_str()).unwrap_or("");
    let content_type = options.mime.content_type(name);
    let range_header = if headers.count("range") == 1 {
        headers.get_str("range")
    } else {
        None
    };
    let outcome = if range_header.is_some() && if_range_allows(headers, &validators) {
        evaluate_range(range_header, size)
    } else {
        RangeOutcome::Full
    };
    let (mut head, pieces) = match outcome {
        RangeOutcome::Unsatisfiable => {
            let mut head = ResponseHead::new(StatusCode::RANGE_NOT_SATISFIABLE);
            let _ = head.headers.append("Content-Range", unsatisfied_range(size));
            let _ = head.headers.append("Content-Length", "0");
            if response.send_head(head).is_ok() {
                let _ = response.finish();
            }
            return;
        }
        RangeOutcome::Full => {
            let mut head = ResponseHead::new(StatusCode::OK);
            let _ = head.headers.append("Content-Type", &content_type);
            (head, vec![Piece::File(0..size)])
        }
        RangeOutcome::Partial(ranges) if ranges.len() == 1 => {
            let mut head = ResponseHead::new(StatusCode::PARTIAL_CONTENT);
            let _ = head.headers.append("Content-Type", &content_type);
            let _ = head
                .headers
                .append("Content-Range", content_range(&ranges[0], size));
            (head, vec![Piece::File(ranges[0].clone())])
        }
        RangeOutcome::Partial(ranges) => {
            let boundary = random_boundary();
            let mut head = ResponseHead::new(StatusCode::PARTIAL_CONTENT);
            let media = format!("multipart/byteranges; boundary={boundary}");
            let _ = head.headers.append("Content-Type", media);
            (head, multipart_pieces(&ranges, size, &content_type, &boundary))
        }
    };
    let length = body_length(&pieces);
    let _ = head.headers.append("Content-Length", length.to_string());
    let _ = head.headers.append("Accept-Ranges", "bytes");
    validator_fields(&mut head);
    add_headers(&mut head.headers, options);
    if response.send_head(head).is_err() {
        return;
    }
    if request.method == Method::HEAD || length == 0 {
        let _ = response.finish();
        return;
    }
    FileSender::start(Rc::clone(response), file, pieces, options.chunk_size);
}

/// A boundary no file can be crafted to contain: 128 random bits from the
/// standard library's per-process random hasher keys.
fn random_boundary() -> String {
    use std::hash::{BuildHasher, Hasher};
    let bits = |salt: u64| {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(salt);
        hasher.finish()
    };
    format!("gyre-{:016x}{:016x}", bits(1), bits(2))
}

/// The body of a `multipart/byteranges` answer (RFC 9110 §14.6).
pub(crate) fn multipart_pieces(
    ranges: &[std::ops::Range<u64>],
    size: u64,
    content_type: &str,
    boundary: &str,
) -> Vec<Piece> {
    let mut pieces = Vec::with_capacity(ranges.len() * 2 + 1);
    for range in ranges {
        let part_head = format!(
            "\r\n--{boundary}\r\nContent-Type: {content_type}\r\nContent-Range: {}\r\n\r\n",
            content_range(range, size)
        );
        pieces.push(Piece::Bytes(part_head.into_bytes()));
        pieces.push(Piece::File(range.clone()));
    }
    pieces.push(Piece::Bytes(format!("\r\n--{boundary}--\r\n").into_bytes()));
    pieces
}
