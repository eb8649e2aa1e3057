//! A gyre reactor as a calloop event source, so Wayland and winit style
//! programs (whose loop is calloop's) can host it.
//!
//! # Who drives whom
//! calloop drives. [`ReactorSource`] registers two descriptors with the
//! loop: the reactor's epoll descriptor (readable when a socket, a pipe or
//! a call from another thread is ready) and a timerfd, armed before every
//! sleep (calloop's `before_sleep`) for the reactor's next timer with
//! nanosecond precision. When work is already queued, `before_sleep` asks
//! calloop for an immediate dispatch instead. Each dispatch runs one turn
//! of the reactor ([`HostedRun::turn`], never blocking); calloop sleeps in
//! its own `epoll_wait` meanwhile, so an idle program uses no CPU.
//!
//! # Shutdown, both ways
//! * `reactor.stop()`: once the reactor's graceful shutdown is done the
//!   source calls its callback once with [`Stopped`] (where a program calls
//!   `LoopSignal::stop`) and removes itself from the loop.
//! * The host stops first: dropping the source (removing it with
//!   `LoopHandle::remove`, or dropping the `EventLoop`) stops the reactor
//!   and turns it by itself until its shutdown is done, so connections
//!   close and shutdown triggers run.
//!
//! ```
//! use std::time::Duration;
//! use gyre_core::prelude::*;
//! use gyre_loops::calloop::{ReactorSource, Stopped};
//! use gyre_reactor::Reactor;
//!
//! let reactor = Reactor::new().unwrap();
//! let stopper = reactor.clone();
//! reactor.call_later(Duration::from_millis(5), move || stopper.stop().unwrap());
//! let mut event_loop = calloop::EventLoop::<bool>::try_new().unwrap();
//! let signal = event_loop.get_signal();
//! event_loop
//!     .handle()
//!     .insert_source(ReactorSource::new(&reactor).unwrap(), move |Stopped, _, stopped| {
//!         *stopped = true;
//!         signal.stop();
//!     })
//!     .unwrap();
//! let mut stopped = false;
//! event_loop.run(Duration::from_secs(5), &mut stopped, |_| {}).unwrap();
//! assert!(stopped && !reactor.is_running());
//! ```

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use calloop::generic::Generic;
use calloop::{EventSource, Interest, Mode, Poll, PostAction, Readiness, Token, TokenFactory};
use gyre_reactor::{HostedRun, Reactor};
use rustix::time::{
    Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags, Timespec, timerfd_create, timerfd_settime,
};

/// The event a [`ReactorSource`] sends once: the reactor's run has ended
/// (its `stop()` finished, or `crash()`). The source then leaves the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped;

/// A reactor run as a calloop [`EventSource`]; see the [module docs](self).
/// Dropping it ends the reactor's run cleanly.
#[derive(Debug)]
pub struct ReactorSource {
    run: Option<HostedRun>,
    epoll: Generic<OwnedFd>,
    timer: Generic<OwnedFd>,
    /// The deadline the timerfd is armed for.
    armed: Option<Instant>,
    /// The token of the synthetic "turn now" events from `before_sleep`.
    now_token: Option<Token>,
}

impl ReactorSource {
    /// Starts a run of `reactor` (startup triggers fire now) for a calloop
    /// loop to drive once the source is inserted. Fails when the reactor is
    /// closed or already running, or a descriptor cannot be made.
    pub fn new(reactor: &Reactor) -> io::Result<ReactorSource> {
        let run = reactor.start_hosted()?;
        let epoll = reactor.as_fd().try_clone_to_owned()?;
        let timer = timerfd_create(
            TimerfdClockId::Monotonic,
            TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
        )?;
        Ok(ReactorSource {
            run: Some(run),
            epoll: Generic::new(epoll, Interest::READ, Mode::Level),
            timer: Generic::new(timer, Interest::READ, Mode::Level),
            armed: None,
            now_token: None,
        })
    }

    /// The reactor, while its run lasts.
    pub fn reactor(&self) -> Option<&Reactor> {
        self.run.as_ref().map(HostedRun::reactor)
    }

    /// Arms the timerfd for `at` (disarms it for `None`), unless it already
    /// is. Re-arming also clears a past expiry.
    fn arm(&mut self, at: Option<Instant>) -> io::Result<()> {
        if at == self.armed {
            return Ok(());
        }
        self.set_timer(at)
    }

    /// Sets the timerfd to expire at `at` (never for `None`), which also
    /// clears a past expiry.
    fn set_timer(&mut self, at: Option<Instant>) -> io::Result<()> {
        let value = match at {
            // A zero value would disarm; 1 ns means "now".
            Some(at) => timespec(
                at.saturating_duration_since(Instant::now())
                    .max(Duration::from_nanos(1)),
            ),
            None => Timespec::default(),
        };
        let spec = Itimerspec {
            it_interval: Timespec::default(),
            it_value: value,
        };
        timerfd_settime(self.timer.get_ref().as_fd(), TimerfdTimerFlags::empty(), &spec)?;
        self.armed = at;
        Ok(())
    }
}

fn timespec(duration: Duration) -> Timespec {
    Timespec {
        tv_sec: i64::try_from(duration.as_secs()).unwrap_or(i64::MAX),
        tv_nsec: duration.subsec_nanos().into(),
    }
}

impl EventSource for ReactorSource {
    type Event = Stopped;
    type Metadata = ();
    type Ret = ();
    type Error = io::Error;

    const NEEDS_EXTRA_LIFECYCLE_EVENTS: bool = true;

    fn process_events<F>(
        &mut self,
        readiness: Readiness,
        token: Token,
        mut callback: F,
    ) -> io::Result<PostAction>
    where
        F: FnMut(Stopped, &mut ()),
    {
        if self.run.is_none() {
            return Ok(PostAction::Remove);
        }
        let mut woke = self.now_token == Some(token);
        self.epoll.process_events(readiness, token, |_, _| {
            woke = true;
            Ok(PostAction::Continue)
        })?;
        let mut timer_fired = false;
        self.timer.process_events(readiness, token, |_, _| {
            timer_fired = true;
            Ok(PostAction::Continue)
        })?;
        if timer_fired {
            // Level-triggered and expired: disarm (clears it) so it does
            // not wake the loop again; `before_sleep` arms the next one.
            self.set_timer(None)?;
        }
        if !(woke || timer_fired) {
            return Ok(PostAction::Continue);
        }
        let run = self.run.as_ref().expect("checked above");
        run.turn()?;
        if run.is_finished() {
            let run = self.run.take().expect("checked above");
            run.finish()?;
            self.arm(None)?;
            callback(Stopped, &mut ());
            return Ok(PostAction::Remove);
        }
        Ok(PostAction::Continue)
    }

    fn register(&mut self, poll: &mut Poll, token_factory: &mut TokenFactory) -> calloop::Result<()> {
        self.epoll.register(poll, token_factory)?;
        self.timer.register(poll, token_factory)?;
        self.now_token = Some(token_factory.token());
        Ok(())
    }

    fn reregister(&mut self, poll: &mut Poll, token_factory: &mut TokenFactory) -> calloop::Result<()> {
        self.epoll.reregister(poll, token_factory)?;
        self.timer.reregister(poll, token_factory)?;
        self.now_token = Some(token_factory.token());
        Ok(())
    }

    fn unregister(&mut self, poll: &mut Poll) -> calloop::Result<()> {
        self.epoll.unregister(poll)?;
        self.timer.unregister(poll)?;
        self.now_token = None;
        Ok(())
    }

    fn before_sleep(&mut self) -> calloop::Result<Option<(Readiness, Token)>> {
        let Some(run) = self.run.as_ref() else {
            return Ok(None);
        };
        let wake_at = run.wake_at();
        if wake_at.is_some_and(|at| at <= Instant::now()) {
            return Ok(self.now_token.map(|token| (Readiness::EMPTY, token)));
        }
        self.arm(wake_at)?;
        Ok(None)
    }
}
