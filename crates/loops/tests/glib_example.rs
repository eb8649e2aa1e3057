//! The headless example `glib_web_status` (gyre's HTTP server on a plain
//! GLib main loop), driven by curl: it counts requests, SIGUSR1 (a GLib
//! callback) stops and starts listening, `GET /quit` (reactor.stop())
//! quits the GLib loop, and SIGTERM (the GLib loop quits first) stops the
//! reactor cleanly; both exits are successful.

#[path = "common/program.rs"]
mod program;

use std::time::Duration;

use program::{Program, curl, example, get};

fn start() -> (Program, String) {
    let program = Program::start(std::process::Command::new(example("glib_web_status")).arg("127.0.0.1:0"));
    let line = program.expect("listening on http://");
    let url = line.trim_start_matches("listening on ").to_owned();
    (program, url)
}

#[test]
fn counts_requests_toggles_listening_and_quits_on_request() {
    let (mut program, url) = start();
    assert_eq!(get(&url), "requests served: 1\n");
    program.expect("count 1");
    assert_eq!(get(&url), "requests served: 2\n");
    program.expect("count 2");

    program.signal("USR1");
    program.expect("not listening");
    let refused = curl(&url);
    assert_eq!(refused.status.code(), Some(7), "curl: connection refused");
    program.signal("USR1");
    assert_eq!(program.expect("listening on "), format!("listening on {url}"));
    assert_eq!(get(&url), "requests served: 3\n");
    program.expect("count 3");

    assert_eq!(get(&format!("{url}quit")), "stopping\n");
    program.expect("stopped after 3 requests");
    assert!(program.child.wait_bounded(Duration::from_secs(20)).success());
}

#[test]
fn sigterm_quits_the_main_loop_and_the_reactor_stops_cleanly() {
    let (mut program, url) = start();
    assert_eq!(get(&url), "requests served: 1\n");
    program.expect("count 1");
    program.signal("TERM");
    program.expect("stopped after 1 requests");
    assert!(program.child.wait_bounded(Duration::from_secs(20)).success());
}
