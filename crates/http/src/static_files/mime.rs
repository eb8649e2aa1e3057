//! Media types from file name extensions: a built-in table of the common
//! types, extended or overridden by the user.

use std::collections::HashMap;

/// The type of anything the table does not know.
pub const DEFAULT_TYPE: &str = "application/octet-stream";

const BUILTIN: &[(&str, &str)] = &[
    ("html", "text/html"),
    ("htm", "text/html"),
    ("css", "text/css"),
    ("js", "text/javascript"),
    ("mjs", "text/javascript"),
    ("json", "application/json"),
    ("map", "application/json"),
    ("webmanifest", "application/manifest+json"),
    ("txt", "text/plain"),
    ("text", "text/plain"),
    ("log", "text/plain"),
    ("md", "text/markdown"),
    ("csv", "text/csv"),
    ("tsv", "text/tab-separated-values"),
    ("xml", "application/xml"),
    ("xhtml", "application/xhtml+xml"),
    ("rss", "application/rss+xml"),
    ("atom", "application/atom+xml"),
    ("svg", "image/svg+xml"),
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("gif", "image/gif"),
    ("webp", "image/webp"),
    ("avif", "image/avif"),
    ("ico", "image/x-icon"),
    ("bmp", "image/bmp"),
    ("tif", "image/tiff"),
    ("tiff", "image/tiff"),
    ("woff", "font/woff"),
    ("woff2", "font/woff2"),
    ("ttf", "font/ttf"),
    ("otf", "font/otf"),
    ("wasm", "application/wasm"),
    ("pdf", "application/pdf"),
    ("zip", "application/zip"),
    ("gz", "application/gzip"),
    ("tgz", "application/gzip"),
    ("tar", "application/x-tar"),
    ("bz2", "application/x-bzip2"),
    ("xz", "application/x-xz"),
    ("zst", "application/zstd"),
    ("7z", "application/x-7z-compressed"),
    ("mp3", "audio/mpeg"),
    ("ogg", "audio/ogg"),
    ("oga", "audio/ogg"),
    ("opus", "audio/opus"),
    ("wav", "audio/wav"),
    ("flac", "audio/flac"),
    ("m4a", "audio/mp4"),
    ("mp4", "video/mp4"),
    ("m4v", "video/mp4"),
    ("webm", "video/webm"),
    ("ogv", "video/ogg"),
    ("mov", "video/quicktime"),
    ("mkv", "video/x-matroska"),
    ("avi", "video/x-msvideo"),
    ("rs", "text/x-rust"),
    ("py", "text/x-python"),
    ("c", "text/x-c"),
    ("h", "text/x-c"),
    ("sh", "application/x-sh"),
    ("toml", "application/toml"),
    ("yaml", "application/yaml"),
    ("yml", "application/yaml"),
];

/// Extension → media type, built-in entries plus the user's.
#[derive(Debug, Clone, Default)]
pub struct MimeTypes {
    extra: HashMap<String, String>,
}

impl MimeTypes {
    /// The built-in table only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Maps `extension` (without the dot, any case) to `media_type`,
    /// overriding the built-in entry. The type is used exactly as given.
    pub fn insert(&mut self, extension: &str, media_type: &str) {
        let extension = extension.trim_start_matches('.').to_ascii_lowercase();
        self.extra.insert(extension, media_type.to_owned());
    }

    /// The `Content-Type` for a file name: the user's entry, else the
    /// built-in one with `; charset=utf-8` for text types, else
    /// [`DEFAULT_TYPE`].
    pub fn content_type(&self, file_name: &str) -> String {
        let Some((_, extension)) = file_name.rsplit_once('.') else {
            return DEFAULT_TYPE.to_owned();
        };
        let extension = extension.to_ascii_lowercase();
        if let Some(found) = self.extra.get(&extension) {
            return found.clone();
        }
        match BUILTIN.iter().find(|(ext, _)| *ext == extension) {
            Some((_, media)) if media.starts_with("text/") || *media == "image/svg+xml" => {
                format!("{media}; charset=utf-8")
            }
            Some((_, media)) => (*media).to_owned(),
            None => DEFAULT_TYPE.to_owned(),
        }
    }
}
