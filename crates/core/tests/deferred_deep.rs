//! Long chains must fire and drop in constant stack space.

use std::cell::RefCell;
use std::rc::Rc;

use gyre_core::prelude::*;
use gyre_testing::{assert_no_result, success_result_of};

const DEPTH: usize = 100_000;

/// Runs `f` on a thread with a small stack, so that recursion proportional to
/// the chain length would overflow even in an optimised build.
fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("the chain overflowed the stack or panicked");
}

#[test]
fn one_hundred_thousand_nested_waits_fire_without_overflow() {
    on_small_stack(|| {
        // Deferred i's callback returns Deferred i+1; the innermost fires last.
        let resolvers: Vec<Resolver<usize>> = Vec::new();
        let resolvers = Rc::new(RefCell::new(resolvers));
        let (first, first_resolver) = Deferred::<usize>::new();
        let mut tail = first.map(|x| x);
        for _ in 0..DEPTH {
            let resolvers = resolvers.clone();
            tail = tail.and_then(move |x| {
                let (inner, r) = Deferred::<usize>::new();
                resolvers.borrow_mut().push(r);
                inner.map(move |y| x + y)
            });
        }
        first_resolver.callback(0);
        assert_no_result(&tail);
        // Each inner Deferred is created when the previous one fires; fire
        // them one by one.
        for _ in 0..DEPTH {
            let r = resolvers.borrow_mut().pop().expect("a waiting inner Deferred");
            r.callback(1);
        }
        assert_eq!(success_result_of(tail), DEPTH);
    });
}

#[test]
fn one_hundred_thousand_deferreds_each_waiting_on_the_next_unwind_iteratively() {
    on_small_stack(|| {
        // Build d0 waits on d1 waits on d2 ... all pending; fire the innermost.
        let (innermost, fire) = Deferred::<u64>::new();
        let mut current = innermost;
        for _ in 0..DEPTH {
            let (outer, outer_fire) = Deferred::<()>::new();
            let waiting = outer.and_then(move |()| current.map(|v| v + 1));
            outer_fire.callback(());
            current = waiting;
        }
        assert_no_result(&current);
        fire.callback(0);
        assert_eq!(success_result_of(current), DEPTH as u64);
    });
}

#[test]
fn one_hundred_thousand_chain_links_fire_without_overflow() {
    on_small_stack(|| {
        let (first, fire) = Deferred::<u64>::new();
        let mut current = first;
        for _ in 0..DEPTH {
            let (next, next_resolver) = Deferred::<u64>::new();
            current.map(|v| v + 1).chain(next_resolver);
            current = next;
        }
        fire.callback(0);
        assert_eq!(success_result_of(current), DEPTH as u64);
    });
}

#[test]
fn one_hundred_thousand_callbacks_on_one_deferred() {
    on_small_stack(|| {
        let (d, r) = Deferred::<u64>::new();
        let mut d = d;
        for _ in 0..DEPTH {
            d = d.map(|v| v + 1);
        }
        r.callback(0);
        assert_eq!(success_result_of(d), DEPTH as u64);
    });
}

#[test]
fn dropping_long_unfired_chains_does_not_overflow() {
    on_small_stack(|| {
        // Pending waits: each inner holds its parent.
        let (innermost, fire) = Deferred::<u64>::new();
        let mut current = innermost;
        for _ in 0..DEPTH {
            let (outer, outer_fire) = Deferred::<()>::new();
            let waiting = outer.and_then(move |()| current);
            outer_fire.callback(());
            current = waiting;
        }
        drop(current);
        drop(fire);
        // Pending chain() links: each source holds its target.
        let (first, first_fire) = Deferred::<u64>::new();
        let mut current = first;
        for _ in 0..DEPTH {
            let (next, next_resolver) = Deferred::<u64>::new();
            current.chain(next_resolver);
            current = next;
        }
        drop(current);
        drop(first_fire);
    });
}
