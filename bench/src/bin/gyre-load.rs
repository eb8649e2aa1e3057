//! `gyre-load`: the load generator of `bench/run.sh` (see
//! `gyre_bench::load`). Prints `key value` lines.
//!
//! ```text
//! gyre-load echo  --addr A [--connections N] [--size B] [--warmup-ms W] [--duration-ms D] [--count N] [--pid P]
//! gyre-load bulk  --addr A --bytes N [--pid P]
//! gyre-load idle  --addr A --connections N --pid P
//! gyre-load http  --addr A [--path /] [--connections N] --count N [--close] [--pid P]
//! gyre-load tls-handshake --addr A --ca CA.pem [--name localhost] [--threads T] [--duration-ms D] [--pid P]
//! gyre-load tls-bulk      --addr A --ca CA.pem [--name localhost] --bytes N [--pid P]
//! ```

use std::collections::HashMap;
use std::process::ExitCode;
use std::str::FromStr;
use std::time::Duration;

use gyre_bench::load::{self, HttpLoad, PingPong, TlsClient};

type Error = Box<dyn std::error::Error>;

struct Flags(HashMap<String, String>);

impl Flags {
    fn parse(args: impl Iterator<Item = String>) -> Result<Self, Error> {
        let mut map = HashMap::new();
        let mut args = args.peekable();
        while let Some(flag) = args.next() {
            let name = flag
                .strip_prefix("--")
                .ok_or_else(|| format!("unexpected argument {flag}"))?;
            let value = match args.peek() {
                Some(next) if !next.starts_with("--") => args.next().unwrap_or_default(),
                _ => "true".to_owned(),
            };
            map.insert(name.to_owned(), value);
        }
        Ok(Flags(map))
    }

    fn get<T: FromStr>(&self, name: &str, default: Option<T>) -> Result<T, Error> {
        match self.0.get(name) {
            Some(text) => text.parse().map_err(|_| format!("bad --{name} {text}").into()),
            None => default.ok_or_else(|| format!("--{name} is required").into()),
        }
    }

    fn opt<T: FromStr>(&self, name: &str) -> Result<Option<T>, Error> {
        self.0.get(name).map(|_| self.get(name, None)).transpose()
    }

    fn ms(&self, name: &str, default: u64) -> Result<Duration, Error> {
        Ok(Duration::from_millis(self.get(name, Some(default))?))
    }

    fn tls(&self) -> Result<TlsClient, Error> {
        let ca: String = self.get("ca", None)?;
        TlsClient::new(&ca, &self.get::<String>("name", Some("localhost".into()))?)
    }
}

fn run() -> Result<load::Report, Error> {
    let mut args = std::env::args().skip(1);
    let workload = args.next().ok_or("usage: gyre-load WORKLOAD --addr ADDR ...")?;
    let flags = Flags::parse(args)?;
    let addr = flags.get("addr", None)?;
    let pid = flags.opt("pid")?;
    Ok(match workload.as_str() {
        "echo" => load::ping_pong(&PingPong {
            addr,
            connections: flags.get("connections", Some(1))?,
            size: flags.get("size", Some(64))?,
            warmup: flags.ms("warmup-ms", 200)?,
            duration: flags.ms("duration-ms", 1000)?,
            count: flags.opt("count")?,
            pid,
        })?,
        "bulk" => load::bulk(addr, flags.get("bytes", None)?, pid)?,
        "idle" => load::idle(addr, flags.get("connections", None)?, flags.get("pid", None)?)?,
        "http" => load::http(&HttpLoad {
            addr,
            path: flags.get("path", Some("/".into()))?,
            connections: flags.get("connections", Some(1))?,
            count: flags.get("count", None)?,
            close: flags.get("close", Some(false))?,
            pid,
        })?,
        "tls-handshake" => load::tls_handshakes(
            &flags.tls()?,
            addr,
            flags.get("threads", Some(2))?,
            flags.ms("duration-ms", 1000)?,
            pid,
        )?,
        "tls-bulk" => load::tls_bulk(&flags.tls()?, addr, flags.get("bytes", None)?, pid)?,
        other => return Err(format!("unknown workload {other}").into()),
    })
}

fn main() -> ExitCode {
    match run() {
        Ok(report) => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("gyre-load: {error}");
            ExitCode::FAILURE
        }
    }
}
