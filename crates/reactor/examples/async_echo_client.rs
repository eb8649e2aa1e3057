//! An echo client written entirely with `async`/`await`: it connects, sends
//! lines, waits for each echo and prints it.
//!
//! ```text
//! cargo run -p gyre-reactor --example echo_server -- --listen 127.0.0.1:8000 &
//! cargo run -p gyre-reactor --example async_echo_client -- --connect 127.0.0.1:8000 --message hello
//! printf 'one\ntwo\n' | cargo run -p gyre-reactor --example async_echo_client -- --connect localhost:8000
//! ```
//!
//! Arguments:
//! - `--connect HOST:PORT` (required): the echo server. A host name is
//!   resolved on the reactor's thread pool (the system resolver blocks),
//!   and each of its addresses is tried in turn until one connects.
//! - `--message TEXT` (repeatable): the lines to send. Without it, the lines
//!   of standard input are sent, read on the thread pool as well.
//! - `--timeout SECS` (default 10): how long to wait for each echo.
//!
//! Each echoed line is printed to standard output as it comes back; the exit
//! status is 0 when every line came back unchanged, 1 otherwise (refused
//! connection, timeout, a different reply), with the reason on standard
//! error. The whole client is `session` below: one `async` function, run
//! by the reactor with `block_on`.

use std::io::BufRead;
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

use gyre_core::Failure;
use gyre_reactor::Reactor;
use gyre_reactor::async_io::{self, AsyncStream};

mod support;

struct Options {
    connect: String,
    messages: Vec<String>,
    timeout: Duration,
}

/// Where the lines come from.
enum Lines {
    Given(std::vec::IntoIter<String>),
    Stdin,
}

impl Lines {
    /// The next line, `None` at the end. Standard input is read on a pool
    /// thread, since reading it blocks.
    async fn next(&mut self, reactor: &Reactor) -> Result<Option<String>, Failure> {
        match self {
            Lines::Given(lines) => Ok(lines.next()),
            Lines::Stdin => {
                reactor
                    .defer_to_thread(|| {
                        let mut line = String::new();
                        let read = std::io::stdin().lock().read_line(&mut line)?;
                        Ok::<_, std::io::Error>(
                            (read > 0).then(|| line.trim_end_matches(['\r', '\n']).to_owned()),
                        )
                    })
                    .await
            }
        }
    }
}

async fn session(reactor: Reactor, options: Options) -> Result<usize, Failure> {
    let target = options.connect.clone();
    let addresses: Vec<SocketAddr> = reactor
        .defer_to_thread(move || {
            let addresses: Vec<SocketAddr> = target.to_socket_addrs()?.collect();
            if addresses.is_empty() {
                return Err(std::io::Error::other(format!("{target}: no address")));
            }
            Ok(addresses)
        })
        .await?;
    // A name such as `localhost` often has several addresses (::1 and
    // 127.0.0.1) and the server may listen on only one: try each in turn.
    // (gyre-endpoints' HostnameEndpoint does this concurrently, with happy
    // eyeballs.)
    let mut last_failure = None;
    let mut connected = None;
    for address in addresses {
        let attempt = async_io::timeout(
            &reactor,
            options.timeout,
            async_io::connect_tcp(&reactor, address),
        );
        match attempt.await {
            Ok(stream) => {
                connected = Some(stream);
                break;
            }
            Err(failure) => last_failure = Some(failure.context(format!("connecting to {address}"))),
        }
    }
    let stream: AsyncStream = match connected {
        Some(stream) => stream,
        None => return Err(last_failure.expect("at least one address was tried")),
    };
    let mut lines = match options.messages.is_empty() {
        true => Lines::Stdin,
        false => Lines::Given(options.messages.into_iter()),
    };
    let mut echoed = 0;
    while let Some(line) = lines.next(&reactor).await? {
        stream.write(format!("{line}\n").as_bytes()).await?;
        let reply = async_io::timeout(&reactor, options.timeout, stream.read_line()).await?;
        let reply = reply.ok_or_else(|| Failure::msg("the server closed the connection"))?;
        if reply != line.as_bytes() {
            return Err(Failure::msg(format!(
                "sent {line:?}, got back {:?}",
                String::from_utf8_lossy(&reply)
            )));
        }
        println!("{line}");
        echoed += 1;
    }
    stream.close().await?;
    Ok(echoed)
}

fn parse_args() -> Result<Options, String> {
    let mut connect = None;
    let mut messages = Vec::new();
    let mut timeout = Duration::from_secs(10);
    let mut args = support::Args::new();
    while let Some(flag) = args.next_flag()? {
        match flag.as_str() {
            "--connect" => connect = Some(args.value("--connect")?),
            "--message" => messages.push(args.value("--message")?),
            "--timeout" => timeout = args.seconds("--timeout")?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let connect = connect.ok_or("--connect HOST:PORT is required")?;
    Ok(Options {
        connect,
        messages,
        timeout,
    })
}

fn main() -> ExitCode {
    let options = match support::or_usage(
        "async_echo_client",
        "async_echo_client --connect HOST:PORT [--message TEXT]... [--timeout SECS]",
        parse_args(),
    ) {
        Ok(options) => options,
        Err(code) => return code,
    };
    let reactor = Reactor::new().expect("creating the reactor");
    let result = reactor.block_on(session(reactor.clone(), options));
    reactor.close();
    match result {
        Ok(count) => {
            eprintln!("async_echo_client: {count} lines echoed");
            ExitCode::SUCCESS
        }
        Err(failure) => {
            eprintln!("async_echo_client: {failure:#}");
            ExitCode::FAILURE
        }
    }
}
