//! Multicast over real sockets. The host's `lo` has no MULTICAST flag, so
//! each test makes its own network namespace (needs root) and re-runs an
//! `#[ignore]`d inner test of this binary inside it with `ip netns exec`.
//! Python's `socket` module is the third-party peer in the group, both
//! ways, over IPv4 (on `lo`) and IPv6 (on a veth pair: `lo` does not deliver
//! IPv6 multicast). Argument errors need no namespace and run on the host.

mod udp_support;

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::time::Duration;

use gyre_core::interfaces::ReactorUdp;
use gyre_core::prelude::*;
use gyre_reactor::Reactor;
use gyre_reactor::datagram::UdpOptions;
use udp_support::{
    ChildGuard, ChildGuardExt, Event, Log, NETNS_IPV4, NETNS_IPV6, Namespace, new_log, payloads, recorder,
    require_namespace, require_program, run_bounded, stop_when,
};

const LIMIT: Duration = Duration::from_secs(20);
const GROUP_V4: Ipv4Addr = Ipv4Addr::new(239, 255, 67, 121);
/// Transient, link-local scope: it needs the interface, which the tests give.
const GROUP_V6: &str = "ff12::6779:1";

#[test]
fn multicast_with_python_over_ipv4() {
    Namespace::create("mc4").run_test("inner_python_over_ipv4", LIMIT);
}

#[test]
fn multicast_with_python_over_ipv6() {
    Namespace::create("mc6").run_test("inner_python_over_ipv6", LIMIT);
}

#[test]
fn multicast_membership_loopback_and_ttl() {
    Namespace::create("mcm").run_test("inner_membership_loopback_and_ttl", LIMIT);
}

#[test]
fn multicast_chat_example_with_python() {
    // Built here, outside the namespace, where the inner test finds it.
    gyre_testing::peers::example_binary(std::path::Path::new(env!("CARGO_MANIFEST_DIR")), "multicast_chat");
    Namespace::create("mcc").run_test("inner_chat_example_with_python", LIMIT);
}

/// Joins the group (with `SO_REUSEADDR`, on the port gyre already bound),
/// prints `ready`, and answers the first datagram that starts with the
/// given prefix with `python:` and the rest, sent to the group.
const PYTHON_MEMBER: &str = r#"
import socket, struct, sys
family, group, port, interface = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
prefix = sys.argv[5].encode()
if family == "4":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton(group) + socket.inet_aton(interface))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(interface))
    destination = (group, port)
else:
    index = socket.if_nametoindex(interface)
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", port))
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP,
                 socket.inet_pton(socket.AF_INET6, group) + struct.pack("@I", index))
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
    destination = (group, port, 0, index)
s.settimeout(10)
print("ready", flush=True)
while True:
    data, sender = s.recvfrom(65536)
    if data.startswith(prefix):
        print("got", data.decode(), sender[1], flush=True)
        s.sendto(b"python:" + data[len(prefix):], destination)
        break
"#;

/// gyre joins `group` on `interface`, Python joins too; each sends to the
/// group once and hears the other.
fn python_exchange(bind: SocketAddr, group: IpAddr, interface: IpAddr, python_args: [&str; 2]) {
    require_namespace();
    require_program("python3", "python3");
    let reactor = Reactor::new().unwrap();
    let log = new_log();
    let options = UdpOptions::default().reuse_address(true);
    let gyre = reactor
        .listen_udp_with(bind, recorder(&log, |_, _, _| {}), options)
        .unwrap();
    let port = gyre.host().port().unwrap();
    gyre.join_group(group, interface).unwrap();
    gyre.set_multicast_interface(interface).unwrap();
    gyre.set_multicast_ttl(1).unwrap();
    gyre.set_multicast_loopback(true).unwrap();

    let [family, python_interface] = python_args;
    let mut python = ChildGuard::spawn(
        Command::new("python3")
            .args([
                "-c",
                PYTHON_MEMBER,
                family,
                &group.to_string(),
                &port.to_string(),
                python_interface,
            ])
            .arg("gyre:")
            .stdout(Stdio::piped()),
    );
    let lines = python.stdout_lines();
    assert_eq!(lines.next(LIMIT), "ready");
    let destination = Address::udp(SocketAddr::new(group, port));
    gyre.write_to(b"gyre:hello", &destination).unwrap();
    let seen = log.clone();
    stop_when(&reactor, move || {
        payloads(&seen).contains(&b"python:hello".to_vec())
    });
    run_bounded(&reactor, LIMIT);

    assert_eq!(
        lines.next(LIMIT),
        format!("got gyre:hello {port}"),
        "Python heard gyre in the group"
    );
    assert!(python.wait_bounded(LIMIT).success());
    let received = datagrams(&log);
    assert!(
        received.iter().any(|(data, _)| data == b"gyre:hello"),
        "loopback on: gyre hears itself"
    );
    let (_, from) = received.iter().find(|(data, _)| data == b"python:hello").unwrap();
    assert_eq!(from.port(), Some(port), "Python sent from the shared port");
}

fn datagrams(log: &Log) -> Vec<(Vec<u8>, Address)> {
    log.borrow()
        .iter()
        .filter_map(|event| match event {
            Event::Datagram(data, from) => Some((data.clone(), from.clone())),
            _ => None,
        })
        .collect()
}

#[test]
#[ignore = "runs inside the namespace made by multicast_with_python_over_ipv4"]
fn inner_python_over_ipv4() {
    let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    python_exchange(
        "0.0.0.0:0".parse().unwrap(),
        GROUP_V4.into(),
        loopback,
        ["4", "127.0.0.1"],
    );
}

#[test]
#[ignore = "runs inside the namespace made by multicast_with_python_over_ipv6"]
fn inner_python_over_ipv6() {
    let interface: IpAddr = NETNS_IPV6.parse().unwrap();
    python_exchange(
        "[::]:0".parse().unwrap(),
        GROUP_V6.parse().unwrap(),
        interface,
        ["6", "gyre0"],
    );
}

#[test]
#[ignore = "runs inside the namespace made by multicast_membership_loopback_and_ttl"]
fn inner_membership_loopback_and_ttl() {
    require_namespace();
    let reactor = Reactor::new().unwrap();
    // On gyre0, not lo: lo loops every datagram back whatever the option says.
    let veth: IpAddr = NETNS_IPV4.parse().unwrap();
    let options = UdpOptions::default().reuse_address(true);
    let (a_log, b_log) = (new_log(), new_log());
    let a = reactor
        .listen_udp_with(
            "0.0.0.0:0".parse().unwrap(),
            recorder(&a_log, |_, _, _| {}),
            options.clone(),
        )
        .unwrap();
    let shared = a.host().socket_addr().unwrap();
    let b = reactor
        .listen_udp_with(shared, recorder(&b_log, |_, _, _| {}), options)
        .unwrap();
    a.join_group(GROUP_V4.into(), veth).unwrap();
    b.join_group(GROUP_V4.into(), veth).unwrap();
    let sender = reactor
        .listen_udp(SocketAddr::new(veth, 0), recorder(&new_log(), |_, _, _| {}))
        .unwrap();
    sender.set_multicast_interface(veth).unwrap();
    sender.set_multicast_ttl(4).unwrap();
    let group = Address::udp(SocketAddr::new(GROUP_V4.into(), shared.port()));

    // Looped-back datagrams are queued in order: once A has "four", B would
    // have had "two" and A "three" if they were coming.
    sender.write_to(b"one", &group).unwrap();
    b.leave_group(GROUP_V4.into(), veth).unwrap();
    sender.write_to(b"two", &group).unwrap();
    sender.set_multicast_loopback(false).unwrap();
    sender.write_to(b"three", &group).unwrap();
    sender.set_multicast_loopback(true).unwrap();
    sender.write_to(b"four", &group).unwrap();
    let seen = a_log.clone();
    stop_when(&reactor, move || payloads(&seen).contains(&b"four".to_vec()));
    run_bounded(&reactor, LIMIT);
    assert_eq!(
        payloads(&a_log),
        [b"one".to_vec(), b"two".to_vec(), b"four".to_vec()]
    );
    assert_eq!(payloads(&b_log), [b"one".to_vec()], "B left the group after one");

    // IPv6 membership on the veth interface, found by its address.
    let v6 = reactor
        .listen_udp("[::]:0".parse().unwrap(), recorder(&new_log(), |_, _, _| {}))
        .unwrap();
    let interface: IpAddr = NETNS_IPV6.parse().unwrap();
    v6.join_group(GROUP_V6.parse().unwrap(), interface).unwrap();
    v6.set_multicast_interface(interface).unwrap();
    v6.set_multicast_ttl(2).unwrap();
    v6.set_multicast_loopback(false).unwrap();
    v6.leave_group(GROUP_V6.parse().unwrap(), interface).unwrap();
    let not_joined = v6.leave_group(GROUP_V6.parse().unwrap(), interface).unwrap_err();
    assert!(
        not_joined.downcast_ref::<io::Error>().is_some(),
        "leaving a group not joined fails: {not_joined:?}"
    );
}

#[test]
#[ignore = "runs inside the namespace made by multicast_chat_example_with_python"]
fn inner_chat_example_with_python() {
    require_namespace();
    require_program("python3", "python3");
    let exe = std::env::current_exe().unwrap();
    let chat = exe
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join("examples/multicast_chat");
    assert!(
        chat.exists(),
        "{} is missing: the outer test builds it",
        chat.display()
    );
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let group = format!("{GROUP_V4}:{port}");
    let start_chat = |name: &str| {
        let mut chat = ChildGuard::spawn(
            Command::new(&chat)
                .args(["--group", &group, "--interface", "127.0.0.1", "--name", name])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped()),
        );
        let lines = chat.stdout_lines();
        assert_eq!(
            lines.next(LIMIT),
            format!("joined {group} on 127.0.0.1 as {name}")
        );
        (chat, lines)
    };
    let (mut alice, alice_out) = start_chat("alice");
    let (mut bob, bob_out) = start_chat("bob");
    let mut python = ChildGuard::spawn(
        Command::new("python3")
            .args([
                "-c",
                PYTHON_MEMBER,
                "4",
                &GROUP_V4.to_string(),
                &port.to_string(),
                "127.0.0.1",
                "alice:",
            ])
            .stdout(Stdio::piped()),
    );
    let python_out = python.stdout_lines();
    assert_eq!(python_out.next(LIMIT), "ready");
    {
        use std::io::Write;
        alice
            .0
            .stdin
            .as_mut()
            .unwrap()
            .write_all(b"hello group\n")
            .unwrap();
    }
    assert_eq!(
        python_out.next(LIMIT),
        format!("got alice: hello group {port}"),
        "Python heard alice"
    );
    assert!(python.wait_bounded(LIMIT).success());
    assert_eq!(bob_out.next(LIMIT), "alice: hello group", "bob hears alice");
    assert_eq!(bob_out.next(LIMIT), "python: hello group", "bob hears Python");
    assert_eq!(
        alice_out.next(LIMIT),
        "python: hello group",
        "alice hears Python, not herself"
    );
    drop(alice.0.stdin.take());
    drop(bob.0.stdin.take());
    assert!(
        alice.wait_bounded(LIMIT).success(),
        "end of input leaves the group and exits"
    );
    assert!(bob.wait_bounded(LIMIT).success());
}

#[test]
fn group_and_interface_families_must_match() {
    let reactor = Reactor::new().unwrap();
    let port = reactor
        .listen_udp("127.0.0.1:0".parse().unwrap(), recorder(&new_log(), |_, _, _| {}))
        .unwrap();
    let wrong = port
        .join_group(GROUP_V4.into(), IpAddr::V6(Ipv6Addr::LOCALHOST))
        .unwrap_err();
    let error = wrong.downcast_ref::<io::Error>().expect("an io::Error");
    assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    let unicast = port
        .join_group(IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V4(Ipv4Addr::UNSPECIFIED))
        .unwrap_err();
    assert!(
        unicast.downcast_ref::<io::Error>().is_some(),
        "joining a unicast address fails: {unicast:?}"
    );
    let v6 = reactor
        .listen_udp("[::1]:0".parse().unwrap(), recorder(&new_log(), |_, _, _| {}))
        .unwrap();
    let unknown = v6
        .set_multicast_interface("2001:db8::77".parse().unwrap())
        .unwrap_err();
    let error = unknown.downcast_ref::<io::Error>().expect("an io::Error");
    assert_eq!(
        error.kind(),
        io::ErrorKind::InvalidInput,
        "no interface has that address"
    );
    v6.set_multicast_interface(IpAddr::V6(Ipv6Addr::LOCALHOST))
        .unwrap();
}
