//! [`DeferredQueue`]: a queue whose `get` returns a Deferred, for handing
//! work between callbacks (one side produces, the other waits).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::rc::Rc;

use super::waiters::Waiters;
use super::{Deferred, succeed};
use crate::errors::{QueueOverflow, QueueUnderflow};

struct QueueState<T> {
    items: RefCell<VecDeque<T>>,
    waiting: Waiters<T>,
    size: Option<usize>,
    backlog: Option<usize>,
}

/// Twisted's `DeferredQueue`, with optional limits on the number of items
/// held (`size`) and on the number of waiting getters (`backlog`), so a
/// runaway peer cannot make it grow without bound.
///
/// ```
/// use gyre_core::deferred::DeferredQueue;
///
/// let queue = DeferredQueue::unbounded();
/// let next = queue.get().unwrap();
/// gyre_testing::assert_no_result(&next);
/// queue.put("job").unwrap();
/// assert_eq!(gyre_testing::success_result_of(next), "job");
/// ```
pub struct DeferredQueue<T> {
    state: Rc<QueueState<T>>,
}

impl<T: 'static> DeferredQueue<T> {
    /// A queue holding at most `size` items with at most `backlog` waiting
    /// getters (`None`: no limit).
    pub fn new(size: Option<usize>, backlog: Option<usize>) -> Self {
        DeferredQueue {
            state: Rc::new(QueueState {
                items: RefCell::new(VecDeque::new()),
                waiting: Waiters::new(),
                size,
                backlog,
            }),
        }
    }

    /// A queue with no limits.
    pub fn unbounded() -> Self {
        Self::new(None, None)
    }

    /// Gives `item` to the oldest waiting getter, or keeps it. Fails, dropping
    /// the item, when the queue holds `size` items already.
    pub fn put(&self, item: T) -> Result<(), QueueOverflow> {
        if let Some(waiter) = self.state.waiting.pop() {
            waiter.callback(item);
            return Ok(());
        }
        if self.is_full() {
            return Err(QueueOverflow::new());
        }
        self.state.items.borrow_mut().push_back(item);
        Ok(())
    }

    /// The next item: at once if one is held, else when one is put.
    /// Cancelling the Deferred withdraws the request. Fails when `backlog`
    /// getters are already waiting.
    pub fn get(&self) -> Result<Deferred<T>, QueueUnderflow> {
        if let Some(item) = self.state.items.borrow_mut().pop_front() {
            return Ok(succeed(item));
        }
        if self
            .state
            .backlog
            .is_some_and(|limit| self.state.waiting.len() >= limit)
        {
            return Err(QueueUnderflow::new());
        }
        Ok(self.state.waiting.join())
    }

    /// Items held.
    pub fn len(&self) -> usize {
        self.state.items.borrow().len()
    }

    /// Whether no item is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `put` would fail now (no getter waiting and `size` items held).
    pub fn is_full(&self) -> bool {
        self.state.size.is_some_and(|size| self.len() >= size) && self.state.waiting.is_empty()
    }

    /// Getters waiting for an item.
    pub fn waiting(&self) -> usize {
        self.state.waiting.len()
    }
}

impl<T> Clone for DeferredQueue<T> {
    fn clone(&self) -> Self {
        DeferredQueue {
            state: self.state.clone(),
        }
    }
}

impl<T: 'static> fmt::Debug for DeferredQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeferredQueue")
            .field("items", &self.state.items.borrow().len())
            .field("waiting", &self.state.waiting.len())
            .finish()
    }
}
