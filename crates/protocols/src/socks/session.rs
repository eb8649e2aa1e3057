//! `Session`: the state of one SOCKS server connection, shared by the
//! protocol and the callbacks that answer later (the password check, the
//! connection attempt, the BIND listener, timers). It feeds the client's
//! bytes to the [`ServerHandshake`], writes what it queues, carries out its
//! events and closes the connection once it failed. No borrow is held
//! while calling out, since a Deferred may fire at once.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use gyre_core::clock::{Clock, ClockExt, DelayedCall};
use gyre_core::connector::ListeningPort;
use gyre_core::datagram::DatagramTransport;
use gyre_core::interfaces::{ReactorTcp, ReactorUdp};
use gyre_core::{Failure, Transport};

use super::auth::AccessRequest;
use super::handshake::{HandshakeOptions, ServerEvent, ServerHandshake, SocksRequest};
use super::server::Settings;
use super::wire::ReplyCode;
use super::wire::v5::PasswordAuth;
use crate::portforward::Relay;

/// The state of one connection, shared with the callbacks that answer later.
pub(crate) struct Session<R> {
    pub(crate) me: Weak<Session<R>>,
    pub(crate) settings: Rc<Settings<R>>,
    pub(crate) transport: Transport,
    pub(crate) machine: RefCell<ServerHandshake>,
    pub(crate) timer: RefCell<Option<DelayedCall>>,
    /// The authenticated user id.
    pub(crate) user: RefCell<Option<Vec<u8>>>,
    pub(crate) relay: RefCell<Option<Relay>>,
    pub(crate) udp: RefCell<Option<DatagramTransport>>,
    pub(crate) listener: RefCell<Option<ListeningPort>>,
    pub(crate) ended: Cell<bool>,
}

impl<R> Session<R>
where
    R: ReactorTcp + ReactorUdp + Clock + Clone + 'static,
{
    pub(crate) fn start(settings: Rc<Settings<R>>, transport: &Transport) -> Rc<Self> {
        let options = HandshakeOptions {
            require_password: settings.checker.is_some(),
            allow_socks4: settings.allow_socks4,
        };
        let session = Rc::new_cyclic(|me| Session {
            me: me.clone(),
            settings,
            transport: transport.clone(),
            machine: RefCell::new(ServerHandshake::new(options)),
            timer: RefCell::new(None),
            user: RefCell::new(None),
            relay: RefCell::new(None),
            udp: RefCell::new(None),
            listener: RefCell::new(None),
            ended: Cell::new(false),
        });
        let weak = session.me.clone();
        let timeout = session.settings.handshake_timeout;
        let timer = session.settings.reactor.call_later(timeout, move || {
            if let Some(session) = weak.upgrade()
                && session.machine.borrow().awaits_request()
            {
                tracing::debug!(target: "gyre::socks", peer = %session.transport.peer(), "handshake timed out");
                session.transport.lose_connection();
            }
        });
        *session.timer.borrow_mut() = Some(timer);
        session
    }

    pub(crate) fn input(&self, data: &[u8]) {
        let relaying = self.machine.borrow().is_relaying();
        let relay = self.relay.borrow().clone();
        match relay {
            Some(relay) if relaying => relay.data_received(data),
            _ => {
                self.machine.borrow_mut().handle_input(data);
                self.drive();
            }
        }
    }

    /// Writes what the handshake queued and carries out its events; closes
    /// the connection once the handshake failed.
    pub(crate) fn drive(&self) {
        if self.ended.get() {
            return;
        }
        loop {
            let output = self.machine.borrow_mut().poll_transmit();
            if let Some(output) = output {
                self.transport.write(&output);
            }
            if self.machine.borrow().error().is_some() {
                break;
            }
            let event = self.machine.borrow_mut().poll_event();
            match event {
                Some(event) => self.handle(event),
                None => break,
            }
        }
        let error = self.machine.borrow().error().cloned();
        if let Some(error) = error {
            tracing::debug!(target: "gyre::socks", peer = %self.transport.peer(), %error, "closing");
            self.transport.lose_connection();
        }
    }

    fn handle(&self, event: ServerEvent) {
        match event {
            ServerEvent::CheckPassword(credentials) => self.check_password(&credentials),
            ServerEvent::Request(request) => {
                if let Some(timer) = self.timer.borrow_mut().take() {
                    timer.cancel();
                }
                if self.allowed(&request) {
                    self.carry_out(request);
                } else {
                    self.machine.borrow_mut().reject(ReplyCode::NotAllowed);
                }
            }
            ServerEvent::Payload(bytes) => {
                let relay = self.relay.borrow().clone();
                if let Some(relay) = relay {
                    relay.data_received(&bytes);
                }
            }
        }
    }

    fn check_password(&self, credentials: &PasswordAuth) {
        let Some(checker) = self.settings.checker.clone() else {
            self.machine.borrow_mut().password_checked(false);
            return;
        };
        self.transport.pause_reading();
        let weak = self.me.clone();
        let _answered = checker
            .check(credentials)
            .then(move |result: Result<Vec<u8>, Failure>| {
                if let Some(session) = weak.upgrade() {
                    session.password_answered(result);
                }
                Ok::<(), Failure>(())
            });
    }

    fn password_answered(&self, result: Result<Vec<u8>, Failure>) {
        if self.ended.get() {
            return;
        }
        let accepted = result.is_ok();
        if let Err(failure) = &result {
            tracing::debug!(target: "gyre::socks", peer = %self.transport.peer(), %failure, "login refused");
        }
        *self.user.borrow_mut() = result.ok();
        self.machine.borrow_mut().password_checked(accepted);
        self.transport.resume_reading();
        self.drive();
    }

    fn allowed(&self, request: &SocksRequest) -> bool {
        let Some(policy) = &self.settings.policy else {
            return true;
        };
        let client = self.transport.peer();
        let user = self.user.borrow();
        policy.allow(&AccessRequest {
            client: &client,
            user: user.as_deref(),
            user_id: &request.user_id,
            version: request.version,
            command: request.command,
            target: &request.target,
            resolved: None,
        })
    }

    /// The answer to a request arrived (from a connection attempt, a
    /// listener or a timer): queue the reply and send it.
    pub(crate) fn answer(&self, f: impl FnOnce(&mut ServerHandshake) -> bool) {
        if self.ended.get() {
            return;
        }
        f(&mut self.machine.borrow_mut());
        self.drive();
    }

    pub(crate) fn end(&self) {
        self.ended.set(true);
        if let Some(timer) = self.timer.borrow_mut().take() {
            timer.cancel();
        }
        let relay = self.relay.borrow_mut().take();
        if let Some(relay) = relay {
            relay.connection_lost();
        }
        let udp = self.udp.borrow_mut().take();
        if let Some(udp) = udp {
            drop(udp.stop_listening());
        }
        self.stop_listener();
    }

    /// Stops a BIND listener and its timer (the BIND has an outcome).
    pub(crate) fn stop_listener(&self) {
        if let Some(timer) = self.timer.borrow_mut().take() {
            timer.cancel();
        }
        let listener = self.listener.borrow_mut().take();
        if let Some(listener) = listener {
            drop(listener.stop_listening());
        }
    }
}
