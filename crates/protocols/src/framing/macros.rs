//! The code every receiver and every context shares, generated per type so
//! that each one documents its own methods.

/// The methods every framing's context shares.
macro_rules! context_methods {
    ($context:ident) => {
        impl $context<'_> {
            /// The connection's transport: to write unframed bytes, ask for
            /// the peer's address or a capability, or clone and keep.
            pub fn transport(&self) -> &gyre_core::Transport {
                self.common.transport
            }

            /// Writes bytes as they are, without framing.
            pub fn write(&self, data: &[u8]) {
                self.common.transport.write(data);
            }

            /// Closes the connection after flushing what was written; no
            /// further frames are delivered.
            pub fn lose_connection(&self) {
                self.common.transport.lose_connection();
            }

            /// Closes the connection like
            /// [`lose_connection`](Self::lose_connection), and makes
            /// `connection_lost` report `reason` instead of a clean close.
            pub fn close_with(&self, reason: impl Into<gyre_core::Failure>) {
                self.common.close_with(reason.into());
            }

            /// Stops delivering frames and pauses the transport's reading;
            /// the rest of this read is kept. Returns the handle whose
            /// [`resume`](super::ReceiverHandle::resume) continues: no
            /// callback arrives while paused, so without it the receiver
            /// stays paused.
            #[must_use = "a paused receiver resumes only through its handle"]
            pub fn pause(&self) -> super::ReceiverHandle {
                self.common.pause()
            }

            /// A handle to pause and resume this receiver later.
            pub fn handle(&self) -> super::ReceiverHandle {
                self.common.handle()
            }
        }
    };
}

/// The `Protocol` implementation and accessors every receiver shares.
macro_rules! receiver_protocol {
    ($receiver:ident, $handler:ident) => {
        impl<H: $handler> gyre_core::Protocol for $receiver<H> {
            fn connection_made(&mut self, transport: &gyre_core::Transport) {
                self.core.connection_made(transport);
            }

            fn data_received(&mut self, transport: &gyre_core::Transport, data: &[u8]) {
                self.core.data_received(transport, data);
            }

            fn read_connection_lost(&mut self, transport: &gyre_core::Transport) {
                self.core.read_connection_lost(transport);
            }

            fn connection_lost(&mut self, transport: &gyre_core::Transport, reason: gyre_core::Failure) {
                self.core.connection_lost(transport, reason);
            }
        }

        impl<H: $handler> $receiver<H> {
            /// The handler, to inspect it (in tests, or after the connection).
            ///
            /// # Panics
            /// When called from inside one of this receiver's own callbacks.
            pub fn handler(&self) -> std::cell::Ref<'_, H> {
                std::cell::Ref::map(self.core.wrapper(), |wrapper| &wrapper.handler)
            }

            /// The handler, mutably.
            ///
            /// # Panics
            /// When called from inside one of this receiver's own callbacks.
            pub fn handler_mut(&self) -> std::cell::RefMut<'_, H> {
                std::cell::RefMut::map(self.core.wrapper_mut(), |wrapper| &mut wrapper.handler)
            }

            /// A handle to pause and resume this receiver.
            pub fn handle(&self) -> super::ReceiverHandle {
                self.core.handle()
            }
        }
    };
}

pub(crate) use {context_methods, receiver_protocol};
