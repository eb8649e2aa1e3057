//! The receiving side as a protocol: [`ProxyProtocolServer`] reads the
//! header, then builds the real protocol from the wrapped factory *with the
//! client's address* and runs it behind a policy whose transport reports
//! the addresses from the header.
//!
//! Building the protocol late means every factory wrapper inside (a
//! per-peer limit, a traffic log) sees the real client, and nothing of the
//! application runs before the header is accepted, as the specification
//! requires ("the receiver MUST NOT start processing the connection before
//! it receives a complete and valid PROXY protocol header"). Bytes that
//! follow the header in the same read are delivered right after
//! `connection_made`, in order.
//!
//! A bad or missing header, a factory that refuses the client, or no header
//! within the timeout closes the connection; the reason goes to `tracing`
//! (target [`PROXY_TARGET`]) and to the optional rejection hook.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use gyre_core::address::Address;
use gyre_core::capability::{Capability, CapabilityRequest};
use gyre_core::transport::ConnectionState;
use gyre_core::{Clock, ClockExt, DelayedCall, Factory, Failure, Protocol, SharedFactory, Transport};

use crate::policies::{Policy, Wrapped};
use crate::proxy_protocol::error::ProxyHeaderError;
use crate::proxy_protocol::header::ProxyHeader;
use crate::proxy_protocol::parser::{DEFAULT_MAX_V2_HEADER, HeaderParser, Step};

/// The `tracing` target of rejected connections.
pub const PROXY_TARGET: &str = "gyre::proxy_protocol";
/// How long a connection may take to send its header by default (the
/// specification asks for at least 3 seconds, to cover a retransmit).
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// The header a connection arrived with, asked of its transport:
/// `transport.capability::<ProxyInfo>()` gives the [`ProxyHeader`] (TLVs
/// such as ALPN, authority and TLS details included).
pub struct ProxyInfo;

impl Capability for ProxyInfo {
    type Value = ProxyHeader;
    const NAME: &'static str = "PROXY protocol header";
}

/// Called with the real peer (the proxy) and the reason when a connection
/// is rejected.
pub type RejectionHook = Rc<dyn Fn(&Address, &ProxyHeaderError)>;

/// How connections read their PROXY header.
#[derive(Clone)]
pub struct ProxyProtocolOptions {
    clock: Rc<dyn Clock>,
    header_timeout: Duration,
    max_v2_header: usize,
    on_rejected: Option<RejectionHook>,
}

impl ProxyProtocolOptions {
    /// Defaults: a 10 s header timeout on `clock`, version 2 headers up to
    /// 4096 bytes.
    pub fn new(clock: Rc<dyn Clock>) -> Self {
        ProxyProtocolOptions {
            clock,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            max_v2_header: DEFAULT_MAX_V2_HEADER,
            on_rejected: None,
        }
    }

    /// How long a connection may take to send its complete header.
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = timeout;
        self
    }

    /// The largest version 2 header accepted.
    pub fn max_v2_header(mut self, bytes: usize) -> Self {
        self.max_v2_header = bytes;
        self
    }

    /// Calls `hook` for each rejected connection (besides logging it).
    pub fn on_rejected(mut self, hook: impl Fn(&Address, &ProxyHeaderError) + 'static) -> Self {
        self.on_rejected = Some(Rc::new(hook));
        self
    }

    fn reject(&self, peer: &Address, error: &ProxyHeaderError) {
        if *error == ProxyHeaderError::ClosedBeforeHeader {
            // Plain TCP health checks connect and close: not worth a warning.
            tracing::debug!(target: PROXY_TARGET, peer = %peer, "rejected a connection: {error}");
        } else {
            tracing::warn!(target: PROXY_TARGET, peer = %peer, "rejected a connection: {error}");
        }
        if let Some(hook) = &self.on_rejected {
            hook(peer, error);
        }
    }
}

/// The policy of a connection past its header: the transport reports the
/// header's addresses and answers [`ProxyInfo`].
struct Proxied {
    header: ProxyHeader,
}

impl Policy for Proxied {
    fn peer(&self, below: &Transport) -> Address {
        self.header.source().unwrap_or_else(|| below.peer())
    }

    fn host(&self, below: &Transport) -> Address {
        self.header.destination().unwrap_or_else(|| below.host())
    }

    fn capability(&self, below: &Transport, request: &mut CapabilityRequest<'_>) {
        if request.is::<ProxyInfo>() {
            request.provide::<ProxyInfo>(|| self.header.clone());
            return;
        }
        below.backend().capability(request);
    }
}

enum Stage {
    Header,
    Running(Box<Wrapped<Proxied>>),
    Closed,
}

/// The protocol of one connection that starts with a PROXY header.
pub struct ProxyProtocolServer {
    factory: SharedFactory,
    options: ProxyProtocolOptions,
    parser: HeaderParser,
    stage: Stage,
    timer: Option<DelayedCall>,
    /// Set once the header is in (or the connection over), so a timer that
    /// was already due does nothing.
    settled: Rc<Cell<bool>>,
}

impl ProxyProtocolServer {
    /// Reads the header, then runs a protocol from `factory`.
    pub fn new(factory: SharedFactory, options: ProxyProtocolOptions) -> Self {
        let parser = HeaderParser::new().max_v2_header(options.max_v2_header);
        ProxyProtocolServer {
            factory,
            options,
            parser,
            stage: Stage::Header,
            timer: None,
            settled: Rc::new(Cell::new(false)),
        }
    }

    fn settle(&mut self) {
        self.settled.set(true);
        if let Some(timer) = self.timer.take() {
            timer.cancel();
        }
    }

    fn reject(&mut self, below: &Transport, error: &ProxyHeaderError) {
        self.settle();
        self.stage = Stage::Closed;
        self.options.reject(&below.peer(), error);
        below.abort_connection();
    }

    /// The header is in: build the protocol for the real client and start it.
    fn start(&mut self, below: &Transport, header: ProxyHeader, rest: &[u8]) {
        self.settle();
        let client = header.source().unwrap_or_else(|| below.peer());
        let Some(protocol) = self.factory.build_protocol(&client) else {
            self.stage = Stage::Closed;
            tracing::debug!(target: PROXY_TARGET, client = %client, "the factory refused the client");
            below.lose_connection();
            return;
        };
        let mut wrapped = Box::new(Wrapped::new(Proxied { header }, protocol));
        wrapped.connection_made(below);
        // Nothing is read after a close, as a transport stops reading then.
        if !rest.is_empty() && below.state() == ConnectionState::Open {
            wrapped.data_received(below, rest);
        }
        self.stage = Stage::Running(wrapped);
    }
}

impl Protocol for ProxyProtocolServer {
    fn connection_made(&mut self, below: &Transport) {
        let settled = self.settled.clone();
        let transport = below.clone();
        let options = self.options.clone();
        let timeout = self.options.header_timeout;
        self.timer = Some(self.options.clock.call_later(timeout, move || {
            if !settled.replace(true) {
                options.reject(&transport.peer(), &ProxyHeaderError::Timeout(timeout));
                transport.abort_connection();
            }
        }));
    }

    fn data_received(&mut self, below: &Transport, data: &[u8]) {
        match &mut self.stage {
            Stage::Running(wrapped) => wrapped.data_received(below, data),
            Stage::Closed => {}
            Stage::Header => match self.parser.feed(data) {
                Ok(Step::NeedMore) => {}
                Ok(Step::Header { header, consumed }) => self.start(below, header, &data[consumed..]),
                Ok(Step::AfterHeader) => {}
                Err(error) => self.reject(below, &error),
            },
        }
    }

    fn read_connection_lost(&mut self, below: &Transport) {
        match &mut self.stage {
            Stage::Running(wrapped) => wrapped.read_connection_lost(below),
            Stage::Closed => {}
            Stage::Header => self.reject(below, &ProxyHeaderError::ClosedBeforeHeader),
        }
    }

    fn write_connection_lost(&mut self, below: &Transport) {
        if let Stage::Running(wrapped) = &mut self.stage {
            wrapped.write_connection_lost(below);
        }
    }

    fn connection_lost(&mut self, below: &Transport, reason: Failure) {
        let stage = std::mem::replace(&mut self.stage, Stage::Closed);
        match stage {
            Stage::Running(mut wrapped) => wrapped.connection_lost(below, reason),
            Stage::Header if !self.settled.get() => {
                self.settle();
                self.options
                    .reject(&below.peer(), &ProxyHeaderError::ClosedBeforeHeader);
            }
            _ => self.settle(),
        }
    }
}

/// Makes a [`ProxyProtocolServer`] for each connection.
struct ProxyProtocolFactory {
    factory: SharedFactory,
    options: ProxyProtocolOptions,
}

impl Factory for ProxyProtocolFactory {
    fn build_protocol(&mut self, _proxy: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(ProxyProtocolServer::new(
            self.factory.clone(),
            self.options.clone(),
        )))
    }

    fn start_factory(&mut self) {
        self.factory.do_start();
    }

    fn stop_factory(&mut self) {
        self.factory.do_stop();
    }
}

/// A factory whose connections start with a PROXY header; `factory`
/// builds the protocol for each, given the client's address from the
/// header, once the header was read.
pub fn server_factory(factory: SharedFactory, options: ProxyProtocolOptions) -> SharedFactory {
    SharedFactory::new(ProxyProtocolFactory { factory, options })
}
