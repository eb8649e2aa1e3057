//! Starting a child: turning [`ProcessOptions`] into a `std::process::Command`
//! with the right descriptors, spawning it, and registering our ends of its
//! pipes with the loop.
//!
//! std does the fork and exec, reports a program that cannot be run (missing,
//! not executable, bad working directory) as an error from `spawn`, and
//! places stdin, stdout and stderr. Descriptors above 2 and the terminal set-up
//! of PTY mode are done in the child by [`ChildSetup`]. Every descriptor
//! made here is close-on-exec, so the child gets exactly the ones asked for.

use std::collections::BTreeMap;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::rc::Rc;

use gyre_core::Failure;
use gyre_core::process::ProcessProtocol;
use rustix::fs::{Mode, OFlags};
use rustix::pipe::PipeFlags;
use rustix::pty::OpenptFlags;
use rustix::termios::{SpecialCodeIndex, Winsize};

use super::child::Process;
use super::options::{ChildFdMode, ProcessOptions, PtySize};
use super::pipe::Direction;
use crate::reactor::Reactor;
use crate::sys::child_setup::ChildSetup;

/// The end-of-file character when the terminal cannot be asked (^D).
const DEFAULT_EOF: u8 = 4;

/// Descriptors prepared for one spawn.
#[derive(Default)]
struct Wiring {
    /// Our ends, to register once the child runs: (child fd, our end, direction).
    ours: Vec<(u32, OwnedFd, Direction)>,
    /// The child's ends by child descriptor, closed here after the spawn.
    theirs: BTreeMap<u32, OwnedFd>,
    setup: ChildSetup,
    /// In PTY mode, the terminal's end-of-file character.
    terminal_eof: Option<u8>,
}

pub(crate) fn spawn(
    reactor: &Reactor,
    protocol: Box<dyn ProcessProtocol>,
    options: ProcessOptions,
) -> Result<Rc<Process>, Failure> {
    let name = options.program.to_string_lossy().into_owned();
    let failed = |error: io::Error| Failure::new(error).context(format!("spawning {name}"));
    // A closed reactor would never reap the child or deliver its events.
    if reactor.is_closed() {
        return Err(failed(io::Error::other("the reactor is closed")));
    }
    let mut command = Command::new(&options.program);
    command.args(&options.args);
    if options.env_clear {
        command.env_clear();
    }
    for (key, value) in &options.env {
        match value {
            Some(value) => command.env(key, value),
            None => command.env_remove(key),
        };
    }
    if let Some(dir) = &options.cwd {
        command.current_dir(dir);
    }
    let wiring = wire(&mut command, options).map_err(failed)?;
    let Wiring {
        ours,
        theirs,
        setup,
        terminal_eof,
    } = wiring;
    // Keep std's exec-error pipe off the numbers the child's descriptors go
    // to (see `ChildSetup::reserve_targets`); released once the child runs.
    let placeholders = setup.reserve_targets().map_err(failed)?;
    setup.install(&mut command);

    let children = &reactor.inner.children;
    children.prepare(reactor);
    let spawned = command.spawn();
    // The child has its copies now (or failed): close ours, so that end of
    // file arrives when the child closes its ends.
    drop(command);
    drop(theirs);
    drop(placeholders);
    let child = match spawned {
        Ok(child) => child,
        Err(error) => {
            children.release_if_idle(reactor);
            return Err(failed(error));
        }
    };

    let process = Process::new(reactor, protocol, child, terminal_eof);
    children.add(reactor, process.clone());
    for (fd, end, direction) in ours {
        if let Err(error) = process.add_pipe(reactor, fd, end, direction) {
            process.abandon();
            return Err(failed(error).context("registering the child's pipes"));
        }
    }
    let starting = process.clone();
    reactor.call_soon(move || starting.start());
    Ok(process)
}

/// Makes the pipes, terminal and descriptor plan for `options`.
fn wire(command: &mut Command, options: ProcessOptions) -> io::Result<Wiring> {
    let mut wiring = Wiring::default();
    let pty = options.pty.is_some();
    if let Some(size) = options.pty {
        let (master, slave, eof) = open_pty(size)?;
        command.stdin(Stdio::from(slave.try_clone()?));
        command.stdout(Stdio::from(slave.try_clone()?));
        command.stderr(Stdio::from(slave));
        wiring.setup.controlling_tty();
        wiring.terminal_eof = Some(eof);
        wiring.ours.push((1, master, Direction::Terminal));
    }
    for (fd, mode) in options.fds {
        if pty && fd <= 2 {
            continue;
        }
        let theirs = match mode {
            ChildFdMode::FromChild => {
                let (read, write) = pipe()?;
                wiring.ours.push((fd, read, Direction::FromChild));
                write
            }
            ChildFdMode::ToChild => {
                let (read, write) = pipe()?;
                wiring.ours.push((fd, write, Direction::ToChild));
                read
            }
            ChildFdMode::Inherit => {
                if fd <= 2 {
                    set_stdio(command, fd, Stdio::inherit());
                } else {
                    wiring.setup.inherit(fd as i32);
                }
                continue;
            }
            ChildFdMode::Null => {
                rustix::fs::open("/dev/null", OFlags::RDWR | OFlags::CLOEXEC, Mode::empty())?
            }
            ChildFdMode::Fd(fd) => fd,
            ChildFdMode::SameAs(other) => match wiring.theirs.get(&other.0) {
                Some(end) => end.try_clone()?,
                None => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!(
                            "child fd {fd} is to be the same as fd {}, which is not set up before it",
                            other.0
                        ),
                    ));
                }
            },
        };
        // A descriptor numbered 0 to 2 here (when this process closed its
        // own stdio) would be overwritten in the child before it is placed.
        let theirs = if theirs.as_raw_fd() <= 2 {
            rustix::io::fcntl_dupfd_cloexec(&theirs, 3)?
        } else {
            theirs
        };
        if fd <= 2 {
            set_stdio(command, fd, Stdio::from(theirs.try_clone()?));
        } else {
            wiring.setup.place(theirs.as_raw_fd(), fd as i32);
        }
        wiring.theirs.insert(fd, theirs);
    }
    Ok(wiring)
}

fn set_stdio(command: &mut Command, fd: u32, stdio: Stdio) {
    match fd {
        0 => command.stdin(stdio),
        1 => command.stdout(stdio),
        _ => command.stderr(stdio),
    };
}

/// A close-on-exec pipe: (read end, write end).
fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(rustix::pipe::pipe_with(PipeFlags::CLOEXEC)?)
}

/// A new pseudo-terminal: (master, slave, end-of-file character).
fn open_pty(size: Option<PtySize>) -> io::Result<(OwnedFd, OwnedFd, u8)> {
    let master = rustix::pty::openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)?;
    rustix::pty::grantpt(&master)?;
    rustix::pty::unlockpt(&master)?;
    let name = rustix::pty::ptsname(&master, Vec::new())?;
    let slave = rustix::fs::open(
        name.as_c_str(),
        OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    if let Some(PtySize { rows, cols }) = size {
        rustix::termios::tcsetwinsize(
            &master,
            Winsize {
                ws_row: rows,
                ws_col: cols,
                ws_xpixel: 0,
                ws_ypixel: 0,
            },
        )?;
    }
    let eof = rustix::termios::tcgetattr(&slave)
        .map(|termios| termios.special_codes[SpecialCodeIndex::VEOF])
        .unwrap_or(DEFAULT_EOF);
    Ok((master, slave, eof))
}
