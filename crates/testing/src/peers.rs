//! Running third-party peers and example programs from interop tests.
//!
//! Interop tests start real programs nobody on the team wrote (socat,
//! openssl, curl, Python) and the crates' own examples as separate
//! processes. Three things every such test needs, in one place:
//! a clear failure naming the Debian package when a peer is missing (the
//! test command installs them, so a missing one is a set-up bug, not a
//! reason to skip), a guard that kills the child by PID and reaps it even
//! when the test fails half-way, and an example binary built on demand so a
//! test never runs a stale one.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Mutex;

/// Fails the test, naming the Debian package to install, when `program` is
/// not on the `PATH`.
#[track_caller]
pub fn require_program(program: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "`{program}` is needed by this test: install the Debian package `{package}` \
         (bash tools/test.sh installs every peer the tests need)"
    );
}

/// A child process, killed (by its PID) and reaped when dropped, so a
/// failing test leaves no process behind.
#[derive(Debug)]
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// The path of example `name` of the package whose manifest directory is
/// `manifest_dir` (pass `env!("CARGO_MANIFEST_DIR")`), built first with the
/// profile and target directory of the running test, so it is never stale.
/// Builds are serialised within one test process.
///
/// # Panics
/// When the build fails, with cargo's error output.
pub fn example_binary(manifest_dir: &Path, name: &str) -> PathBuf {
    static BUILD: Mutex<()> = Mutex::new(());
    let _one_build_at_a_time = BUILD.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    // The test binary is target/<profile>/deps/<name>-<hash>.
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps");
    let target_dir = profile_dir.parent().expect("target/");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .args(["build", "--quiet", "--example", name, "--manifest-path"])
        .arg(manifest_dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir);
    // Cargo sets these for the running test. A build script that watches
    // one (ring's watches CARGO_MANIFEST_DIR) would see it differ from a
    // plain `cargo build` and rebuild itself and everything above it each time.
    for (key, _) in std::env::vars_os() {
        let per_crate = key.to_str().is_some_and(|key| {
            key.starts_with("CARGO_PKG_")
                || matches!(
                    key,
                    "CARGO_MANIFEST_DIR"
                        | "CARGO_MANIFEST_PATH"
                        | "CARGO_CRATE_NAME"
                        | "CARGO_PRIMARY_PACKAGE"
                        | "CARGO_TARGET_TMPDIR"
                )
        });
        if per_crate {
            build.env_remove(key);
        }
    }
    if profile_dir
        .file_name()
        .is_some_and(|profile| profile == "release")
    {
        build.arg("--release");
    }
    let output = build.output().expect("running cargo build for an example");
    assert!(
        output.status.success(),
        "building example {name} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let path = profile_dir.join("examples").join(name);
    assert!(path.exists(), "{} was not built", path.display());
    path
}

/// The Python interpreter of the test peers' virtual environment
/// (`.venv-peers` at the workspace root), where `bash tools/test.sh`
/// installs the Python packages the interop tests use (Twisted, for one).
///
/// # Panics
/// When the environment is missing or lacks `module`, saying how to make it.
#[track_caller]
pub fn peer_python(module: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = root.join(".venv-peers/bin/python");
    let importable = python.is_file()
        && Command::new(&python)
            .args(["-c", &format!("import {module}")])
            .output()
            .is_ok_and(|output| output.status.success());
    assert!(
        importable,
        "the interop test needs the Python module `{module}` in {}: run `bash tools/test.sh`, \
         which creates that environment and installs the packages listed in PIP_PACKAGES",
        python.display()
    );
    python
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_program_fails_naming_its_package() {
        require_program("sh", "dash");
        let failure = std::panic::catch_unwind(|| require_program("gyre-no-such-program", "gyre-pkg"));
        let message = failure.unwrap_err();
        let message = message.downcast_ref::<String>().expect("a formatted message");
        assert!(message.contains("gyre-pkg"), "{message}");
    }

    #[test]
    fn a_guarded_child_is_killed_and_reaped_on_drop() {
        let child = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id();
        drop(KillOnDrop(child));
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        assert!(stat.is_empty(), "process {pid} still exists: {stat}");
    }
}
