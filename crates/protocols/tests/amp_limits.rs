//! AMP against hostile or careless peers, with the in-memory doubles:
//! backpressure when commands pile up, the limit on our own waiting calls,
//! garbage and unexpected answers closing the connection with a typed
//! error, responders that never answer, and file descriptor bookkeeping
//! (with a fake descriptor-passing capability; real sockets are in
//! `amp_fd_passing.rs`).

mod amp_support;

use std::cell::RefCell;
use std::os::fd::OwnedFd;
use std::rc::Rc;

use amp_support::*;
use gyre_core::capability::{FdSender, SendFileDescriptors, UnixFdPassing};
use gyre_core::errors::NotSupportedByTransport;
use gyre_core::{Deferred, Failure, Protocol};
use gyre_protocols::amp::{
    AmpBox, AmpConfig, AmpProtocol, BoxLimits, Command, DecodeError, NoErrors, ProtocolError, Responders,
    SendError, UnknownRemoteError, decode_boxes,
};
use gyre_testing::{StringTransportWithDisconnection, connect_pair, failure_result_of, success_result_of};

#[test]
fn commands_piling_up_pause_reading_until_answers_go_out() {
    let waiting = Waiting::default();
    let config = AmpConfig {
        max_in_flight_commands: 2,
        ..AmpConfig::default()
    };
    let client = AmpProtocol::default();
    let amp = client.amp();
    let mut pair = connect_pair(
        AmpProtocol::with_config(slow_responders(&waiting), config),
        client,
    );
    let calls: Vec<_> = (0..5)
        .map(|n| amp.call_remote::<Sum>(Pair { a: n, b: 0 }))
        .collect();
    pair.pump();
    assert_eq!(
        waiting.borrow().len(),
        2,
        "two commands are in the responders' hands"
    );
    assert!(pair.server_end().is_reading_paused());
    let mut answered = 0;
    while answered < 5 {
        let next = waiting.borrow_mut().remove(0);
        next.1.callback(Total { total: next.0 });
        answered += 1;
        pair.pump();
        assert!(waiting.borrow().len() <= 2);
    }
    assert!(!pair.server_end().is_reading_paused());
    let totals: Vec<i64> = calls.into_iter().map(|d| success_result_of(d).total).collect();
    assert_eq!(totals, [0, 1, 2, 3, 4]);
}

#[test]
fn a_transport_that_keeps_delivering_while_paused_cannot_grow_the_buffer() {
    let waiting = Waiting::default();
    let config = AmpConfig {
        max_in_flight_commands: 1,
        limits: gyre_protocols::amp::BoxLimits {
            max_box_bytes: 100,
            ..Default::default()
        },
        ..AmpConfig::default()
    };
    // A StringTransport does not honour pause_reading: the test keeps feeding.
    let mut connection =
        StringTransportWithDisconnection::new(AmpProtocol::with_config(slow_responders(&waiting), config));
    let command = golden::ANSWER_SUM.0;
    connection.data_received(command);
    assert_eq!(waiting.borrow().len(), 1);
    assert!(!connection.transport().is_reading_paused());
    connection.data_received(command);
    assert!(
        connection.transport().is_reading_paused(),
        "the second command waits"
    );
    let mut fed = command.len();
    while !connection.transport().is_disconnecting() {
        connection.data_received(command);
        fed += command.len();
        assert!(
            fed < 100 + (64 << 10) + 2 * command.len(),
            "the buffer is bounded"
        );
    }
    connection.settle();
    let reason = connection.protocol().amp().end_reason().unwrap();
    assert_eq!(
        reason.downcast_ref::<ProtocolError>(),
        Some(&ProtocolError::Overrun {
            limit: 100 + (64 << 10)
        })
    );
}

#[test]
fn commands_held_while_paused_are_answered_in_order_even_when_more_arrive() {
    let waiting = Waiting::default();
    let config = AmpConfig {
        max_in_flight_commands: 1,
        ..AmpConfig::default()
    };
    let mut connection =
        StringTransportWithDisconnection::new(AmpProtocol::with_config(slow_responders(&waiting), config));
    let command = |n: i64| {
        let mut request = AmpBox::new();
        request.insert("_command", "Sum");
        request.insert("_ask", format!("{n:x}"));
        request.insert("a", n.to_string());
        request.insert("b", "0");
        request.to_bytes().unwrap()
    };
    // Ten commands in one read, taken one at a time as each is answered.
    connection.data_received(&(1..=10).flat_map(command).collect::<Vec<u8>>());
    let answer = |connection: &mut StringTransportWithDisconnection<AmpProtocol>| {
        let (total, resolver) = waiting.borrow_mut().remove(0);
        resolver.callback(Total { total });
        connection.settle();
    };
    for _ in 0..3 {
        answer(&mut connection);
    }
    assert!(connection.transport().is_reading_paused());
    // A transport that still delivers while paused: the new bytes go after
    // the ones not taken yet.
    connection.data_received(&(11..=12).flat_map(command).collect::<Vec<u8>>());
    while !waiting.borrow().is_empty() {
        answer(&mut connection);
    }
    assert!(!connection.transport().is_reading_paused());
    let answers = decode_boxes(&connection.transport().value(), BoxLimits::default()).unwrap();
    let seen: Vec<(Vec<u8>, Vec<u8>)> = answers
        .iter()
        .map(|reply| {
            (
                reply.get("_answer").unwrap().to_vec(),
                reply.get("total").unwrap().to_vec(),
            )
        })
        .collect();
    let expected: Vec<(Vec<u8>, Vec<u8>)> = (1..=12_i64)
        .map(|n| (format!("{n:x}").into_bytes(), n.to_string().into_bytes()))
        .collect();
    assert_eq!(seen, expected);
}

#[test]
fn too_many_waiting_calls_fail_at_once() {
    let waiting = Waiting::default();
    let client = AmpProtocol::with_config(
        Responders::new(),
        AmpConfig {
            max_outstanding_calls: 1,
            ..AmpConfig::default()
        },
    );
    let amp = client.amp();
    let mut pair = connect_pair(AmpProtocol::new(slow_responders(&waiting)), client);
    let first = amp.call_remote::<Sum>(Pair { a: 1, b: 1 });
    let second = amp.call_remote::<Sum>(Pair { a: 2, b: 2 });
    let failure = failure_result_of(second);
    assert_eq!(
        failure.downcast_ref::<SendError>(),
        Some(&SendError::TooManyOutstandingCalls { limit: 1 })
    );
    pair.pump();
    let (total, resolver) = waiting.borrow_mut().pop().unwrap();
    resolver.callback(Total { total });
    pair.pump();
    assert_eq!(success_result_of(first).total, 2);
    assert!(
        !amp.call_remote::<Sum>(Pair { a: 0, b: 0 }).has_result(),
        "room again"
    );
}

#[test]
fn a_responder_that_drops_its_deferred_answers_unknown() {
    let mut responders = Responders::new();
    responders.add(Sum, |_| Deferred::<Total>::new().0);
    let client = AmpProtocol::default();
    let amp = client.amp();
    let config = AmpConfig {
        close_on_unknown_error: false,
        ..AmpConfig::default()
    };
    let mut pair = connect_pair(AmpProtocol::with_config(responders, config), client);
    let answer = amp.call_remote::<Sum>(Pair { a: 1, b: 1 });
    pair.pump();
    let failure = failure_result_of(answer);
    let unknown = failure.downcast_ref::<UnknownRemoteError>().expect("UNKNOWN");
    assert_eq!(
        unknown.description,
        "the responder dropped its Deferred without answering"
    );
}

#[test]
fn garbage_closes_the_connection_and_fails_waiting_calls_with_the_reason() {
    for (garbage, expected) in [
        (
            &b"\x01\x00"[..],
            ProtocolError::Decode(DecodeError::KeyTooLong { length: 256 }),
        ),
        (
            &b"\x00\x07_answer\x00\x0299\x00\x00"[..],
            ProtocolError::UnknownAnswer { tag: "99".into() },
        ),
        (&b"\x00\x00"[..], ProtocolError::NotACommandOrAnswer),
    ] {
        let mut connection = StringTransportWithDisconnection::new(AmpProtocol::default());
        let amp = connection.protocol().amp();
        let waiting = amp.call_remote::<Sum>(Pair { a: 1, b: 1 });
        connection.data_received(garbage);
        assert!(connection.transport().is_disconnecting());
        connection.settle();
        let failure = failure_result_of(waiting);
        assert_eq!(failure.downcast_ref::<ProtocolError>(), Some(&expected));
        assert_eq!(
            amp.end_reason().unwrap().downcast_ref::<ProtocolError>(),
            Some(&expected)
        );
    }
}

/// Records the descriptors a transport was asked to pass.
#[derive(Default)]
struct FakeFdPassing(RefCell<Vec<OwnedFd>>);

impl SendFileDescriptors for FakeFdPassing {
    fn send_file_descriptors(&self, fds: Vec<OwnedFd>) -> Result<(), Failure> {
        self.0.borrow_mut().extend(fds);
        Ok(())
    }
}

gyre_protocols::amp_fields! {
    /// A pipe's write end to write a greeting into, and another descriptor
    /// that may come along.
    struct Sink { label: String, fd: OwnedFd, spare: Option<OwnedFd> }
}

/// Writes the label into the passed descriptor.
struct Greet;
impl Command for Greet {
    const NAME: &'static str = "Greet";
    type Arguments = Sink;
    type Response = gyre_protocols::amp::Empty;
    type Error = NoErrors;
}

fn greeter() -> Responders {
    let mut responders = Responders::new();
    responders.add(Greet, |sink| {
        drop(sink.spare);
        let mut file = std::fs::File::from(sink.fd);
        std::io::Write::write_all(&mut file, sink.label.as_bytes())?;
        Ok(gyre_protocols::amp::Empty)
    });
    responders
}

#[test]
fn descriptors_are_numbered_per_connection_and_claimed_by_ordinal() {
    let fake = Rc::new(FakeFdPassing::default());
    let client = AmpProtocol::default();
    let amp = client.amp();
    let mut pair = connect_pair(AmpProtocol::new(greeter()), client);
    pair.client_end()
        .provide_capability::<UnixFdPassing>(FdSender(fake.clone()));
    let mut readers = Vec::new();
    let mut calls = Vec::new();
    for label in ["first", "second"] {
        let (reader, writer) = std::io::pipe().unwrap();
        let (_, other) = std::io::pipe().unwrap();
        readers.push(reader);
        calls.push(amp.call_remote::<Greet>(Sink {
            label: label.into(),
            fd: OwnedFd::from(writer),
            spare: Some(OwnedFd::from(other)),
        }));
    }
    // The second call's descriptors are ordinals 2 and 3.
    assert_eq!(fake.0.borrow().len(), 4);
    let passed: Vec<OwnedFd> = fake.0.borrow_mut().drain(..).collect();
    let server_transport = pair.server_transport();
    pair.server().file_descriptors_received(&server_transport, passed);
    pair.pump();
    for (call, (mut reader, label)) in calls
        .into_iter()
        .zip(readers.into_iter().zip(["first", "second"]))
    {
        success_result_of(call);
        let mut text = String::new();
        std::io::Read::read_to_string(&mut reader, &mut text).unwrap();
        assert_eq!(text, label);
    }
}

#[test]
fn descriptors_need_a_transport_that_passes_them() {
    let client = AmpProtocol::default();
    let amp = client.amp();
    let (_, writer) = std::io::pipe().unwrap();
    let early = amp.call_remote::<Greet>(Sink {
        label: "x".into(),
        fd: OwnedFd::from(writer),
        spare: None,
    });
    assert_eq!(
        failure_result_of(early).downcast_ref::<SendError>(),
        Some(&SendError::NotConnected)
    );
    let mut pair = connect_pair(AmpProtocol::new(greeter()), client);
    let (_, writer) = std::io::pipe().unwrap();
    let call = amp.call_remote::<Greet>(Sink {
        label: "x".into(),
        fd: OwnedFd::from(writer),
        spare: None,
    });
    assert!(failure_result_of(call).is::<NotSupportedByTransport>());
    // Nothing was sent, so the connection is still in step.
    let sum = amp.call_remote::<Sum>(Pair { a: 1, b: 1 });
    pair.pump();
    assert!(failure_result_of(sum).is::<gyre_protocols::amp::UnhandledCommand>());
}

#[test]
fn a_peer_passing_too_many_unclaimed_descriptors_is_cut_off() {
    let config = AmpConfig {
        max_received_descriptors: 2,
        ..AmpConfig::default()
    };
    let mut connection =
        StringTransportWithDisconnection::new(AmpProtocol::with_config(Responders::new(), config));
    let amp = connection.protocol().amp();
    let pending = amp.call_remote::<Sum>(Pair { a: 1, b: 1 });
    let fds: Vec<OwnedFd> = (0..3)
        .map(|_| OwnedFd::from(std::io::pipe().unwrap().0))
        .collect();
    let handle = connection.handle().clone();
    connection.protocol_mut().file_descriptors_received(&handle, fds);
    assert!(connection.transport().is_disconnecting());
    connection.settle();
    assert_eq!(
        failure_result_of(pending).downcast_ref::<ProtocolError>(),
        Some(&ProtocolError::TooManyDescriptors { limit: 2 })
    );
}
