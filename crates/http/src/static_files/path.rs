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
    resolve_checked(root, names, confine).map(|resolved| resolved.path)
}

/// What [`resolve_checked`] found.
pub(crate) struct Resolved {
    /// The names joined under the root.
    pub(crate) path: PathBuf,
    /// Whether a symbolic link was met below the root.
    pub(crate) linked: bool,
    /// Whether the path (links followed) is a directory.
    pub(crate) is_dir: bool,
}

/// [`resolve`], also telling whether a symbolic link was met below the
/// root. When none was (one `lstat` per name, the usual case), the path is
/// the names joined as written: inside the (canonical) root and, the names
/// having passed [`check_segments`], no dotfile; only a link costs the
/// `realpath` walk (a `readlink` per component of the whole path). A
/// request for a file directly under the root costs one system call here.
pub(crate) fn resolve_checked(root: &Path, names: &[&str], confine: bool) -> Option<Resolved> {
    let mut path = root.to_path_buf();
    let mut linked = false;
    let mut is_dir = true; // the root itself
    for name in names {
        path.push(name);
        if !linked {
            let file_type = std::fs::symlink_metadata(&path).ok()?.file_type();
            linked = file_type.is_symlink();
            is_dir = file_type.is_dir();
        }
    }
    if linked {
        if !path.exists() || (confine && !is_inside(root, &path)) {
            return None;
        }
        is_dir = path.is_dir();
    }
    Some(Resolved { path, linked, is_dir })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_checked_walks_links_only_when_it_meets_one() {
        let base = std::env::temp_dir().join(format!("gyre-resolve-{}", std::process::id()));
        let (root, outside) = (base.join("root"), base.join("outside"));
        std::fs::create_dir_all(root.join("dir")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(root.join("dir/file.txt"), "in").unwrap();
        std::fs::write(outside.join("secret.txt"), "out").unwrap();
        std::os::unix::fs::symlink(root.join("dir"), root.join("inner-link")).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("outer-link")).unwrap();
        let root = root.canonicalize().unwrap();

        let plain = resolve_checked(&root, &["dir", "file.txt"], true).unwrap();
        assert!(!plain.linked && !plain.is_dir && plain.path == root.join("dir/file.txt"));
        assert!(resolve_checked(&root, &["dir"], true).unwrap().is_dir);
        assert!(resolve_checked(&root, &[], true).unwrap().is_dir);
        assert!(resolve_checked(&root, &["dir", "missing"], true).is_none());
        assert!(resolve_checked(&root, &["dir", "file.txt", "below-a-file"], true).is_none());

        let inner = resolve_checked(&root, &["inner-link", "file.txt"], true).unwrap();
        assert!(inner.linked && !inner.is_dir);
        assert!(resolve_checked(&root, &["inner-link"], true).unwrap().is_dir);
        assert!(resolve_checked(&root, &["outer-link", "secret.txt"], true).is_none());
        assert!(
            resolve_checked(&root, &["outer-link", "secret.txt"], false)
                .unwrap()
                .linked
        );
        std::fs::remove_dir_all(&base).unwrap();
    }
}
