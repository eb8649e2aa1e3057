//! `echo_server` out of file descriptors: connections it cannot accept wait
//! in the listen queue, the server neither crashes nor spins, and it
//! accepts them once descriptors are free again.

mod tcp_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tcp_support::programs::{Server, example, open_fds};

/// CPU time (user + system) of process `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name, which is in parentheses.
    let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn echo(stream: &mut TcpStream, message: &[u8]) {
    stream.write_all(message).unwrap();
    let mut back = vec![0; message.len()];
    stream.read_exact(&mut back).unwrap();
    assert_eq!(back, message);
}

#[test]
fn running_out_of_descriptors_delays_accepting_without_spinning() {
    const LIMIT: usize = 32;
    const CLIENTS: usize = 40;
    let binary = example("echo_server");
    // The shell lowers the limit for the server only, then becomes it.
    let script = format!(
        "ulimit -n {LIMIT} && exec {} --listen 127.0.0.1:0",
        binary.display()
    );
    let server = Server::start_command(Command::new("sh").arg("-c").arg(script));
    let pid = server.pid();
    let fds = open_fds(pid);
    assert!(
        fds + 4 < LIMIT && LIMIT - fds < CLIENTS,
        "the server holds {fds} descriptors"
    );

    // The kernel completes every handshake; the server can take only
    // about `spare` (a descriptor it holds briefly may cost one).
    let mut clients: Vec<TcpStream> = (0..CLIENTS)
        .map(|_| TcpStream::connect(server.address).unwrap())
        .collect();
    for (i, client) in clients.iter_mut().enumerate() {
        client.write_all(format!("ping {i:02}").as_bytes()).unwrap();
    }
    std::thread::sleep(Duration::from_millis(500));
    let mut served = Vec::new();
    for (i, client) in clients.iter_mut().enumerate() {
        client.set_nonblocking(true).unwrap();
        let mut back = [0; 7];
        if let Ok(n) = client.read(&mut back) {
            assert_eq!(&back[..n], format!("ping {i:02}").as_bytes());
            served.push(i);
        }
        client.set_nonblocking(false).unwrap();
    }
    let spare = served.len();
    assert!(
        spare.abs_diff(LIMIT - fds) <= 1,
        "{spare} served with {} descriptors free",
        LIMIT - fds
    );
    assert_eq!(
        served,
        (0..spare).collect::<Vec<_>>(),
        "the first connections are served, in order"
    );

    // While stuck, the server retries now and then instead of spinning.
    let before = cpu_ticks(pid);
    std::thread::sleep(Duration::from_secs(1));
    let spent = cpu_ticks(pid) - before;
    assert!(
        spent < 20,
        "the server used {spent} ticks of CPU in a second while out of descriptors"
    );

    // Freeing descriptors lets the waiting connections in.
    let waiting = clients.split_off(spare);
    drop(clients);
    for (i, mut client) in waiting.into_iter().enumerate() {
        client.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut early = [0; 7];
        client.read_exact(&mut early).unwrap();
        assert_eq!(
            early,
            *format!("ping {:02}", spare + i).as_bytes(),
            "what was sent while it waited"
        );
        echo(&mut client, format!("late {i}").as_bytes());
    }
}

#[test]
fn chat_server_cuts_off_a_client_that_stops_reading() {
    const TOTAL: usize = 12 * 1024 * 1024;
    let server = Server::start(&example("chat_server"), &["--listen", "127.0.0.1:0"]);
    let connect = || {
        let stream = TcpStream::connect(server.address).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        stream.set_write_timeout(Some(Duration::from_secs(20))).unwrap();
        stream
    };
    // A small receive buffer, never read until the end.
    let slow = {
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        socket.connect(&server.address.into()).unwrap();
        TcpStream::from(socket)
    };
    let mut reader = connect();
    let mut sender = connect();
    // Everyone is in the room once the reader hears the others greet.
    let mut slow_writer = slow.try_clone().unwrap();
    slow_writer.write_all(b"slow here\n").unwrap();
    sender.write_all(b"sender here\n").unwrap();
    let mut greeting = [0; 22];
    reader.read_exact(&mut greeting).unwrap();
    // The reading client keeps up: the sender waits for it every 256 KiB,
    // so only the client that does not read falls behind.
    let heard = Arc::new(AtomicUsize::new(0));
    let fast = std::thread::spawn({
        let heard = heard.clone();
        move || {
            let mut buf = vec![0; 65536];
            while heard.load(Ordering::SeqCst) < TOTAL {
                let n = reader.read(&mut buf).unwrap();
                heard.fetch_add(n, Ordering::SeqCst);
            }
            heard.load(Ordering::SeqCst)
        }
    });
    let line = [b'x'; 1023].iter().copied().chain(*b"\n").collect::<Vec<u8>>();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    for sent in 1..=TOTAL / line.len() {
        sender.write_all(&line).unwrap();
        while sent * line.len() > heard.load(Ordering::SeqCst) + 256 * 1024 {
            assert!(std::time::Instant::now() < deadline, "the reading client stalled");
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    assert_eq!(fast.join().unwrap(), TOTAL, "a reading client got everything");
    // The one that did not read was reset once its backlog passed the limit.
    let mut slow = slow;
    slow.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut buf = vec![0; 65536];
    let mut got = 0;
    let end = loop {
        match slow.read(&mut buf) {
            Ok(0) => break None,
            Ok(n) => got += n,
            Err(error) => break Some(error.kind()),
        }
    };
    assert_eq!(
        end,
        Some(std::io::ErrorKind::ConnectionReset),
        "after {got} bytes"
    );
    assert!(got < TOTAL / 2, "it was cut off early, after {got} bytes");
}
