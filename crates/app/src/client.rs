//! A [`ClientService`](gyre_endpoints::ClientService) as a tree service.

use gyre_core::Deferred;

use crate::service::Service;

/// A [`ClientService`](gyre_endpoints::ClientService) (a connection kept up
/// through an endpoint, reconnecting with backoff) is a service: it
/// connects on start and disconnects on stop.
impl Service for gyre_endpoints::ClientService {
    fn start(&self) -> Deferred<()> {
        gyre_endpoints::ClientService::start(self);
        Deferred::succeed(())
    }

    fn stop(&self) -> Deferred<()> {
        gyre_endpoints::ClientService::stop(self)
    }
}
