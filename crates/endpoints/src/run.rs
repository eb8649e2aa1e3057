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
    let announce = RefCell::new(Some(announce));
    listen_all_and_run(reactor, &[("", endpoint)], factory, move |_, address| {
        if let Some(announce) = announce.borrow_mut().take() {
            announce(address);
        }
    })
}

/// [`listen_and_run`] on several endpoints sharing one factory (a server on
/// IPv4 and IPv6, plain and TLS): each is given with a label (its
/// description, say) that `announce` receives with the bound address and
/// that names the endpoint in the error when it cannot listen. One failed
/// listen stops the reactor.
///
/// # Errors
/// Why the first endpoint that failed could not listen, or why the
/// reactor could not run.
pub fn listen_all_and_run(
    reactor: &Reactor,
    endpoints: &[(&str, &dyn ServerEndpoint)],
    factory: SharedFactory,
    announce: impl Fn(&str, &Address) + 'static,
) -> Result<(), Failure> {
    let failed: Rc<RefCell<Option<Failure>>> = Rc::default();
    let announce = Rc::new(announce);
    for &(label, endpoint) in endpoints {
        let (record, stopper, announce) = (failed.clone(), reactor.clone(), announce.clone());
        let label = label.to_owned();
        drop(endpoint.listen(factory.clone()).then(move |result| match result {
            Ok(port) => announce(&label, &port.host()),
            Err(failure) => {
                let context = match label.as_str() {
                    "" => "cannot listen".to_owned(),
                    label => format!("cannot listen on {label}"),
                };
                record.borrow_mut().get_or_insert(failure.context(context));
                // The Deferred may fire before the loop runs: stop once it does.
                let reactor = stopper.clone();
                stopper.call_when_running(move || drop(reactor.stop()));
            }
        }));
    }
    reactor.run()?;
    match failed.borrow_mut().take() {
        Some(failure) => Err(failure),
        None => Ok(()),
    }
}
