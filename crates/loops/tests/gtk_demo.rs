//! The GTK 4 demo `gtk_web_status` under Xvfb: its window shows the number
//! of requests served, counted by gyre's HTTP server running on GTK's main
//! loop. curl sends the requests; the button's `clicked` signal (emitted
//! by the program on SIGUSR1) stops and starts listening; `GET /quit` stops
//! the reactor, which quits GTK's loop. Screenshots of the X display
//! (ImageMagick's `import`) before and after the requests are saved under
//! `target/tmp/gtk_web_status/` (test artifacts, never committed) and must
//! differ: the label on screen changed.

#[path = "common/program.rs"]
mod program;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use gyre_testing::peers::{KillOnDrop, require_program};
use program::{Program, curl, eventually, example, get};

/// A private X server; `-displayfd` makes it pick a free display number
/// and print it, so no display number is fixed.
fn start_xvfb() -> (KillOnDrop, String) {
    require_program("Xvfb", "xvfb");
    let mut child = Command::new("Xvfb")
        .args([
            "-displayfd",
            "1",
            "-screen",
            "0",
            "640x400x24",
            "-nolisten",
            "tcp",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting Xvfb");
    let stdout = child.stdout.take().unwrap();
    let guard = KillOnDrop(child);
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = sender.send(line);
    });
    let display = receiver
        .recv_timeout(Duration::from_secs(30))
        .expect("Xvfb printed its display");
    let display = format!(":{}", display.trim());
    assert!(display.len() > 1, "Xvfb did not start");
    (guard, display)
}

/// A screenshot of the whole X display, saved at `path`.
fn screenshot(display: &str, path: &Path) {
    let status = Command::new("import")
        .args(["-display", display, "-window", "root"])
        .arg(path)
        .status()
        .expect("running import");
    assert!(status.success(), "import failed");
}

/// How many distinct colours the image has (1 for a blank screen).
fn colours(path: &Path) -> u64 {
    let output = Command::new("identify")
        .args(["-format", "%k"])
        .arg(path)
        .output()
        .expect("running identify");
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

/// How many pixels differ between two images (`compare -metric AE`).
fn differing_pixels(a: &Path, b: &Path) -> u64 {
    let output = Command::new("compare")
        .args(["-metric", "AE"])
        .arg(a)
        .arg(b)
        .arg("null:")
        .output()
        .expect("running compare");
    let text = String::from_utf8_lossy(&output.stderr);
    text.split_whitespace()
        .next()
        .and_then(|n| n.parse::<f64>().ok())
        .unwrap_or(0.0) as u64
}

fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("gtk_web_status");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_window_counts_requests_served_in_process_and_the_button_toggles_listening() {
    require_program("import", "imagemagick");
    let binary = example("gtk_web_status");
    let (_xvfb, display) = start_xvfb();
    let mut program = Program::start(
        Command::new(binary)
            .arg("127.0.0.1:0")
            .env("DISPLAY", &display)
            .env("GDK_BACKEND", "x11")
            // Software rendering: Xvfb has no GPU.
            .env("GSK_RENDERER", "cairo")
            .env("NO_AT_BRIDGE", "1")
            .env_remove("WAYLAND_DISPLAY"),
    );
    let url = program
        .expect("listening on http://")
        .trim_start_matches("listening on ")
        .to_owned();
    program.expect("window mapped");

    let dir = artifacts();
    let before = dir.join("before.png");
    // Mapped is not yet drawn: wait until the screen is more than one colour.
    eventually(Duration::from_secs(30), "the window was drawn", || {
        screenshot(&display, &before);
        colours(&before) > 2
    });

    for n in 1..=3 {
        assert_eq!(get(&url), format!("requests served: {n}\n"));
        program.expect(&format!("count {n}"));
    }
    // The button: stop listening, then listen again on the same address.
    program.signal("USR1");
    program.expect("not listening");
    assert_eq!(curl(&url).status.code(), Some(7), "curl: connection refused");
    program.signal("USR1");
    assert_eq!(program.expect("listening on "), format!("listening on {url}"));
    assert_eq!(get(&url), "requests served: 4\n");
    program.expect("count 4");

    let after = dir.join("after.png");
    eventually(Duration::from_secs(30), "the screen shows the new count", || {
        screenshot(&display, &after);
        differing_pixels(&before, &after) > 0
    });
    let size = std::fs::metadata(&after).unwrap().len();
    assert!(
        size > 2_000 && colours(&after) > 2,
        "a screenshot of a window, not a blank screen ({size} bytes)"
    );
    println!("screenshots: {} and {}", before.display(), after.display());

    assert_eq!(get(&format!("{url}quit")), "stopping\n");
    program.expect("stopped after 4 requests");
    assert!(program.child.wait_bounded(Duration::from_secs(20)).success());
}
