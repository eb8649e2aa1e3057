//! The command-line plumbing the examples share, kept out of their way so
//! each example shows only its protocol: reading `--flag value` arguments,
//! printing the usage, the `listening on ADDR` line, and the exit status.
//!
//! Each example includes it with `mod support;`; cargo does not build this
//! folder as an example of its own.

// Every example uses only some of these.
#![allow(dead_code)]

use std::fmt::Display;
use std::process::ExitCode;
use std::str::FromStr;
use std::time::Duration;

use gyre_core::Failure;
use gyre_core::connector::ListeningPort;

/// The program's arguments, read one flag at a time.
pub struct Args(std::iter::Skip<std::env::Args>);

impl Args {
    /// The arguments after the program name.
    pub fn new() -> Self {
        Args(std::env::args().skip(1))
    }

    /// The next flag; `-h` and `--help` end parsing with an empty message,
    /// which prints only the usage.
    pub fn next_flag(&mut self) -> Result<Option<String>, String> {
        match self.0.next() {
            Some(flag) if flag == "-h" || flag == "--help" => Err(String::new()),
            other => Ok(other),
        }
    }

    /// The value that follows `flag`.
    pub fn value(&mut self, flag: &str) -> Result<String, String> {
        self.0.next().ok_or_else(|| format!("{flag} needs a value"))
    }

    /// The value that follows `flag`, parsed.
    pub fn parsed<T: FromStr>(&mut self, flag: &str) -> Result<T, String>
    where
        T::Err: Display,
    {
        self.value(flag)?.parse().map_err(|e| format!("{flag}: {e}"))
    }

    /// The value that follows `flag`, a number of seconds (fractions allowed).
    pub fn seconds(&mut self, flag: &str) -> Result<Duration, String> {
        let seconds: f64 = self.parsed(flag)?;
        Duration::try_from_secs_f64(seconds).map_err(|e| format!("{flag}: {e}"))
    }
}

/// The parsed options, or (after printing the message, when there is one,
/// and `usage`) the exit status 2 for a bad command line.
pub fn or_usage<T>(program: &str, usage: &str, parsed: Result<T, String>) -> Result<T, ExitCode> {
    parsed.map_err(|message| {
        if !message.is_empty() {
            eprintln!("{program}: {message}");
        }
        eprintln!("usage: {usage}");
        ExitCode::from(2)
    })
}

/// Prints `listening on ADDR` (with the port actually bound) for a TCP
/// port, or the failure to listen.
pub fn announce_tcp(
    program: &str,
    listening: Result<ListeningPort, Failure>,
) -> Result<ListeningPort, ExitCode> {
    match listening {
        Ok(port) => {
            println!(
                "listening on {}",
                port.host().socket_addr().expect("a TCP port has an IP address")
            );
            Ok(port)
        }
        Err(failure) => {
            eprintln!("{program}: {failure}");
            Err(ExitCode::FAILURE)
        }
    }
}

/// Success, or the error printed and a failure status.
pub fn exit_code(program: &str, result: Result<(), impl Display>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{program}: {error}");
            ExitCode::FAILURE
        }
    }
}
