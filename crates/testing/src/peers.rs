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

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::{Duration, Instant};

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

impl KillOnDrop {
    /// Waits for the child to exit, at most `limit`; fails the test after
    /// that (and the guard then kills it).
    #[track_caller]
    pub fn wait_bounded(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.0.try_wait().expect("waiting for the child") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "child {} did not exit within {limit:?}",
                self.0.id()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends `signal` (a name for `kill -s`: `TERM`, `INT`, `HUP`) and waits,
    /// at most `limit`, for the exit status: how a test checks a clean stop.
    #[track_caller]
    pub fn signal_and_wait(&mut self, signal: &str, limit: Duration) -> std::process::ExitStatus {
        let pid = self.0.id().to_string();
        let sent = Command::new("kill").args(["-s", signal, &pid]).status();
        assert!(
            sent.is_ok_and(|status| status.success()),
            "kill -s {signal} {pid} failed"
        );
        self.wait_bounded(limit)
    }
}

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
    example_binary_with_features(manifest_dir, name, &[])
}

/// [`example_binary`] for an example that needs cargo features of its
/// package (`required-features`), built with exactly those features on.
///
/// # Panics
/// When the build fails, with cargo's error output.
pub fn example_binary_with_features(manifest_dir: &Path, name: &str, features: &[&str]) -> PathBuf {
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
    if !features.is_empty() {
        build.arg("--features").arg(features.join(","));
    }
    // The variables cargo sets for the running test (CARGO_MANIFEST_DIR,
    // CARGO_PKG_NAME, ...) must not reach the build: build scripts that
    // track them (ring's does) would see them change between this build
    // and an ordinary `cargo build`, and rebuild half the dependency tree
    // every time a test binary builds an example.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        let per_crate = ["CARGO_PKG_", "CARGO_BIN_", "CARGO_MANIFEST_", "CARGO_CRATE_"]
            .iter()
            .any(|prefix| key.starts_with(prefix))
            || [
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "CARGO_RUSTC_CURRENT_DIR",
            ]
            .contains(&&*key);
        if per_crate {
            build.env_remove(&*key);
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

/// Starts `command`, writes `input` to it (standard input stays open), and
/// waits (bounded) for a line of its standard output starting with
/// `ready`; returns the process and that line.
#[track_caller]
pub fn start_until(command: &mut Command, input: &[u8], ready: &str) -> (KillOnDrop, String) {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {:?}: {e}", command.get_program()));
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let ready = ready.to_owned();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout);
        let mut line = String::new();
        while lines.read_line(&mut line).unwrap_or(0) > 0 {
            if line.starts_with(&ready) {
                let _ = tx.send(line.trim_end().to_owned());
                break;
            }
            line.clear();
        }
        // Keep draining so the program never blocks on a full pipe.
        let _ = std::io::copy(&mut lines, &mut std::io::sink());
    });
    let mut child = KillOnDrop(child);
    // Written once standard output is being read, so a program that
    // prints before it reads cannot block both sides on full pipes.
    let _ = child.0.stdin.as_mut().unwrap().write_all(input);
    let line = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_else(|error| {
        let why = match error {
            mpsc::RecvTimeoutError::Timeout => "did not get ready in time",
            mpsc::RecvTimeoutError::Disconnected => "closed its output without getting ready",
        };
        panic!("{:?} {why}", command.get_program())
    });
    (child, line)
}

/// Runs `command` with `input` on standard input, killed and failing the
/// test after `limit`. Standard input stays open until the program exits,
/// so tools that stop at end of input (`openssl s_client`) first read the
/// server's answer; see [`run_to_end_of_input`] for programs that read
/// their whole input first.
#[track_caller]
pub fn run(command: &mut Command, input: &[u8], limit: Duration) -> Output {
    run_with(command, input, limit, StdinEnd::AtExit)
}

/// Like [`run`], but standard input is closed once `input` is written, for
/// programs that read to end of input before they act.
#[track_caller]
pub fn run_to_end_of_input(command: &mut Command, input: &[u8], limit: Duration) -> Output {
    run_with(command, input, limit, StdinEnd::AfterInput)
}

/// When [`run_with`] closes the child's standard input.
enum StdinEnd {
    AtExit,
    AfterInput,
}

#[track_caller]
fn run_with(command: &mut Command, input: &[u8], limit: Duration, end: StdinEnd) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {:?}: {e}", command.get_program()));
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
        match end {
            StdinEnd::AtExit => Some(stdin),
            StdinEnd::AfterInput => None,
        }
    });
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let mut child = KillOnDrop(child);
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "{:?} ran longer than {limit:?}",
            command.get_program()
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    drop(writer.join().unwrap());
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// A TCP port that was free a moment ago, for peers that need one given.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
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
