//! [`ManualExecutor`]: a single-threaded executor that runs only when the
//! test says so.
//!
//! Code written in `async` style spawns its futures through the
//! [`Spawn`] seam; the reactor's executor polls them on its run queue. In a
//! test, `ManualExecutor` stands in for it: spawned futures sit in a queue
//! until [`run_until_stalled`](ManualExecutor::run_until_stalled), which
//! polls every woken task until none is ready. Combined with a manual clock
//! and in-memory transports, a test steps async code as deterministically as
//! callback code.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

use gyre_core::deferred::Spawn;

/// How many polls one [`ManualExecutor::run_until_stalled`] may make before
/// it concludes a task keeps waking itself.
pub const MAX_POLLS: usize = 100_000;

type Task = Pin<Box<dyn Future<Output = ()>>>;

/// Ids of the tasks that were woken and wait to be polled. Shared with
/// wakers, which may be sent to and woken from other threads.
type ReadyQueue = Arc<Mutex<VecDeque<usize>>>;

/// A test executor for `!Send` futures. Clones share the same tasks.
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use gyre_core::deferred::Spawn;
/// use gyre_testing::ManualExecutor;
///
/// let executor = ManualExecutor::new();
/// let ran = Rc::new(Cell::new(false));
/// let flag = ran.clone();
/// executor.spawn_local_boxed(Box::pin(async move { flag.set(true) }));
/// assert!(!ran.get(), "nothing runs until the test says so");
/// assert_eq!(executor.run_until_stalled(), 1);
/// assert!(ran.get());
/// assert_eq!(executor.pending(), 0);
/// ```
#[derive(Clone, Default)]
pub struct ManualExecutor {
    shared: Rc<ExecutorShared>,
}

#[derive(Default)]
struct ExecutorShared {
    /// Indexed by task id; `None` once the task finished (or while it is
    /// being polled). Ids are never reused, so a stale wake-up cannot poll
    /// a different task.
    tasks: RefCell<Vec<Option<Task>>>,
    ready: ReadyQueue,
    unfinished: Cell<usize>,
}

/// Wakes one task by queueing its id (once, however often it is woken).
struct TaskWaker {
    id: usize,
    ready: ReadyQueue,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        enqueue(&self.ready, self.id);
    }
}

/// Locks the ready queue, poisoned or not: it holds plain task ids.
fn lock(ready: &ReadyQueue) -> MutexGuard<'_, VecDeque<usize>> {
    ready.lock().unwrap_or_else(PoisonError::into_inner)
}

fn enqueue(ready: &ReadyQueue, id: usize) {
    let mut queue = lock(ready);
    if !queue.contains(&id) {
        queue.push_back(id);
    }
}

impl ManualExecutor {
    /// An executor with no tasks.
    pub fn new() -> Self {
        Self::default()
    }

    /// Polls woken tasks, in the order they were woken, until none is
    /// ready; newly spawned tasks count as woken. Returns how many polls it
    /// made. Tasks may spawn tasks and wake each other meanwhile.
    ///
    /// # Panics
    /// After [`MAX_POLLS`] polls: a task that wakes itself on every poll
    /// would otherwise never let it return. A panic inside a task
    /// propagates to the caller.
    #[track_caller]
    pub fn run_until_stalled(&self) -> usize {
        let mut polls = 0;
        loop {
            let next = lock(&self.shared.ready).pop_front();
            let Some(id) = next else {
                return polls;
            };
            let task = self.shared.tasks.borrow_mut().get_mut(id).and_then(Option::take);
            let Some(mut task) = task else {
                continue;
            };
            polls += 1;
            assert!(
                polls <= MAX_POLLS,
                "ManualExecutor::run_until_stalled made {MAX_POLLS} polls and tasks are still ready; \
                 a task probably wakes itself every time it is polled"
            );
            let waker = Waker::from(Arc::new(TaskWaker {
                id,
                ready: self.shared.ready.clone(),
            }));
            match task.as_mut().poll(&mut Context::from_waker(&waker)) {
                Poll::Ready(()) => self.shared.unfinished.set(self.shared.unfinished.get() - 1),
                Poll::Pending => self.shared.tasks.borrow_mut()[id] = Some(task),
            }
        }
    }

    /// How many spawned tasks have not finished yet.
    pub fn pending(&self) -> usize {
        self.shared.unfinished.get()
    }
}

impl Spawn for ManualExecutor {
    /// Queues `future`; it is first polled by the next
    /// [`run_until_stalled`](ManualExecutor::run_until_stalled), never here.
    fn spawn_local_boxed(&self, future: Pin<Box<dyn Future<Output = ()>>>) {
        let id = {
            let mut tasks = self.shared.tasks.borrow_mut();
            tasks.push(Some(future));
            tasks.len() - 1
        };
        self.shared.unfinished.set(self.shared.unfinished.get() + 1);
        enqueue(&self.shared.ready, id);
    }
}

impl fmt::Debug for ManualExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ready = lock(&self.shared.ready).len();
        f.debug_struct("ManualExecutor")
            .field("pending", &self.pending())
            .field("ready", &ready)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-shot signal: its future is pending until `fire`, which wakes it.
    #[derive(Default)]
    struct Signal {
        fired: Cell<bool>,
        waker: RefCell<Option<Waker>>,
    }

    impl Signal {
        fn fire(&self) {
            self.fired.set(true);
            if let Some(waker) = self.waker.borrow_mut().take() {
                waker.wake();
            }
        }

        async fn wait(self: Rc<Self>) {
            std::future::poll_fn(|cx| {
                if self.fired.get() {
                    Poll::Ready(())
                } else {
                    *self.waker.borrow_mut() = Some(cx.waker().clone());
                    Poll::Pending
                }
            })
            .await;
        }
    }

    #[test]
    fn a_waiting_task_runs_again_only_once_woken() {
        let executor = ManualExecutor::new();
        let signal = Rc::new(Signal::default());
        let log = Rc::new(RefCell::new(Vec::new()));
        let (task_signal, task_log) = (signal.clone(), log.clone());
        executor.spawn_local_boxed(Box::pin(async move {
            task_log.borrow_mut().push("started");
            task_signal.wait().await;
            task_log.borrow_mut().push("finished");
        }));
        assert_eq!(executor.run_until_stalled(), 1);
        assert_eq!(executor.run_until_stalled(), 0, "not woken, not polled");
        assert_eq!(executor.pending(), 1);
        signal.fire();
        assert_eq!(*log.borrow(), ["started"], "waking does not poll");
        assert_eq!(executor.run_until_stalled(), 1);
        assert_eq!(*log.borrow(), ["started", "finished"]);
        assert_eq!(executor.pending(), 0);
    }

    #[test]
    fn tasks_spawned_by_tasks_run_in_the_same_call() {
        let executor = ManualExecutor::new();
        let log = Rc::new(RefCell::new(Vec::new()));
        let (inner_executor, inner_log) = (executor.clone(), log.clone());
        executor.spawn_local_boxed(Box::pin(async move {
            inner_log.borrow_mut().push("parent");
            let child_log = inner_log.clone();
            inner_executor.spawn_local_boxed(Box::pin(async move { child_log.borrow_mut().push("child") }));
        }));
        assert_eq!(executor.run_until_stalled(), 2);
        assert_eq!(*log.borrow(), ["parent", "child"]);
    }

    #[test]
    fn wakers_work_from_another_thread_and_repeated_wakes_poll_once() {
        let executor = ManualExecutor::new();
        let slot: Rc<RefCell<Option<Waker>>> = Rc::default();
        let polled = Rc::new(Cell::new(0));
        let (task_slot, task_polled) = (slot.clone(), polled.clone());
        executor.spawn_local_boxed(Box::pin(std::future::poll_fn(move |cx| {
            task_polled.set(task_polled.get() + 1);
            *task_slot.borrow_mut() = Some(cx.waker().clone());
            if task_polled.get() == 2 {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })));
        executor.run_until_stalled();
        let waker = slot.borrow_mut().take().unwrap();
        std::thread::spawn(move || {
            waker.wake_by_ref();
            waker.wake();
        })
        .join()
        .unwrap();
        assert_eq!(executor.run_until_stalled(), 1);
        assert_eq!(polled.get(), 2);
        assert_eq!(executor.pending(), 0);
    }

    #[test]
    fn waking_a_finished_task_is_harmless() {
        let executor = ManualExecutor::new();
        let slot: Rc<RefCell<Option<Waker>>> = Rc::default();
        let task_slot = slot.clone();
        executor.spawn_local_boxed(Box::pin(std::future::poll_fn(move |cx| {
            *task_slot.borrow_mut() = Some(cx.waker().clone());
            Poll::Ready(())
        })));
        executor.run_until_stalled();
        slot.borrow_mut().take().unwrap().wake();
        assert_eq!(executor.run_until_stalled(), 0);
    }

    #[test]
    #[should_panic(expected = "wakes itself every time it is polled")]
    fn a_task_that_always_wakes_itself_is_reported() {
        let executor = ManualExecutor::new();
        executor.spawn_local_boxed(Box::pin(std::future::poll_fn(|cx| {
            cx.waker().wake_by_ref();
            Poll::<()>::Pending
        })));
        executor.run_until_stalled();
    }
}
