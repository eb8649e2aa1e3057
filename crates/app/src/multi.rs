//! [`MultiService`]: the service tree (Twisted's `MultiService`). Children
//! have unique names, start in the order they were added, each after the
//! previous one has started, and stop in reverse order, each after the one
//! added after it has stopped: a web server added after the database pool
//! it uses stops (and finishes its requests) before the pool does.

use std::cell::RefCell;
use std::error::Error;
use std::fmt;
use std::rc::Rc;

use gyre_core::{Deferred, Failure};

use crate::service::Service;

/// A named service in a tree.
type Child = (String, Rc<dyn Service>);

/// A service made of named child services.
///
/// ```
/// use std::rc::Rc;
/// use gyre_app::{MultiService, Service, TimerService};
///
/// let clock = Rc::new(gyre_testing::ManualClock::new());
/// let tree = MultiService::new();
/// tree.add("heartbeat", TimerService::new(clock, std::time::Duration::from_secs(1), || ()))
///     .unwrap();
/// assert!(tree.add("heartbeat", MultiService::new()).is_err(), "names are unique");
/// gyre_testing::success_result_of(tree.start());
/// gyre_testing::success_result_of(tree.stop());
/// ```
#[derive(Default)]
pub struct MultiService {
    children: RefCell<Vec<Child>>,
}

/// [`MultiService::add`] was given a name already in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateName(pub String);

impl fmt::Display for DuplicateName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "there is already a service named {:?}", self.0)
    }
}

impl Error for DuplicateName {}

/// One service of the tree failed to start or stop; its name and why.
#[derive(Debug)]
pub struct ServiceFailed {
    /// The child's name.
    pub name: String,
    /// What it failed with.
    pub reason: Failure,
}

impl fmt::Display for ServiceFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.reason)
    }
}

impl Error for ServiceFailed {}

impl MultiService {
    /// An empty tree.
    pub fn new() -> Self {
        MultiService::default()
    }

    /// Adds a child after the others.
    ///
    /// # Errors
    /// When a child already has this name.
    pub fn add(&self, name: impl Into<String>, service: impl Service) -> Result<(), DuplicateName> {
        let name = name.into();
        let mut children = self.children.borrow_mut();
        if children.iter().any(|(existing, _)| *existing == name) {
            return Err(DuplicateName(name));
        }
        children.push((name, Rc::new(service)));
        Ok(())
    }

    /// The child with this name (Twisted's `getServiceNamed`).
    pub fn service(&self, name: &str) -> Option<Rc<dyn Service>> {
        self.children
            .borrow()
            .iter()
            .find(|(existing, _)| existing == name)
            .map(|(_, service)| service.clone())
    }

    /// The children's names, in start order.
    pub fn names(&self) -> Vec<String> {
        self.children
            .borrow()
            .iter()
            .map(|(name, _)| name.clone())
            .collect()
    }

    fn children(&self) -> Vec<Child> {
        self.children.borrow().clone()
    }
}

/// Runs `step` on each child in turn, each after the previous one's
/// Deferred fired. With `keep_going`, failures are logged and the first
/// one is reported at the end; without, the first failure ends the walk.
fn in_turn(
    mut children: std::vec::IntoIter<Child>,
    step: fn(&dyn Service) -> Deferred<()>,
    keep_going: bool,
    first_failure: Option<Failure>,
) -> Deferred<()> {
    let Some((name, service)) = children.next() else {
        return match first_failure {
            Some(failure) => Deferred::fail(failure),
            None => Deferred::succeed(()),
        };
    };
    step(&*service).then(move |result| match result {
        Ok(()) => in_turn(children, step, keep_going, first_failure),
        Err(reason) => {
            let failure = Failure::new(ServiceFailed { name, reason });
            if !keep_going {
                return Deferred::fail(failure);
            }
            tracing::warn!(target: "gyre::app", %failure, "service failed to stop cleanly");
            in_turn(children, step, keep_going, first_failure.or(Some(failure)))
        }
    })
}

impl Service for MultiService {
    fn privileged_start(&self) -> Deferred<()> {
        in_turn(self.children().into_iter(), |s| s.privileged_start(), false, None)
    }

    fn start(&self) -> Deferred<()> {
        in_turn(self.children().into_iter(), |s| s.start(), false, None)
    }

    /// Stops the children in reverse order, each after the one added after
    /// it; a child that fails to stop is logged and the others still stop.
    fn stop(&self) -> Deferred<()> {
        let mut children = self.children();
        children.reverse();
        in_turn(children.into_iter(), |s| s.stop(), true, None)
    }

    /// Forces every child: the one being waited for gives up now, and
    /// those not yet asked stop at once when they are.
    fn force_stop(&self) {
        for (_, service) in self.children().iter().rev() {
            service.force_stop();
        }
    }
}
