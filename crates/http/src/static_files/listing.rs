//! Directory listings as HTML: escaped names, percent-encoded links,
//! directories first. Rendering is a pure function of the entries.

use std::fmt::Write;
use std::time::SystemTime;

use crate::date::format_http_date;

/// One row of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListingEntry {
    /// The file name, as on disk.
    pub name: String,
    /// Whether it is a directory (linked with a trailing slash).
    pub is_dir: bool,
    /// Its size in bytes (not shown for directories).
    pub size: u64,
    /// Its modification time.
    pub modified: SystemTime,
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes one path segment: everything but the RFC 3986
/// unreserved characters, so `?`, `#`, `/`, `%` and spaces in names make
/// working links.
pub fn percent_encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// Sorts entries the way listings show them: directories first, then by name.
pub fn sort_entries(entries: &mut [ListingEntry]) {
    entries.sort_by(|a, b| b.is_dir.cmp(&a.is_dir).then_with(|| a.name.cmp(&b.name)));
}

/// The HTML page for directory `title` (the decoded request path) listing
/// `entries` in the order given (see [`sort_entries`]); a parent link
/// except at `/`.
pub fn render_listing(title: &str, entries: &[ListingEntry]) -> String {
    let title = escape_html(title);
    let mut page = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of {title}</title></head>\n\
         <body><h1>Index of {title}</h1>\n<table>\n\
         <tr><th>Name</th><th>Size</th><th>Last modified</th></tr>\n"
    );
    if title != "/" {
        page.push_str("<tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>\n");
    }
    for entry in entries {
        let slash = if entry.is_dir { "/" } else { "" };
        let size = if entry.is_dir {
            "-".to_owned()
        } else {
            entry.size.to_string()
        };
        let _ = writeln!(
            page,
            "<tr><td><a href=\"{}{slash}\">{}{slash}</a></td><td>{size}</td><td>{}</td></tr>",
            percent_encode_segment(&entry.name),
            escape_html(&entry.name),
            format_http_date(entry.modified),
        );
    }
    page.push_str("</table></body></html>\n");
    page
}
