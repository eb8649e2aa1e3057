//! The table of I/O sources registered with the poller.
//!
//! Every socket, pipe or signal source the reactor watches has an entry: a
//! handler that the loop calls with the readiness mio reported. Tokens carry
//! a generation in their upper bits so an event for a source that was
//! removed (and whose slot was reused) in the same turn is ignored instead of
//! reaching the wrong handler.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use mio::Token;
use slab::Slab;

/// What mio said about a source, flattened to plain flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Readiness {
    pub readable: bool,
    pub writable: bool,
    /// The peer will send no more (FIN, hang-up): read until end of file.
    pub read_closed: bool,
    pub write_closed: bool,
    pub error: bool,
}

impl From<&mio::event::Event> for Readiness {
    fn from(event: &mio::event::Event) -> Self {
        Readiness {
            readable: event.is_readable(),
            writable: event.is_writable(),
            read_closed: event.is_read_closed(),
            write_closed: event.is_write_closed(),
            error: event.is_error(),
        }
    }
}

/// Something the loop calls when its file descriptor is ready.
pub(crate) trait Source {
    /// The descriptor is ready as described.
    fn ready(self: Rc<Self>, readiness: Readiness);

    /// The reactor is shutting down: close, telling the user code why.
    fn shutdown(self: Rc<Self>) {}
}

struct Entry {
    generation: u32,
    handler: Rc<dyn Source>,
}

/// Registered sources by token.
#[derive(Default)]
pub(crate) struct Sources {
    slab: RefCell<Slab<Entry>>,
    generation: Cell<u32>,
}

const INDEX_BITS: u32 = 32;
const INDEX_MASK: usize = (1 << INDEX_BITS) - 1;

impl Sources {
    /// Adds a handler; the returned token identifies it in mio registrations.
    pub(crate) fn insert(&self, handler: Rc<dyn Source>) -> Token {
        let generation = self.generation.get().wrapping_add(1);
        self.generation.set(generation);
        let index = self.slab.borrow_mut().insert(Entry { generation, handler });
        assert!(index <= INDEX_MASK, "too many registered sources");
        Token(((generation as usize) << INDEX_BITS) | index)
    }

    /// Removes the handler of `token`, if it is still the one registered.
    pub(crate) fn remove(&self, token: Token) -> Option<Rc<dyn Source>> {
        let (index, generation) = split(token);
        let mut slab = self.slab.borrow_mut();
        match slab.get(index) {
            Some(entry) if entry.generation == generation => Some(slab.remove(index).handler),
            _ => None,
        }
    }

    /// The handler of `token`, if it is still registered.
    pub(crate) fn get(&self, token: Token) -> Option<Rc<dyn Source>> {
        let (index, generation) = split(token);
        let slab = self.slab.borrow();
        slab.get(index)
            .filter(|entry| entry.generation == generation)
            .map(|entry| entry.handler.clone())
    }

    /// Every registered handler (for shutdown).
    pub(crate) fn all(&self) -> Vec<Rc<dyn Source>> {
        self.slab
            .borrow()
            .iter()
            .map(|(_, entry)| entry.handler.clone())
            .collect()
    }

    /// Removes every handler (for `Reactor::close`); the caller drops them
    /// outside the borrow.
    pub(crate) fn clear(&self) -> Vec<Rc<dyn Source>> {
        self.slab
            .borrow_mut()
            .drain()
            .map(|entry| entry.handler)
            .collect()
    }

    /// How many sources are registered.
    pub(crate) fn len(&self) -> usize {
        self.slab.borrow().len()
    }
}

fn split(token: Token) -> (usize, u32) {
    (token.0 & INDEX_MASK, (token.0 >> INDEX_BITS) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Nothing;
    impl Source for Nothing {
        fn ready(self: Rc<Self>, _readiness: Readiness) {}
    }

    #[test]
    fn stale_tokens_do_not_reach_a_reused_slot() {
        let sources = Sources::default();
        let first = sources.insert(Rc::new(Nothing));
        assert!(sources.remove(first).is_some());
        let second = sources.insert(Rc::new(Nothing));
        assert_eq!(first.0 & INDEX_MASK, second.0 & INDEX_MASK, "the slot is reused");
        assert!(sources.get(first).is_none());
        assert!(sources.remove(first).is_none());
        assert!(sources.get(second).is_some());
        assert_eq!(sources.len(), 1);
    }
}
