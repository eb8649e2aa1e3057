//! Helpers for the Unix socket, adoption and stdio tests: a scratch
//! directory for socket files, unique abstract names, and a guard that
//! stops a child process by its pid. (Examples and third-party peers are
//! run with `tcp_support::programs`.)
#![allow(dead_code)] // each test file uses a different part

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use gyre_core::address::UnixAddress;

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A fresh directory under the system temp dir, removed when dropped.
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    /// Creates `gyre-unix-PID-N` for a test named `name`.
    pub fn new(name: &str) -> Self {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("gyre-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("creating a scratch directory");
        ScratchDir(dir)
    }

    /// A path inside the directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// The directory itself.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A Linux abstract socket name no other test (or test run) uses.
pub fn abstract_name(name: &str) -> UnixAddress {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    UnixAddress::Abstract(format!("gyre-test-{name}-{}-{n}", std::process::id()).into_bytes())
}

#[allow(unused_imports)] // not every test file that includes this module uses it
pub use gyre_testing::peers::KillOnDrop;
