//! Static files: serve a directory tree over HTTP through the
//! [`Handler`] trait, so any router can mount it.
//!
//! ```text
//!   request path ─▶ path::split_path / check_segments   (pure: `..`, %2F, NUL, dotfiles)
//!                ─▶ path::resolve                       (exists? symlink out of the root?)
//!   directory    ─▶ redirect /dir → /dir/, index files, listing::render_listing
//!   file         ─▶ conditional::evaluate_preconditions (304 / 412)
//!                ─▶ range::evaluate_range + if_range_allows (206 / multipart / 416)
//!                ─▶ sender::FileSender                  (pull producer, 64 KiB chunks)
//! ```
//!
//! Every decision (paths, ranges, conditionals, listings, MIME types) is a
//! pure function tested without I/O; this file only glues them to the file
//! system and the [`Response`]. Files are never read whole: the body is a
//! pull producer asked for one chunk each time the client has drained the
//! previous one.
//!
//! ```
//! use std::rc::Rc;
//! use gyre_http::server::HttpServer;
//! use gyre_http::static_files::StaticFiles;
//!
//! let root = std::env::temp_dir().join(format!("gyre-static-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&root).unwrap();
//! std::fs::write(root.join("hello.txt"), "hello\n").unwrap();
//! let site = StaticFiles::new(&root).mime_type("txt", "text/plain; charset=us-ascii");
//! let server = HttpServer::new(Rc::new(gyre_testing::ManualClock::new()), site);
//! let run = gyre_testing::feed_chunked(
//!     || server.protocol(),
//!     b"GET /hello.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=1-3\r\n\r\n",
//! );
//! let answer = String::from_utf8(run.written).unwrap();
//! assert!(answer.starts_with("HTTP/1.1 206 Partial Content\r\n"));
//! assert!(answer.contains("Content-Range: bytes 1-3/6\r\n") && answer.ends_with("\r\n\r\nell"));
//! std::fs::remove_dir_all(&root).unwrap();
//! ```

mod conditional;
mod listing;
mod mime;
mod path;
mod range;
mod sender;
mod serve;

use std::path::{Path, PathBuf};
use std::rc::Rc;

pub use crate::date::{format_http_date, format_log_time, parse_http_date};
pub use conditional::{Precondition, Validators, etag_matches, evaluate_preconditions, if_range_allows};
pub use listing::{ListingEntry, escape_html, percent_encode_segment, render_listing, sort_entries};
pub use mime::{DEFAULT_TYPE, MimeTypes};
pub use path::{PathError, check_segments, is_inside, percent_decode, resolve, split_path};
pub use range::{
    MAX_RANGES, RangeOutcome, RangeSpec, content_range, evaluate_range, parse_range, resolve_ranges,
    unsatisfied_range,
};

use crate::resource::{Reply, Resource, SiteRequest};
use crate::server::{Handler, Request, Response};

/// How a [`StaticFiles`] behaves.
#[derive(Debug, Clone)]
pub struct StaticOptions {
    /// File names tried, in order, for a directory (default `index.html`).
    pub index_names: Vec<String>,
    /// List directories without an index file (default true); else 403.
    pub listing: bool,
    /// Serve and list names starting with `.` (default false: 404).
    pub show_hidden: bool,
    /// Follow symbolic links that lead out of the root (default false: 404).
    pub follow_symlinks_outside: bool,
    /// Extension → media type.
    pub mime: MimeTypes,
    /// Bytes read and written per producer turn (default 64 KiB).
    pub chunk_size: usize,
    /// Header fields added to every successful answer (`Cache-Control`, …).
    pub headers: Vec<(String, String)>,
}

impl Default for StaticOptions {
    fn default() -> Self {
        StaticOptions {
            index_names: vec!["index.html".to_owned()],
            listing: true,
            show_hidden: false,
            follow_symlinks_outside: false,
            mime: MimeTypes::new(),
            chunk_size: 64 * 1024,
            headers: Vec::new(),
        }
    }
}

/// Serves the files under a root directory (Twisted's `static.File`).
///
/// As a [`Handler`] it serves a whole site from the request path; mounted
/// under a router, call [`serve`](Self::serve) with the segments left
/// after the router's prefix.
#[derive(Clone)]
pub struct StaticFiles {
    root: PathBuf,
    options: Rc<StaticOptions>,
}

impl StaticFiles {
    /// Serves `root` with default options. The root is canonicalized now
    /// (when it exists) so symlink confinement compares real paths.
    pub fn new(root: impl AsRef<Path>) -> Self {
        Self::with_options(root, StaticOptions::default())
    }

    /// Serves `root` with `options`.
    pub fn with_options(root: impl AsRef<Path>, options: StaticOptions) -> Self {
        let root = root.as_ref();
        StaticFiles {
            root: root.canonicalize().unwrap_or_else(|_| root.to_path_buf()),
            options: Rc::new(options),
        }
    }

    /// The root directory (canonical when it existed at construction).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The options in effect.
    pub fn options(&self) -> &StaticOptions {
        &self.options
    }

    fn options_mut(&mut self) -> &mut StaticOptions {
        Rc::make_mut(&mut self.options)
    }

    /// Replaces the index file names.
    pub fn index_names<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.options_mut().index_names = names.into_iter().map(Into::into).collect();
        self
    }

    /// Maps a file extension to a media type.
    pub fn mime_type(mut self, extension: &str, media_type: &str) -> Self {
        self.options_mut().mime.insert(extension, media_type);
        self
    }

    /// Turns directory listings on or off.
    pub fn listing(mut self, enabled: bool) -> Self {
        self.options_mut().listing = enabled;
        self
    }

    /// Serves dotfiles too.
    pub fn show_hidden(mut self, enabled: bool) -> Self {
        self.options_mut().show_hidden = enabled;
        self
    }

    /// Follows symbolic links out of the root.
    pub fn follow_symlinks_outside(mut self, enabled: bool) -> Self {
        self.options_mut().follow_symlinks_outside = enabled;
        self
    }

    /// Adds a header field to every successful answer.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.options_mut()
            .headers
            .push((name.to_owned(), value.to_owned()));
        self
    }

    /// Answers `request` with the file named by `segments` (decoded path
    /// segments below the root; a final empty segment means the path
    /// ended with `/`). Redirects use the request's own path, so this works
    /// under any mount point.
    pub fn serve<S: AsRef<str>>(&self, request: &Request, response: &Response, segments: &[S]) {
        let sink: serve::Sink = Rc::new(response.clone());
        serve::serve(self, request.head(), &sink, segments);
    }
}

/// Mounted in a resource tree (`Node::with_child("files", Rc::new(StaticFiles::new(dir)))`),
/// the directory serves the rest of the path below its mount point, through
/// whatever wraps it (gzip, Basic auth) like any other resource.
impl Resource for StaticFiles {
    fn is_leaf(&self) -> bool {
        true
    }

    fn render(&self, request: &SiteRequest, reply: Reply) {
        let sink: serve::Sink = Rc::new(reply);
        serve::serve(self, request.head(), &sink, request.postpath());
    }
}

impl Handler for StaticFiles {
    fn handle(&self, request: Request, response: Response) {
        match split_path(request.head().target.path()) {
            Ok(segments) => self.serve(&request, &response, &segments),
            Err(_) => serve::refuse(
                &(Rc::new(response) as serve::Sink),
                crate::StatusCode::BAD_REQUEST,
            ),
        }
    }
}
