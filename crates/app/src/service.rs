//! [`Service`]: something with a start and a stop, the unit the
//! application server starts in order and stops in reverse order
//! (Twisted's `IService`).

use std::rc::Rc;

use gyre_core::Deferred;

/// A part of a program that is started once and stopped once: a server
/// listening on an endpoint, a client keeping a connection up, a timer.
///
/// The application server calls [`privileged_start`](Self::privileged_start)
/// on every service while the process still has the privileges it started
/// with (binding a port below 1024 needs root), then gives them up, then
/// calls [`start`](Self::start); on SIGTERM it calls [`stop`](Self::stop)
/// and waits for its Deferred, and if that takes longer than the shutdown
/// deadline it calls [`force_stop`](Self::force_stop).
///
/// Methods take `&self`: services are shared (`Rc`) between the tree and
/// the callbacks that report on them, and keep their state in cells.
pub trait Service: 'static {
    /// Does what needs the starting privileges. Default: nothing.
    fn privileged_start(&self) -> Deferred<()> {
        Deferred::succeed(())
    }

    /// Starts; fires when started (a failure stops the program's start).
    fn start(&self) -> Deferred<()>;

    /// Stops gracefully; fires when everything it was doing is finished.
    fn stop(&self) -> Deferred<()>;

    /// The shutdown deadline passed while [`stop`](Self::stop) was still
    /// waiting: give up on what it waits for (abort connections) so that
    /// its Deferred fires now. Default: nothing to abandon.
    fn force_stop(&self) {}
}

impl<S: Service + ?Sized> Service for Rc<S> {
    fn privileged_start(&self) -> Deferred<()> {
        (**self).privileged_start()
    }
    fn start(&self) -> Deferred<()> {
        (**self).start()
    }
    fn stop(&self) -> Deferred<()> {
        (**self).stop()
    }
    fn force_stop(&self) {
        (**self).force_stop()
    }
}
