//! A child sees exactly the descriptors it was given: descriptors the parent
//! holds without close-on-exec (a build tool's jobserver pipe, a
//! supervisor's socket) do not leak into it, as in Twisted, which closes
//! every descriptor it did not map.

mod process_support;

use std::fs::File;
use std::os::fd::AsFd;
use std::os::fd::AsRawFd;
use std::time::Duration;

use gyre_core::process::ChildFd;
use gyre_reactor::Reactor;
use gyre_reactor::process::ChildFdMode;
use process_support::{Log, Reap, run_bounded, sh, spawn_recorded};
use rustix::io::{FdFlags, fcntl_setfd};

/// A descriptor the parent holds without close-on-exec.
fn inheritable_file() -> File {
    let file = File::open("/dev/null").unwrap();
    fcntl_setfd(file.as_fd(), FdFlags::empty()).unwrap();
    file
}

#[test]
fn a_parent_descriptor_without_close_on_exec_does_not_reach_the_child() {
    let stray = inheritable_file();
    let number = stray.as_raw_fd();
    let reactor = Reactor::new().unwrap();
    let log = Log::default();
    let mut reap = Reap::default();
    let script = format!("if [ -e /proc/self/fd/{number} ]; then echo leaked; else echo clean; fi");
    spawn_recorded(&reactor, &log, &mut reap, sh(&script));
    run_bounded(&reactor, Duration::from_secs(10));
    assert_eq!(
        log.text(1),
        "clean\n",
        "descriptor {number} leaked into the child"
    );
    drop(stray);
}

#[test]
fn mapped_descriptors_still_reach_the_child_next_to_a_stray_one() {
    let stray = inheritable_file();
    let number = stray.as_raw_fd();
    let reactor = Reactor::new().unwrap();
    let log = Log::default();
    let mut reap = Reap::default();
    let script =
        format!("echo mapped >&3; if [ -e /proc/self/fd/{number} ]; then echo leaked; else echo clean; fi");
    let options = sh(&script).child_fd(ChildFd(3), ChildFdMode::FromChild);
    spawn_recorded(&reactor, &log, &mut reap, options);
    run_bounded(&reactor, Duration::from_secs(10));
    assert_eq!(log.text(3), "mapped\n");
    // If the stray descriptor happens to be number 3, the mapping replaced
    // it in the child, which is also what must happen.
    if number != 3 {
        assert_eq!(log.text(1), "clean\n");
    }
    drop(stray);
}
