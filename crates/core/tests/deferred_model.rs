//! Property test: random callback/errback chains, fired at a random moment
//! and waiting on random inner Deferreds, give the same result as a plain
//! sequential fold over the same operations.

use std::cell::RefCell;
use std::rc::Rc;

use gyre_core::deferred::succeed;
use gyre_core::prelude::*;
use gyre_testing::{failure_result_of, success_result_of};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    /// Success callback adding `k`.
    Add(i64),
    /// Success callback that fails on even values.
    FailIfEven,
    /// Errback recovering with `k`.
    Recover(i64),
    /// Errback adding context and re-raising.
    Context,
    /// Both-callback turning either outcome into a number.
    Flatten,
    /// Success callback returning an already fired Deferred of `x + k`.
    WaitFired(i64),
    /// Success callback returning a pending Deferred fired later with `x + k`.
    WaitPending(i64),
    /// Errback returning a pending Deferred that fails again later.
    WaitPendingFailure,
}

type Model = Result<i64, String>;

fn model_step(value: Model, op: &Op) -> Model {
    match (op, value) {
        (Op::Add(k) | Op::WaitFired(k) | Op::WaitPending(k), Ok(x)) => Ok(x.wrapping_add(*k)),
        (Op::FailIfEven, Ok(x)) if x % 2 == 0 => Err(format!("even {x}")),
        (Op::Recover(k), Err(_)) => Ok(*k),
        (Op::Context, Err(m)) => Err(format!("ctx: {m}")),
        (Op::WaitPendingFailure, Err(m)) => Err(format!("later: {m}")),
        (Op::Flatten, Ok(x)) => Ok(x),
        (Op::Flatten, Err(m)) => Ok(m.len() as i64),
        (_, value) => value,
    }
}

type Pending = Rc<RefCell<Vec<Box<dyn FnOnce()>>>>;

fn apply(d: Deferred<i64>, op: &Op, pending: &Pending) -> Deferred<i64> {
    match *op {
        Op::Add(k) => d.map(move |x| x.wrapping_add(k)),
        Op::FailIfEven => d.and_then(|x| {
            if x % 2 == 0 {
                Err(Failure::msg(format!("even {x}")))
            } else {
                Ok(x)
            }
        }),
        Op::Recover(k) => d.or_else(move |_| Ok(k)),
        Op::Context => d.map_err(|f| f.context("ctx")),
        Op::Flatten => d.then(|r| {
            Ok(match r {
                Ok(x) => x,
                Err(f) => f.to_string().len() as i64,
            })
        }),
        Op::WaitFired(k) => d.and_then(move |x| succeed(x.wrapping_add(k))),
        Op::WaitPending(k) => {
            let pending = pending.clone();
            d.and_then(move |x| {
                let (inner, resolver) = Deferred::<i64>::new();
                pending
                    .borrow_mut()
                    .push(Box::new(move || resolver.callback(x.wrapping_add(k))));
                inner
            })
        }
        Op::WaitPendingFailure => {
            let pending = pending.clone();
            d.or_else(move |failure| {
                let (inner, resolver) = Deferred::<i64>::new();
                let message = format!("later: {failure}");
                pending
                    .borrow_mut()
                    .push(Box::new(move || resolver.errback(Failure::msg(message))));
                inner
            })
        }
    }
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (-5i64..5).prop_map(Op::Add),
        Just(Op::FailIfEven),
        (-5i64..5).prop_map(Op::Recover),
        Just(Op::Context),
        Just(Op::Flatten),
        (-5i64..5).prop_map(Op::WaitFired),
        (-5i64..5).prop_map(Op::WaitPending),
        Just(Op::WaitPendingFailure),
    ]
}

fn initial() -> impl Strategy<Value = Model> {
    prop_oneof![(-10i64..10).prop_map(Ok), Just(Err("boom".to_string()))]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn chains_match_the_sequential_model(
        start in initial(),
        ops in proptest::collection::vec(op(), 0..24),
        fire_at in 0usize..25,
    ) {
        let expected = ops.iter().fold(start.clone(), model_step);
        let pending: Pending = Rc::default();
        let (mut d, resolver) = Deferred::<i64>::new();
        let fire_at = fire_at.min(ops.len());
        let fire = |resolver: &Resolver<i64>| match &start {
            Ok(x) => resolver.callback(*x),
            Err(m) => resolver.errback(Failure::msg(m.clone())),
        };
        for (index, op) in ops.iter().enumerate() {
            if index == fire_at {
                fire(&resolver);
            }
            d = apply(d, op, &pending);
        }
        if fire_at == ops.len() {
            fire(&resolver);
        }
        // Fire inner Deferreds as they appear, oldest first.
        for _ in 0..1000 {
            let next = {
                let mut pending = pending.borrow_mut();
                if pending.is_empty() { None } else { Some(pending.remove(0)) }
            };
            match next {
                Some(fire_inner) => fire_inner(),
                None => break,
            }
        }
        let actual = if d.state() == gyre_core::deferred::DeferredState::Failed {
            Err(failure_result_of(d).to_string())
        } else {
            Ok(success_result_of(d))
        };
        prop_assert_eq!(actual, expected);
    }
}
