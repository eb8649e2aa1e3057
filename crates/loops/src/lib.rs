//! # gyre-loops: a gyre reactor inside someone else's event loop
//!
//! A GTK program has its own main loop, a tokio program its runtime, a
//! Wayland client its calloop. None of them can call
//! [`Reactor::run`](gyre_reactor::Reactor::run), which owns the thread. Each
//! module here lets the host loop drive the reactor instead, through the
//! reactor's foreign-loop seam ([`Reactor::start_hosted`](gyre_reactor::Reactor::start_hosted)
//! and [`HostedRun`](gyre_reactor::HostedRun)):
//!
//! ```text
//!   host loop (GLib / tokio / calloop)            gyre reactor
//!   watches the reactor's epoll fd ─── readable ──▶ HostedRun::turn()
//!   one timer armed for HostedRun::wake_at ─ due ─▶ HostedRun::turn()
//!   after each turn: re-arm the timer, check is_finished
//! ```
//!
//! The host drives, the reactor never blocks: one turn handles what is
//! ready and returns. There is no extra thread and no polling: with
//! nothing to do both sleep in the host's own wait, and the reactor's fd
//! (an epoll instance, itself readable when any of its sockets is) wakes
//! it. Work that code of the host queues on the reactor between turns
//! (a button handler writing to a connection, a task adding a timer) makes
//! the fd readable too, so the host never sleeps past it.
//!
//! Shutdown goes both ways in every module: `reactor.stop()` ends with the
//! host being told (its loop quits or the driver returns), and a host that
//! quits first ends the reactor's run cleanly (connections closed, shutdown
//! triggers run) when it drops what the module gave it.
//!
//! | feature (= module) | the host drives the reactor through                      |
//! |--------------------|----------------------------------------------------------|
//! | `glib`             | one GSource: the fd, and a ready time for the next timer |
//! | `tokio`            | a future: `AsyncFd` on the fd, `sleep_until` the timer    |
//! | `calloop`          | an `EventSource`: the fd, and a timerfd for the timer     |
//!
//! A module exists only with its feature on (docs.rs-style builds: run
//! `cargo doc -p gyre-loops --all-features` to see them all).
//!
//! No feature is on by default, so building the workspace needs no system
//! library; `glib` needs `libglib2.0-dev`, the `gtk` feature (the GTK 4
//! demo) `libgtk-4-dev`.

#[cfg(feature = "calloop")]
pub mod calloop;
#[cfg(feature = "glib")]
pub mod glib;
#[cfg(feature = "tokio")]
pub mod tokio;
