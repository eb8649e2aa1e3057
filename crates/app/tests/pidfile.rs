//! Pidfiles: the lock, not the process ID, says whether the server runs,
//! so a stale file (even one naming a live, unrelated process) is taken
//! over and a held one is refused. Also the log filter's checks.

use std::path::PathBuf;

use gyre_app::{LogOptions, Pidfile, PidfileError};

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gyre-pidfile-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("gyre.pid")
}

#[test]
fn a_held_pidfile_is_refused_with_the_pid_and_released_when_removed() {
    let path = temp("held");
    let held = Pidfile::create(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text, format!("{}\n", std::process::id()));
    match Pidfile::create(&path) {
        Err(PidfileError::Running(Some(pid))) => assert_eq!(pid, std::process::id()),
        other => panic!("expected Running, got {other:?}"),
    }
    held.remove();
    assert!(!path.exists(), "removed on a clean stop");
    Pidfile::create(&path).unwrap().remove();
}

#[test]
fn a_stale_pidfile_is_taken_over_even_when_its_pid_is_alive() {
    let path = temp("stale");
    // Process 1 is always alive: an ID alone would wrongly say "running".
    std::fs::write(&path, "1\n").unwrap();
    let taken = Pidfile::create(&path).unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        format!("{}\n", std::process::id())
    );
    drop(taken);
    assert!(
        path.exists(),
        "dropped without remove (a crash) leaves the file..."
    );
    Pidfile::create(&path)
        .expect("...which then counts as stale")
        .remove();
    std::fs::write(&path, "garbage that is not a pid").unwrap();
    Pidfile::create(&path).unwrap().remove();
}

#[test]
fn a_pidfile_in_a_missing_directory_is_an_error() {
    let error = Pidfile::create(std::path::Path::new("/nonexistent/gyre/gyre.pid")).unwrap_err();
    assert!(matches!(error, PidfileError::Io(_)), "{error}");
}

#[test]
fn log_filters_are_levels_or_per_target_levels() {
    let filter = |text: &str| {
        LogOptions {
            filter: text.to_owned(),
            ..LogOptions::default()
        }
        .targets()
    };
    assert!(filter("info").is_ok());
    assert!(filter("warn,gyre::http=debug").is_ok());
    assert!(filter("gyre::app=trace").is_ok());
    assert!(filter("loud").unwrap_err().contains("\"loud\""));
    assert!(filter("gyre::http=verbose").is_err());
}
