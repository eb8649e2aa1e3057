//! [`ReconnectingClientFactory`]: a client factory that reconnects its
//! connector after a failed attempt or a lost connection, with exponential
//! backoff (Twisted's `ReconnectingClientFactory`).

use std::cell::RefCell;
use std::rc::Rc;

use gyre_core::address::Address;
use gyre_core::clock::{Clock, ClockExt, DelayedCall};
use gyre_core::connector::Connector;
use gyre_core::{ClientFactory, Factory, Failure, Protocol, SharedFactory};

use crate::backoff::{Backoff, Jitter};

/// Wraps a factory; give a clone to `connect_tcp` and keep one to call
/// [`stop_trying`](Self::stop_trying). Clones share the state.
#[derive(Clone)]
pub struct ReconnectingClientFactory {
    inner: Rc<RefCell<State>>,
}

struct State {
    factory: SharedFactory,
    clock: Rc<dyn Clock>,
    backoff: Backoff,
    jitter: Jitter,
    max_retries: Option<u32>,
    retries: u32,
    continue_trying: bool,
    call: Option<DelayedCall>,
    connector: Option<Connector>,
}

impl ReconnectingClientFactory {
    /// Reconnects for `factory` on `clock` with Twisted's policy
    /// ([`Backoff::RECONNECTING`]) and no retry limit.
    pub fn new(factory: SharedFactory, clock: Rc<dyn Clock>, jitter: Jitter) -> Self {
        ReconnectingClientFactory {
            inner: Rc::new(RefCell::new(State {
                factory,
                clock,
                backoff: Backoff::RECONNECTING,
                jitter,
                max_retries: None,
                retries: 0,
                continue_trying: true,
                call: None,
                connector: None,
            })),
        }
    }

    /// Sets the backoff policy.
    pub fn backoff(self, backoff: Backoff) -> Self {
        self.inner.borrow_mut().backoff = backoff;
        self
    }

    /// Gives up after `retries` consecutive failed retries.
    pub fn max_retries(self, retries: u32) -> Self {
        self.inner.borrow_mut().max_retries = Some(retries);
        self
    }

    /// Stops reconnecting: cancels a scheduled retry and abandons an attempt
    /// under way. A live connection stays up.
    pub fn stop_trying(&self) {
        let (call, connector) = {
            let mut state = self.inner.borrow_mut();
            state.continue_trying = false;
            (state.call.take(), state.connector.take())
        };
        if let Some(call) = call {
            call.cancel();
        }
        if let Some(connector) = connector {
            connector.stop_connecting();
        }
    }

    /// Retries since the last successful connection.
    pub fn retries(&self) -> u32 {
        self.inner.borrow().retries
    }

    /// Forgets past failures: the next retry uses the initial delay.
    pub fn reset_delay(&self) {
        self.inner.borrow_mut().retries = 0;
    }

    fn retry(&self, connector: &Connector, reason: Failure) {
        let mut state = self.inner.borrow_mut();
        state.connector = Some(connector.clone());
        if !state.continue_trying {
            return;
        }
        state.retries += 1;
        if state.max_retries.is_some_and(|max| state.retries > max) {
            tracing::info!(target: "gyre::endpoints", retries = state.retries - 1, %reason, "giving up reconnecting");
            return;
        }
        let sample = state.jitter.sample();
        let delay = state.backoff.delay(state.retries, sample);
        tracing::debug!(target: "gyre::endpoints", ?delay, %reason, "will reconnect");
        let connector = connector.clone();
        let call = state.clock.call_later(delay, move || connector.connect());
        state.call = Some(call);
    }
}

impl Factory for ReconnectingClientFactory {
    /// A connection was made: the delay starts over.
    fn build_protocol(&mut self, peer: &Address) -> Option<Box<dyn Protocol>> {
        let factory = {
            let mut state = self.inner.borrow_mut();
            state.retries = 0;
            state.factory.clone()
        };
        factory.build_protocol(peer)
    }
    fn start_factory(&mut self) {
        let factory = self.inner.borrow().factory.clone();
        factory.do_start();
    }
    fn stop_factory(&mut self) {
        let factory = self.inner.borrow().factory.clone();
        factory.do_stop();
    }
}

impl ClientFactory for ReconnectingClientFactory {
    fn started_connecting(&mut self, connector: &Connector) {
        self.inner.borrow_mut().connector = Some(connector.clone());
    }
    fn client_connection_failed(&mut self, connector: &Connector, reason: Failure) {
        self.retry(connector, reason);
    }
    fn client_connection_lost(&mut self, connector: &Connector, reason: Failure) {
        self.retry(connector, reason);
    }
}
