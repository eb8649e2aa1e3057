//! AMP conversations with the in-memory doubles: Twisted's exact replies to
//! Twisted's exact requests on a StringTransport (at every chunk size), and
//! two gyre AMP protocols connected through the pump calling each other
//! both ways, with answers out of order, declared and undeclared errors,
//! unknown commands, commands wanting no answer, and the end of the
//! connection with calls pending.

mod amp_support;

use std::cell::RefCell;
use std::rc::Rc;

use amp_support::*;
use gyre_core::Failure;
use gyre_core::errors::{ConnectionDone, ConnectionLost};
use gyre_protocols::amp::{
    AmpBox, AmpConfig, AmpProtocol, Empty, RemoteAmpError, Responders, UnhandledCommand, UnknownRemoteError,
};
use gyre_testing::{
    StringTransportWithDisconnection, assert_no_result, connect_pair, failure_result_of, feed_chunked,
    success_result_of,
};

fn twisted_like() -> AmpConfig {
    AmpConfig {
        describe_unknown_errors: false,
        ..AmpConfig::default()
    }
}

#[test]
fn replies_to_twisteds_requests_are_twisteds_replies() {
    for (request, reply, closes) in [
        golden::ANSWER_SUM,
        golden::ANSWER_DIVIDE,
        golden::ERROR_ZERO_DIVISION,
        golden::ERROR_UNHANDLED,
        golden::ERROR_UNKNOWN,
    ] {
        let mut connection =
            StringTransportWithDisconnection::new(AmpProtocol::with_config(calculator(), twisted_like()));
        connection.data_received(request);
        assert_eq!(
            connection.transport().take().escape_ascii().to_string(),
            reply.escape_ascii().to_string()
        );
        assert_eq!(connection.transport().is_disconnecting(), closes);
    }
}

#[test]
fn a_pipelined_stream_of_requests_is_answered_identically_at_every_chunk_size() {
    let input = [
        golden::ANSWER_SUM.0,
        golden::ERROR_ZERO_DIVISION.0,
        golden::ANSWER_DIVIDE.0,
        golden::ERROR_UNHANDLED.0,
        golden::ERROR_UNKNOWN.0,
    ]
    .concat();
    let run = feed_chunked(|| AmpProtocol::with_config(calculator(), twisted_like()), &input);
    let expected = [
        golden::ANSWER_SUM.1,
        golden::ERROR_ZERO_DIVISION.1,
        golden::ANSWER_DIVIDE.1,
        golden::ERROR_UNHANDLED.1,
        golden::ERROR_UNKNOWN.1,
    ]
    .concat();
    assert_eq!(run.written, expected);
    assert!(
        run.closed,
        "the UNKNOWN error closes the connection, as in Twisted"
    );
}

#[test]
fn both_sides_call_each_other_over_one_connection() {
    let server = AmpProtocol::new(calculator());
    let client = AmpProtocol::new(calculator());
    let (to_client, to_server) = (server.amp(), client.amp());
    let mut pair = connect_pair(server, client);
    let from_client = to_server.call_remote::<Sum>(Pair { a: 13, b: 81 });
    let from_server = to_client.call_remote::<Divide>(Fraction {
        numerator: 1,
        denominator: 8,
    });
    assert_no_result(&from_client);
    pair.pump();
    assert_eq!(success_result_of(from_client).total, 94);
    assert_eq!(success_result_of(from_server).result, 0.125);
}

#[test]
fn every_argument_type_crosses_and_comes_back_unchanged() {
    let seen: Rc<RefCell<Option<Everything>>> = Rc::default();
    let record = seen.clone();
    let mut responders = Responders::new();
    responders.add(AllTypes, move |everything| {
        *record.borrow_mut() = Some(everything);
        Ok(Accepted { ok: true })
    });
    let client = AmpProtocol::default();
    let amp = client.amp();
    let mut pair = connect_pair(AmpProtocol::new(responders), client);
    let mut sent = golden_everything();
    sent.maybe = Some(-7);
    let accepted = amp.call_remote::<AllTypes>(sent.clone());
    pair.pump();
    assert!(success_result_of(accepted).ok);
    assert_eq!(seen.borrow_mut().take(), Some(sent));
}

#[test]
fn answers_fired_out_of_order_reach_the_right_callers() {
    let waiting = Waiting::default();
    let client = AmpProtocol::default();
    let amp = client.amp();
    let mut pair = connect_pair(AmpProtocol::new(slow_responders(&waiting)), client);
    let calls: Vec<_> = (0..5)
        .map(|n| amp.call_remote::<Sum>(Pair { a: n, b: 100 }))
        .collect();
    pair.pump();
    assert_eq!(amp.outstanding_calls(), 5);
    let pending: Vec<_> = waiting.borrow_mut().drain(..).collect();
    for (total, resolver) in pending.into_iter().rev() {
        resolver.callback(Total { total });
        pair.pump();
    }
    let totals: Vec<i64> = calls.into_iter().map(|d| success_result_of(d).total).collect();
    assert_eq!(totals, [100, 101, 102, 103, 104]);
    assert_eq!(amp.outstanding_calls(), 0);
}

#[test]
fn declared_errors_come_back_typed_and_unknown_commands_unhandled() {
    let client = AmpProtocol::default();
    let amp = client.amp();
    let mut pair = connect_pair(AmpProtocol::new(calculator()), client);
    let zero = amp.call_remote::<Divide>(Fraction {
        numerator: 1,
        denominator: 0,
    });
    let nope = amp.call_remote::<Nope>(Empty);
    pair.pump();
    let failure = failure_result_of(zero);
    assert_eq!(failure.to_string(), "calling Divide: division by zero");
    assert_eq!(
        failure.downcast_ref::<DivideError>(),
        Some(&DivideError::ZeroDivision("division by zero".into()))
    );
    let failure = failure_result_of(nope);
    let unhandled = failure.downcast_ref::<UnhandledCommand>().expect("UNHANDLED");
    assert_eq!(unhandled.description, "Unhandled Command: b'Nope'");
    assert!(pair.is_connected(), "neither closes the connection");
}

fn failing_responders() -> Responders {
    let mut responders = calculator();
    responders.add(Nope, |_| -> Result<Empty, Failure> {
        Err(Failure::msg("disk on fire"))
    });
    responders
}

#[test]
fn an_undeclared_failure_answers_unknown_with_its_text_and_closes() {
    let waiting = Waiting::default();
    let mut responders = slow_responders(&waiting);
    responders.add(Nope, |_| -> Result<Empty, Failure> {
        Err(Failure::msg("disk on fire"))
    });
    let client = AmpProtocol::default();
    let amp = client.amp();
    let mut pair = connect_pair(AmpProtocol::new(responders), client);
    let pending = amp.call_remote::<Sum>(Pair { a: 1, b: 1 });
    let failing = amp.call_remote::<Nope>(Empty);
    pair.pump();
    let failure = failure_result_of(failing);
    let unknown = failure.downcast_ref::<UnknownRemoteError>().expect("UNKNOWN");
    assert_eq!(unknown.description, "disk on fire");
    assert!(!pair.is_connected(), "Twisted closes after an undeclared failure");
    assert!(failure_result_of(pending).is::<ConnectionDone>());
    assert!(failure_result_of(amp.call_remote::<Sum>(Pair { a: 1, b: 1 })).is::<ConnectionDone>());
}

#[test]
fn the_unknown_error_policy_can_keep_the_connection_and_hide_the_text() {
    let config = AmpConfig {
        close_on_unknown_error: false,
        describe_unknown_errors: false,
        ..AmpConfig::default()
    };
    let client = AmpProtocol::default();
    let amp = client.amp();
    let mut pair = connect_pair(AmpProtocol::with_config(failing_responders(), config), client);
    let failing = amp.call_remote::<Nope>(Empty);
    pair.pump();
    let failure = failure_result_of(failing);
    assert_eq!(
        failure.downcast_ref::<UnknownRemoteError>().unwrap().description,
        "Unknown Error"
    );
    let after = amp.call_remote::<Sum>(Pair { a: 2, b: 3 });
    pair.pump();
    assert_eq!(success_result_of(after).total, 5);
}

#[test]
fn invalid_arguments_and_invalid_responses_are_reported_not_panicked() {
    let mut lying = Responders::new();
    // A raw responder for Sum whose answer lacks `total`.
    lying.add_box("Sum", |_, _| Ok(AmpBox::new()));
    let client = AmpProtocol::default();
    let amp = client.amp();
    let mut pair = connect_pair(AmpProtocol::new(lying), client);
    let answer = amp.call_remote::<Sum>(Pair { a: 1, b: 2 });
    pair.pump();
    let failure = failure_result_of(answer);
    assert!(failure.is::<gyre_protocols::amp::ArgumentError>(), "{failure}");
    assert_eq!(
        failure.to_string(),
        "the answer to Sum: missing AMP argument \"total\""
    );

    let client = AmpProtocol::default();
    let amp = client.amp();
    let mut pair = connect_pair(AmpProtocol::new(calculator()), client);
    let mut arguments = AmpBox::new();
    arguments.insert("a", "one");
    arguments.insert("b", "2");
    let bad = amp.call_remote_box("Sum", arguments);
    pair.pump();
    let failure = failure_result_of(bad);
    let unknown = failure.downcast_ref::<UnknownRemoteError>().expect("UNKNOWN");
    assert!(
        unknown.description.contains("decoding the arguments of Sum"),
        "{unknown}"
    );
    assert!(
        unknown.description.contains("\"one\" is not a decimal integer"),
        "{unknown}"
    );
}

#[test]
fn the_untyped_api_and_chosen_error_codes() {
    let mut responders = Responders::new();
    responders
        .add_box("Echo", |_, arguments| Ok(arguments))
        .add_box("Refuse", |_, _| -> Result<AmpBox, Failure> {
            Err(RemoteAmpError::new("NO_WAY", "refused").into())
        })
        .add_box("Quit", |_, _| -> Result<AmpBox, Failure> {
            let mut fatal = RemoteAmpError::new("FATAL", "bye");
            fatal.fatal = true;
            Err(fatal.into())
        });
    let client = AmpProtocol::default();
    let amp = client.amp();
    let mut pair = connect_pair(AmpProtocol::new(responders), client);
    let arguments: AmpBox = [("x", &b"\x00\x01"[..])].into_iter().collect();
    let echo = amp.call_remote_box("Echo", arguments.clone());
    let refuse = amp.call_remote_box(b"Refuse", AmpBox::new());
    pair.pump();
    assert_eq!(success_result_of(echo), arguments);
    let failure = failure_result_of(refuse);
    let error = failure.downcast_ref::<RemoteAmpError>().unwrap();
    assert_eq!(
        (error.code.as_slice(), error.description.as_str()),
        (&b"NO_WAY"[..], "refused")
    );
    assert!(pair.is_connected());
    let quit = amp.call_remote_box("Quit", AmpBox::new());
    pair.pump();
    assert_eq!(
        failure_result_of(quit)
            .downcast_ref::<RemoteAmpError>()
            .unwrap()
            .code,
        b"FATAL"
    );
    assert!(
        !pair.is_connected(),
        "a fatal error closes the connection after it is sent"
    );
}

#[test]
fn commands_wanting_no_answer_get_none() {
    let heard: Rc<RefCell<Vec<String>>> = Rc::default();
    let record = heard.clone();
    let mut responders = Responders::new();
    responders.add(Log, move |message| {
        record.borrow_mut().push(message.message);
        Ok(Empty)
    });
    let client = AmpProtocol::default();
    let amp = client.amp();
    let mut pair = connect_pair(AmpProtocol::new(responders), client);
    amp.send::<Log>(Message {
        message: "one".into(),
    })
    .unwrap();
    amp.send::<Log>(Message {
        message: "two".into(),
    })
    .unwrap();
    let client_end = pair.client_end().clone();
    pair.pump_once();
    assert_eq!(*heard.borrow(), ["one", "two"]);
    assert_eq!(pair.server_end().pending(), 0, "no answer was written");
    assert_eq!(client_end.pending(), 0);
    assert!(pair.is_connected());
}

#[test]
fn the_end_of_the_connection_fails_pending_calls_and_later_ones() {
    let waiting = Waiting::default();
    let client = AmpProtocol::default();
    let amp = client.amp();
    let mut pair = connect_pair(AmpProtocol::new(slow_responders(&waiting)), client);
    let pending = amp.call_remote::<Sum>(Pair { a: 1, b: 2 });
    pair.pump();
    assert_no_result(&pending);
    pair.server_transport().abort_connection();
    pair.pump();
    let failure = failure_result_of(pending);
    assert!(failure.is::<ConnectionLost>(), "{failure}");
    assert!(failure_result_of(amp.call_remote::<Sum>(Pair { a: 1, b: 2 })).is::<ConnectionLost>());
    assert!(
        amp.send::<Log>(Message {
            message: "late".into()
        })
        .is_err()
    );
    assert!(!amp.is_connected());
    assert!(amp.end_reason().unwrap().is::<ConnectionLost>());
    // The server's responder answering after the end writes nothing and panics nothing.
    let (total, resolver) = waiting.borrow_mut().pop().unwrap();
    resolver.callback(Total { total });
}

#[test]
fn a_responder_may_call_the_peer_back_before_answering() {
    let mut server_responders = Responders::new();
    server_responders.add_with_connection(Sum, |amp, pair| {
        // Ask the client to double the first number, then add.
        amp.call_remote::<Sum>(Pair { a: pair.a, b: pair.a })
            .map(move |doubled| Total {
                total: doubled.total + pair.b,
            })
    });
    let client = AmpProtocol::new(calculator());
    let amp = client.amp();
    let mut pair = connect_pair(AmpProtocol::new(server_responders), client);
    let answer = amp.call_remote::<Sum>(Pair { a: 5, b: 1 });
    pair.pump();
    assert_eq!(success_result_of(answer).total, 11);
}

#[test]
fn calls_made_before_the_connection_go_out_once_it_is_made() {
    let client = AmpProtocol::default();
    let amp = client.amp();
    let early = amp.call_remote::<Sum>(Pair { a: 20, b: 22 });
    assert!(!amp.is_connected());
    let mut pair = connect_pair(AmpProtocol::new(calculator()), client);
    pair.pump();
    assert_eq!(success_result_of(early).total, 42);
    assert!(amp.is_connected());
}

#[test]
fn a_connection_made_hook_can_start_calling() {
    let result: Rc<RefCell<Option<i64>>> = Rc::default();
    let record = result.clone();
    let client = AmpProtocol::default().on_connection_made(move |amp| {
        let record = record.clone();
        drop(
            amp.call_remote::<Sum>(Pair { a: 1, b: 2 })
                .map(move |total| *record.borrow_mut() = Some(total.total)),
        );
    });
    let mut pair = connect_pair(AmpProtocol::new(calculator()), client);
    pair.pump();
    assert_eq!(*result.borrow(), Some(3));
}
