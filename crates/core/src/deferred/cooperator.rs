//! [`Cooperator`]: long jobs in small steps, so one job does not starve the
//! event loop (Twisted's `twisted.internet.task.Cooperator`).
//!
//! A job is an iterator; each `next()` is one step of work. On every tick the
//! cooperator runs steps of its tasks round-robin until its budget for the
//! tick is spent (10 ms of work by default, or a fixed number of steps), then
//! yields to the loop and schedules the next tick on its clock. A step may
//! yield a Deferred: the task then waits for it before its next step, and a
//! failure ends the task.
//!
//! ```
//! use std::time::Duration;
//! use gyre_core::deferred::Cooperator;
//!
//! let clock = std::rc::Rc::new(gyre_testing::ManualClock::new());
//! let cooperator = Cooperator::with_step_limit(clock.clone(), 10);
//! let done = cooperator.coiterate((0..25).map(|_| ()));
//! clock.advance(Duration::ZERO); // one tick: 10 steps
//! gyre_testing::assert_no_result(&done);
//! clock.flush(); // the remaining ticks (10 steps, then 5 and the end)
//! gyre_testing::success_result_of(done);
//! ```

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::rc::{Rc, Weak};
use std::time::{Duration, Instant};

use super::chain::{self, Step};
use super::{Deferred, Outcome, Resolver, fail, succeed};
use crate::clock::{Clock, ClockExt, DelayedCall};
use crate::errors::TaskStopped;
use crate::failure::Failure;

/// Where a cooperative task is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    /// Has steps left and runs them when scheduled.
    Running,
    /// Paused by `pause`.
    Paused,
    /// The iterator was exhausted.
    Done,
    /// Stopped by `stop` (the task's or the cooperator's).
    Stopped,
    /// A step failed.
    Failed,
}

#[derive(Debug, Clone, Copy)]
enum Budget {
    Time(Duration),
    Steps(usize),
}

type Steps = Box<dyn FnMut() -> Option<Step>>;

struct TaskInner {
    steps: RefCell<Option<Steps>>,
    state: Cell<TaskState>,
    /// Waiting for a Deferred a step yielded.
    waiting: Cell<bool>,
    /// In the cooperator's run queue.
    queued: Cell<bool>,
    outcome: RefCell<Option<Result<(), Failure>>>,
    done_waiters: RefCell<Vec<Resolver<()>>>,
    cooperator: Weak<CoopState>,
}

struct CoopState {
    clock: Rc<dyn Clock>,
    budget: Budget,
    run_queue: RefCell<VecDeque<Rc<TaskInner>>>,
    all: RefCell<Vec<Weak<TaskInner>>>,
    scheduled: RefCell<Option<DelayedCall>>,
    /// A tick is running; it schedules the next one itself when it ends.
    ticking: Cell<bool>,
}

/// Runs iterators a few steps at a time.
#[derive(Clone)]
pub struct Cooperator {
    state: Rc<CoopState>,
}

/// A handle to one job of a [`Cooperator`].
#[derive(Clone)]
pub struct CooperativeTask {
    inner: Rc<TaskInner>,
}

impl Cooperator {
    /// A cooperator spending up to 10 ms of work per tick (Twisted's default).
    pub fn new(clock: Rc<dyn Clock>) -> Self {
        Self::with_time_slice(clock, Duration::from_millis(10))
    }

    /// A cooperator spending up to `slice` of work per tick, measured with
    /// the monotonic system clock (work takes real time even under a
    /// manual clock).
    pub fn with_time_slice(clock: Rc<dyn Clock>, slice: Duration) -> Self {
        Self::with_budget(clock, Budget::Time(slice))
    }

    /// A cooperator running at most `steps` steps per tick: deterministic,
    /// for tests and for steps of known cost.
    pub fn with_step_limit(clock: Rc<dyn Clock>, steps: usize) -> Self {
        Self::with_budget(clock, Budget::Steps(steps.max(1)))
    }

    fn with_budget(clock: Rc<dyn Clock>, budget: Budget) -> Self {
        Cooperator {
            state: Rc::new(CoopState {
                clock,
                budget,
                run_queue: RefCell::new(VecDeque::new()),
                all: RefCell::new(Vec::new()),
                scheduled: RefCell::new(None),
                ticking: Cell::new(false),
            }),
        }
    }

    /// Starts a job. Each item of `iterator` is one step's outcome: `()` or
    /// `Ok(())` to go on, `Err` to fail the task, a Deferred to wait on.
    pub fn cooperate<I>(&self, iterator: I) -> CooperativeTask
    where
        I: IntoIterator + 'static,
        I::Item: Outcome<Value = ()>,
    {
        let mut iterator = iterator.into_iter();
        let steps: Steps = Box::new(move || iterator.next().map(|item| item.into_continuation().0));
        let inner = Rc::new(TaskInner {
            steps: RefCell::new(Some(steps)),
            state: Cell::new(TaskState::Running),
            waiting: Cell::new(false),
            queued: Cell::new(false),
            outcome: RefCell::new(None),
            done_waiters: RefCell::new(Vec::new()),
            cooperator: Rc::downgrade(&self.state),
        });
        let mut all = self.state.all.borrow_mut();
        all.retain(|task| task.strong_count() > 0);
        all.push(Rc::downgrade(&inner));
        drop(all);
        enqueue(&self.state, &inner);
        CooperativeTask { inner }
    }

    /// Starts a job and returns a Deferred that fires when it is done.
    pub fn coiterate<I>(&self, iterator: I) -> Deferred<()>
    where
        I: IntoIterator + 'static,
        I::Item: Outcome<Value = ()>,
    {
        self.cooperate(iterator).when_done()
    }

    /// Stops every task; their `when_done` Deferreds fail with `TaskStopped`.
    pub fn stop(&self) {
        let tasks: Vec<_> = self.state.all.borrow().iter().filter_map(Weak::upgrade).collect();
        for task in tasks {
            CooperativeTask { inner: task }.stop();
        }
        if let Some(call) = self.state.scheduled.borrow_mut().take() {
            call.cancel();
        }
    }

    /// Tasks that are neither finished nor stopped.
    pub fn active_tasks(&self) -> usize {
        let all = self.state.all.borrow();
        let alive = all.iter().filter_map(Weak::upgrade);
        alive
            .filter(|t| matches!(t.state.get(), TaskState::Running | TaskState::Paused))
            .count()
    }
}

impl fmt::Debug for Cooperator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cooperator")
            .field("budget", &self.state.budget)
            .field("active_tasks", &self.active_tasks())
            .finish()
    }
}

impl CooperativeTask {
    /// A Deferred that fires when the task finishes: success when the
    /// iterator is exhausted, the step's failure if one failed,
    /// `TaskStopped` if it was stopped. May be called any number of times.
    pub fn when_done(&self) -> Deferred<()> {
        match &*self.inner.outcome.borrow() {
            Some(Ok(())) => return succeed(()),
            Some(Err(failure)) => return fail(failure.clone()),
            None => {}
        }
        let (deferred, resolver) = Deferred::new();
        self.inner.done_waiters.borrow_mut().push(resolver);
        deferred
    }

    /// Stops running steps until `resume`.
    pub fn pause(&self) {
        if self.inner.state.get() == TaskState::Running {
            self.inner.state.set(TaskState::Paused);
        }
    }

    /// Runs steps again after `pause`.
    pub fn resume(&self) {
        if self.inner.state.get() == TaskState::Paused {
            self.inner.state.set(TaskState::Running);
            if let Some(coop) = self.inner.cooperator.upgrade() {
                enqueue(&coop, &self.inner);
            }
        }
    }

    /// Stops the task for good and drops its iterator.
    pub fn stop(&self) {
        if matches!(self.inner.state.get(), TaskState::Running | TaskState::Paused) {
            complete(
                &self.inner,
                TaskState::Stopped,
                Err(Failure::new(TaskStopped::new())),
            );
        }
    }

    /// Where the task is.
    pub fn state(&self) -> TaskState {
        self.inner.state.get()
    }
}

impl fmt::Debug for CooperativeTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CooperativeTask")
            .field("state", &self.state())
            .finish()
    }
}

fn enqueue(coop: &Rc<CoopState>, task: &Rc<TaskInner>) {
    if task.queued.get() || task.waiting.get() || task.state.get() != TaskState::Running {
        return;
    }
    task.queued.set(true);
    coop.run_queue.borrow_mut().push_back(task.clone());
    if !coop.ticking.get() {
        schedule_tick(coop);
    }
}

fn schedule_tick(coop: &Rc<CoopState>) {
    if coop.scheduled.borrow().as_ref().is_some_and(DelayedCall::active) {
        return;
    }
    let weak = Rc::downgrade(coop);
    let call = coop.clock.call_later(Duration::ZERO, move || {
        if let Some(coop) = weak.upgrade() {
            tick(&coop);
        }
    });
    *coop.scheduled.borrow_mut() = Some(call);
}

fn complete(task: &TaskInner, state: TaskState, outcome: Result<(), Failure>) {
    task.state.set(state);
    let steps = task.steps.borrow_mut().take();
    drop(steps);
    *task.outcome.borrow_mut() = Some(outcome.clone());
    let waiters = std::mem::take(&mut *task.done_waiters.borrow_mut());
    for waiter in waiters {
        waiter.fire(outcome.clone());
    }
}

fn tick(coop: &Rc<CoopState>) {
    coop.scheduled.borrow_mut().take();
    coop.ticking.set(true);
    let started = Instant::now();
    let mut steps_run = 0usize;
    loop {
        let over_budget = match coop.budget {
            Budget::Steps(limit) => steps_run >= limit,
            Budget::Time(slice) => steps_run > 0 && started.elapsed() >= slice,
        };
        if over_budget {
            break;
        }
        let Some(task) = coop.run_queue.borrow_mut().pop_front() else {
            break;
        };
        task.queued.set(false);
        if task.state.get() != TaskState::Running || task.waiting.get() {
            continue;
        }
        steps_run += 1;
        run_step(coop, &task);
    }
    coop.ticking.set(false);
    if !coop.run_queue.borrow().is_empty() {
        schedule_tick(coop);
    }
}

fn run_step(coop: &Rc<CoopState>, task: &Rc<TaskInner>) {
    // Taken out while stepping, so the step may pause or stop its own task.
    let Some(mut steps) = task.steps.borrow_mut().take() else {
        return;
    };
    let step = steps();
    if matches!(task.state.get(), TaskState::Running | TaskState::Paused) {
        *task.steps.borrow_mut() = Some(steps);
    } else {
        return;
    }
    match step {
        None => complete(task, TaskState::Done, Ok(())),
        Some(Step::Ready(Ok(_))) => enqueue(coop, task),
        Some(Step::Ready(Err(failure))) => complete(task, TaskState::Failed, Err(failure)),
        Some(Step::Wait(inner)) => {
            task.waiting.set(true);
            let task = task.clone();
            chain::push(
                &inner,
                Box::new(move |result| {
                    task.waiting.set(false);
                    match result {
                        Err(failure)
                            if task.state.get() == TaskState::Running
                                || task.state.get() == TaskState::Paused =>
                        {
                            complete(&task, TaskState::Failed, Err(failure));
                        }
                        _ => {
                            if let Some(coop) = task.cooperator.upgrade() {
                                enqueue(&coop, &task);
                            }
                        }
                    }
                    Step::Ready(Ok(Box::new(())))
                }),
            );
        }
    }
}
