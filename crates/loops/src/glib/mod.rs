//! A gyre reactor inside a GLib [`MainContext`]: GTK programs keep their
//! own main loop and use all of gyre, with no extra thread.
//!
//! # Who drives whom
//! GLib drives. [`attach`] adds one GSource to the context: it watches the
//! reactor's epoll descriptor (readable whenever a socket, a pipe or a call
//! from another thread is ready) and carries a *ready time*, the reactor's
//! next timer (or "now" when work is queued). When either fires, GLib
//! dispatches the source, which runs one turn of the reactor
//! ([`HostedRun::turn`]), never blocking, and sets the ready time again.
//! GLib sleeps in its own `poll` meanwhile, so an idle program uses no CPU,
//! and timers fire within GLib's wake-up latency (its poll timeout is in
//! whole milliseconds, rounded up). The source has the default priority,
//! like GLib's own I/O sources: GTK's redraws (a lower priority) run
//! whenever the reactor has nothing ready, which is nearly always; a
//! reactor saturated with I/O would delay them, as any default-priority
//! source would.
//!
//! Reactor callbacks run inside the source's dispatch, on the thread that
//! iterates the context, which must be the reactor's thread. GTK code
//! (button handlers) may call into the reactor directly between turns.
//!
//! # Shutdown, both ways
//! * `reactor.stop()` (from a reactor callback, a GTK handler, or another
//!   thread through [`ReactorHandle::call_from_thread`](gyre_reactor::ReactorHandle::call_from_thread)):
//!   the reactor shuts down gracefully over the next turns; then the source
//!   removes itself, the run ends, and the callbacks given to
//!   [`Attached::on_stopped`] run (typically `main_loop.quit()` or
//!   `app.quit()`). [`run`] does that wiring for a plain [`MainLoop`].
//! * The host quits first (the window closed, `main_loop.quit()`): dropping
//!   the [`Attached`] guard (or [`Attached::detach`]) removes the source,
//!   stops the reactor and turns it by itself until its shutdown is done,
//!   so connections are closed and shutdown triggers run.
//!
//! Do not drop the guard inside a reactor callback (that would turn the
//! reactor from inside its own turn, which panics): call `reactor.stop()`.
//!
//! ```no_run
//! use gyre_reactor::Reactor;
//!
//! let reactor = Reactor::new()?;
//! // ... listen, connect, schedule with `reactor` ...
//! let main_loop = glib::MainLoop::new(None, false);
//! // Runs GLib's loop with the reactor inside, until either side stops.
//! gyre_loops::glib::run(&reactor, &main_loop)?;
//! # Ok::<(), std::io::Error>(())
//! ```

mod ready_time;

use std::cell::RefCell;
use std::fmt;
use std::io;
use std::rc::{Rc, Weak};

use glib::thread_guard::ThreadGuard;
use glib::{ControlFlow, IOCondition, MainContext, MainLoop, Priority, Source};
use gyre_reactor::{HostedRun, Reactor};

/// The reactor attached to a GLib context; see the [module docs](self).
/// Dropping it detaches: the source is removed and the reactor's run is
/// ended cleanly (stopped first if it is still running).
pub struct Attached {
    shared: Rc<Shared>,
}

struct Shared {
    reactor: Reactor,
    run: RefCell<Option<HostedRun>>,
    source: RefCell<Option<Source>>,
    on_stopped: RefCell<Vec<Box<dyn FnOnce()>>>,
    error: RefCell<Option<io::Error>>,
}

/// Attaches `reactor` to `context`: starts a run of it that `context`
/// drives (startup triggers fire now). Iterate the context on this thread
/// (`MainLoop::run`, `gtk::Application::run`, `context.iteration`). Fails
/// when the reactor is closed or running, or when another thread owns the
/// context.
pub fn attach(reactor: &Reactor, context: &MainContext) -> io::Result<Attached> {
    // Dispatch happens on whichever thread iterates the context: it must be
    // this one (the reactor is `!Send`). A context acquired elsewhere now
    // cannot be; the `ThreadGuard` below checks every dispatch.
    drop(
        context
            .acquire()
            .map_err(|_| io::Error::other("the GLib main context is owned by another thread"))?,
    );
    let run = reactor.start_hosted()?;
    let shared = Rc::new(Shared {
        reactor: reactor.clone(),
        run: RefCell::new(Some(run)),
        source: RefCell::default(),
        on_stopped: RefCell::default(),
        error: RefCell::default(),
    });
    let guard = ThreadGuard::new(Rc::downgrade(&shared));
    let source = glib_unix::fd_source_new(
        reactor.poll_fd(),
        IOCondition::IN | IOCondition::ERR | IOCondition::HUP,
        Some("gyre reactor"),
        Priority::DEFAULT,
        move |_, _| match Weak::upgrade(guard.get_ref()) {
            Some(shared) => shared.dispatch(),
            None => ControlFlow::Break,
        },
    );
    ready_time::set(&source, shared.wake_at());
    source.attach(Some(context));
    *shared.source.borrow_mut() = Some(source);
    Ok(Attached { shared })
}

/// Runs `main_loop` with `reactor` attached to its context until either
/// stops: `reactor.stop()` quits the loop once the reactor's shutdown is
/// done; `main_loop.quit()` stops the reactor cleanly before this returns.
/// Returns the reactor's I/O error, if its poller failed.
pub fn run(reactor: &Reactor, main_loop: &MainLoop) -> io::Result<()> {
    let attached = attach(reactor, &main_loop.context())?;
    let quit = main_loop.clone();
    attached.on_stopped(move || quit.quit());
    main_loop.run();
    attached.detach()
}

impl Attached {
    /// The attached reactor.
    pub fn reactor(&self) -> &Reactor {
        &self.shared.reactor
    }

    /// Runs `f` when the reactor's run ends by itself (`stop()` finished,
    /// or `crash()`), after the source was removed: where a program quits
    /// its host loop. Not run when the host detaches first. Runs at once
    /// when the run has already ended that way.
    pub fn on_stopped(&self, f: impl FnOnce() + 'static) {
        if self.shared.run.borrow().is_none() {
            f();
        } else {
            self.shared.on_stopped.borrow_mut().push(Box::new(f));
        }
    }

    /// Whether the reactor is still attached and running (false once its
    /// run has ended).
    pub fn is_attached(&self) -> bool {
        self.shared.run.borrow().is_some()
    }

    /// Detaches now: removes the source and ends the reactor's run
    /// (stopping it gracefully, turning it by itself, if it still runs).
    /// Returns the first I/O error of the reactor's poller, if any.
    pub fn detach(self) -> io::Result<()> {
        self.shared.detach();
        match self.shared.error.borrow_mut().take() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

impl Shared {
    fn wake_at(&self) -> Option<std::time::Instant> {
        self.run.borrow().as_ref().and_then(HostedRun::wake_at)
    }

    /// One dispatch of the source: a turn, then the next ready time, or
    /// the end of the run.
    fn dispatch(&self) -> ControlFlow {
        let finished = {
            let run = self.run.borrow();
            let Some(run) = run.as_ref() else {
                return ControlFlow::Break;
            };
            if let Err(error) = run.turn() {
                self.error.borrow_mut().get_or_insert(error);
                true
            } else {
                run.is_finished()
            }
        };
        if finished {
            // Returning `Break` removes the source; forget it first.
            self.source.borrow_mut().take();
            self.end_run();
            for f in std::mem::take(&mut *self.on_stopped.borrow_mut()) {
                f();
            }
            return ControlFlow::Break;
        }
        if let Some(source) = self.source.borrow().as_ref() {
            ready_time::set(source, self.wake_at());
        }
        ControlFlow::Continue
    }

    fn end_run(&self) {
        let run = self.run.borrow_mut().take();
        if let Some(Err(error)) = run.map(HostedRun::finish) {
            self.error.borrow_mut().get_or_insert(error);
        }
    }

    fn detach(&self) {
        if let Some(source) = self.source.borrow_mut().take() {
            source.destroy();
        }
        self.end_run();
    }
}

impl Drop for Attached {
    fn drop(&mut self) {
        self.shared.detach();
        if let Some(error) = self.shared.error.borrow_mut().take() {
            tracing::error!(target: "gyre::loops", %error, "the reactor's poller failed under GLib");
        }
    }
}

impl fmt::Debug for Attached {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attached")
            .field("reactor", &self.shared.reactor)
            .field("attached", &self.is_attached())
            .finish()
    }
}
