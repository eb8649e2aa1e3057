//! Turning a request path into a file under the root, refusing every way
//! out of it. The segment checks are pure; [`resolve`] adds the file
//! system (existence, symlink targets).

use std::path::{Path, PathBuf};

use crate::resource::percent_unescape;

/// Why a path was refused before touching the file system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathError {
    /// A `%` not followed by two hex digits.
    BadEscape,
    /// Not UTF-8 once decoded.
    NotUtf8,
    /// A segment that is `.` or `..`, empty in the middle of the path, or
    /// holds `/` (an encoded slash), `\` or NUL.
    Forbidden,
    /// A dotfile while they are hidden.
    Hidden,
}

/// Decodes `%XX` escapes of one segment.
pub fn percent_decode(segment: &str) -> Result<String, PathError> {
    let out = percent_unescape(segment).ok_or(PathError::BadEscape)?;
    String::from_utf8(out).map_err(|_| PathError::NotUtf8)
}

/// Splits the path of a request target (`/a/b%20c/`) into decoded
/// segments. A trailing slash gives a final empty segment, so `/` is one
/// empty segment: the root, asked for as a directory.
pub fn split_path(path: &str) -> Result<Vec<String>, PathError> {
    let path = path.strip_prefix('/').unwrap_or(path);
    path.split('/').map(percent_decode).collect()
}

/// Checks decoded segments: returns the names to join under the root and
/// whether the path ended with a slash (asked for a directory).
pub fn check_segments<S: AsRef<str>>(
    segments: &[S],
    show_hidden: bool,
) -> Result<(Vec<&str>, bool), PathError> {
    let mut names = Vec::with_capacity(segments.len());
    let mut trailing_slash = false;
    for (at, segment) in segments.iter().enumerate() {
        let segment = segment.as_ref();
        if segment.is_empty() {
            if at + 1 == segments.len() {
                trailing_slash = true;
                continue;
            }
            return Err(PathError::Forbidden);
        }
        if segment == "." || segment == ".." || segment.contains(['/', '\\', '\0']) {
            return Err(PathError::Forbidden);
        }
        if segment.starts_with('.') && !show_hidden {
            return Err(PathError::Hidden);
        }
        names.push(segment);
    }
    Ok((names, trailing_slash))
}

/// Whether `path` (which must exist) stays under `root` (canonical) once
/// every symbolic link is followed.
pub fn is_inside(root: &Path, path: &Path) -> bool {
    path.canonicalize().is_ok_and(|real| real.starts_with(root))
}

/// Joins checked names under `root`; `None` when the result does not
/// exist or, with `confine`, leaves the root through a symbolic link.
pub fn resolve(root: &Path, names: &[&str], confine: bool) -> Option<PathBuf> {
    let mut path = root.to_path_buf();
    path.extend(names);
    if !path.exists() || (confine && !is_inside(root, &path)) {
        return None;
    }
    Some(path)
}
