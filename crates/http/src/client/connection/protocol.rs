//! The gyre side of a connection: the [`Protocol`] the transport drives,
//! and the [`BodyControl`] a response body uses to pause, resume or
//! abandon its connection.

use std::cell::RefCell;
use std::rc::Weak;

use gyre_core::{Failure, Protocol, Transport};

use super::{ConnHandle, State};
use crate::client::error::ClientError;
use crate::client::response::BodyControl;

/// Pauses, resumes and abandons a body on behalf of its reader.
pub(super) struct ConnControl(pub(super) Weak<RefCell<State>>);

impl BodyControl for ConnControl {
    fn pause(&self) {
        if let Some(transport) = self
            .0
            .upgrade()
            .and_then(|state| state.borrow().transport.clone())
        {
            transport.pause_reading();
        }
    }
    fn resume(&self) {
        if let Some(transport) = self
            .0
            .upgrade()
            .and_then(|state| state.borrow().transport.clone())
        {
            transport.resume_reading();
        }
    }
    fn abandon(&self) {
        let Some(state) = self.0.upgrade() else { return };
        let conn = ConnHandle(state);
        let ongoing = conn.0.borrow().exchange.is_some();
        if ongoing {
            conn.fail_exchange(Failure::new(ClientError::BodyAbandoned));
            conn.abort();
        }
    }
}

/// The gyre protocol of a client connection.
pub(crate) struct ConnProtocol(pub(super) ConnHandle);

impl Protocol for ConnProtocol {
    fn connection_made(&mut self, transport: &Transport) {
        self.0.0.borrow_mut().transport = Some(transport.clone());
    }

    fn data_received(&mut self, _: &Transport, data: &[u8]) {
        self.0.0.borrow_mut().proto.handle_input(data);
        self.0.process();
    }

    fn read_connection_lost(&mut self, _: &Transport) {
        self.0.0.borrow_mut().proto.handle_eof();
        self.0.process();
    }

    fn connection_lost(&mut self, _: &Transport, reason: Failure) {
        self.0.lost(reason);
    }
}
