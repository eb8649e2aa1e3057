//! What the AMP tests share: the commands of Twisted's AMP examples (Sum,
//! Divide), a command with every argument type, and the golden bytes
//! Twisted produced for them (`golden.rs`, made by `make_golden.py`).

#![allow(dead_code)] // each test file uses part of this module

pub mod golden;
pub mod interop;

use std::cell::RefCell;
use std::rc::Rc;

use gyre_core::{Deferred, Resolver};
use gyre_protocols::amp::{AmpList, Command, DateTime, Decimal, Empty, NoErrors, Responders};

gyre_protocols::amp_fields! {
    /// Sum's arguments.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Pair { pub a: i64, pub b: i64 }
}

gyre_protocols::amp_fields! {
    /// Sum's response.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Total { pub total: i64 }
}

gyre_protocols::amp_fields! {
    /// Divide's arguments.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Fraction { pub numerator: i64, pub denominator: i64 }
}

gyre_protocols::amp_fields! {
    /// Divide's response.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Quotient { pub result: f64 }
}

gyre_protocols::amp_errors! {
    /// Divide's declared errors.
    pub enum DivideError {
        /// Twisted's ZeroDivisionError.
        ZeroDivision = "ZERO_DIVISION",
    }
}

/// Adds two integers.
pub struct Sum;
impl Command for Sum {
    const NAME: &'static str = "Sum";
    type Arguments = Pair;
    type Response = Total;
    type Error = NoErrors;
}

/// Divides, declaring ZERO_DIVISION.
pub struct Divide;
impl Command for Divide {
    const NAME: &'static str = "Divide";
    type Arguments = Fraction;
    type Response = Quotient;
    type Error = DivideError;
}

gyre_protocols::amp_fields! {
    /// Log's argument.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Message { pub message: String }
}

/// A command that wants no answer.
pub struct Log;
impl Command for Log {
    const NAME: &'static str = "Log";
    const REQUIRES_ANSWER: bool = false;
    type Arguments = Message;
    type Response = Empty;
    type Error = NoErrors;
}

/// A command nobody answers.
pub struct Nope;
impl Command for Nope {
    const NAME: &'static str = "Nope";
    type Arguments = Empty;
    type Response = Empty;
    type Error = NoErrors;
}

gyre_protocols::amp_fields! {
    /// One row of an AmpList.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Row { pub a: i64, pub b: String }
}

gyre_protocols::amp_fields! {
    /// Every argument type but Descriptor.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Everything {
        pub i: i64,
        pub s: Vec<u8>,
        pub u: String,
        pub f: f64,
        pub b: bool,
        pub d: Decimal,
        pub t: DateTime,
        pub l: Vec<i64>,
        pub rows: AmpList<Row>,
        pub maybe: Option<i64>,
        pub first_name as "first-name": String,
    }
}

gyre_protocols::amp_fields! {
    /// AllTypes' response.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Accepted { pub ok: bool }
}

/// Every argument type, as in `make_golden.py`.
pub struct AllTypes;
impl Command for AllTypes {
    const NAME: &'static str = "AllTypes";
    type Arguments = Everything;
    type Response = Accepted;
    type Error = NoErrors;
}

/// The arguments `make_golden.py` passes to `callRemote(AllTypes, ...)`.
pub fn golden_everything() -> Everything {
    Everything {
        i: -42,
        s: b"\x00\xffbin".to_vec(),
        u: "h\u{e9}llo".into(),
        f: 1.5,
        b: true,
        d: "-1.50".parse().unwrap(),
        t: DateTime::utc(2012, 1, 23, 12, 34, 56)
            .unwrap()
            .with_microsecond(54321)
            .unwrap(),
        l: vec![1, 2, 3],
        rows: AmpList(vec![Row { a: 7, b: "x".into() }]),
        maybe: None,
        first_name: "Ada".into(),
    }
}

/// Twisted's `Calculator` responders: Sum and Divide (1 / 0 is ZERO_DIVISION
/// described "division by zero", as Python says).
pub fn calculator() -> Responders {
    let mut responders = Responders::new();
    responders
        .add(Sum, |pair| {
            Ok(Total {
                total: pair.a + pair.b,
            })
        })
        .add(Divide, |fraction| {
            if fraction.denominator == 0 {
                return Err(DivideError::ZeroDivision("division by zero".into()).into());
            }
            Ok(Quotient {
                result: fraction.numerator as f64 / fraction.denominator as f64,
            })
        });
    responders
}

/// Sums waiting to be answered, with the resolver that answers each.
pub type Waiting = Rc<RefCell<Vec<(i64, Resolver<Total>)>>>;

/// A Sum responder that answers later, when the test fires the resolver it
/// leaves in `waiting`.
pub fn slow_responders(waiting: &Waiting) -> Responders {
    let waiting = waiting.clone();
    let mut responders = Responders::new();
    responders.add(Sum, move |pair| {
        let (deferred, resolver) = Deferred::new();
        waiting.borrow_mut().push((pair.a + pair.b, resolver));
        deferred
    });
    responders
}
