//! Running a server program: listen on an endpoint, say where, run the
//! reactor until it is stopped. Every example server and small service
//! needs exactly this, including the easy-to-get-wrong part: a failed
//! listen may fire before the loop runs, so the stop is scheduled for when
//! it does.

use std::cell::RefCell;
use std::rc::Rc;

use gyre_core::address::Address;
use gyre_core::{Failure, SharedFactory};
use gyre_reactor::Reactor;

use crate::endpoint::ServerEndpoint;

/// Listens on `endpoint` with `factory`, calls `announce` with the bound
/// address once listening (print `listening on ADDRESS` there), and runs
/// `reactor` until something stops it (a signal, a protocol).
///
/// # Errors
/// Why listening failed (the reactor is stopped then), or why the
/// reactor could not run.
pub fn listen_and_run(
    reactor: &Reactor,
    endpoint: &dyn ServerEndpoint,
    factory: SharedFactory,
    announce: impl FnOnce(&Address) + 'static,
) -> Result<(), Failure> {
    let failed: Rc<RefCell<Option<Failure>>> = Rc::default();
    let record = failed.clone();
    let stopper = reactor.clone();
    drop(endpoint.listen(factory).then(move |result| match result {
        Ok(port) => announce(&port.host()),
        Err(failure) => {
            *record.borrow_mut() = Some(failure.context("cannot listen"));
            let reactor = stopper.clone();
            stopper.call_when_running(move || drop(reactor.stop()));
        }
    }));
    reactor.run()?;
    match failed.borrow_mut().take() {
        Some(failure) => Err(failure),
        None => Ok(()),
    }
}
