//! `stdio:`: one connection over this process's stdin and stdout (Twisted's
//! `StandardIOEndpoint`), for inetd-style services and tests driving a
//! child process through pipes.

use std::rc::Rc;

use gyre_core::address::{Address, ProcessAddress};
use gyre_core::connector::{ListeningPort, ListeningPortBackend};
use gyre_core::deferred::Deferred;
use gyre_core::{Failure, SharedFactory, Transport};
use gyre_reactor::Reactor;

use crate::endpoint::{ServerEndpoint, listened};
use crate::errors::NoProtocol;

/// Serves exactly one connection: this process's standard input and output.
#[derive(Clone)]
pub struct StdioEndpoint {
    reactor: Reactor,
}

impl StdioEndpoint {
    /// An endpoint over this process's stdin and stdout.
    pub fn new(reactor: Reactor) -> Self {
        StdioEndpoint { reactor }
    }

    fn start(&self, factory: SharedFactory) -> Result<ListeningPort, Failure> {
        let parent = Address::Process(ProcessAddress {
            pid: Some(std::os::unix::process::parent_id()),
        });
        let protocol = factory.build_protocol(&parent).ok_or_else(NoProtocol::new)?;
        let transport = self.reactor.standard_io(protocol)?;
        Ok(ListeningPort::new(Rc::new(StdioPort { transport })))
    }
}

/// The "port" of a stdio endpoint: stopping it closes the one connection.
struct StdioPort {
    transport: Transport,
}

impl ListeningPortBackend for StdioPort {
    fn stop_listening(&self) -> Deferred<()> {
        self.transport.lose_connection();
        Deferred::succeed(())
    }

    fn host(&self) -> Address {
        self.transport.host()
    }
}

impl ServerEndpoint for StdioEndpoint {
    fn listen(&self, factory: SharedFactory) -> Deferred<ListeningPort> {
        listened(self.start(factory))
    }
}
