//! The options written before the service name (`gyre --workers 4 web`):
//! how the application server runs, whatever the service.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use gyre_app::{AppOptions, LogDestination};
use gyre_reactor::privileges::Identity;

use super::Args;

/// The options section of `gyre --help`.
pub const GLOBAL_HELP: &str = "\
Options (before the service name):
  --log-level LEVEL       error, warn, info (default), debug or trace; or
                          per target: warn,gyre::http=debug
  --log-format FORMAT     text (default) or json (one object per line, with
                          the worker and the connection's service, protocol
                          and peer)
  --log-file PATH|-       append the log to PATH (SIGHUP reopens it, for log
                          rotation) or write it to standard output with -;
                          default: standard error, gyre.log with --daemon
  --pidfile PATH          write the process ID to PATH (locked while running:
                          a second gyre with the same file refuses to start,
                          a stale one is taken over)
  --daemon                detach from the terminal (double fork, new session,
                          standard streams to /dev/null); returns once the
                          server listens, or fails with the reason
  --workers N             N threads, each with its own event loop, listening
                          on the same ports (SO_REUSEPORT); default 1
  --user USER             run as USER once the ports are bound (start as root
                          to bind ports below 1024)
  --group GROUP           run as GROUP (default: USER's primary group)
  --shutdown-timeout S    on SIGTERM/SIGINT, wait up to S seconds (default 10)
                          for work in progress, then abort connections; a
                          second signal aborts at once
  -h, --help              this help
  -V, --version           the version
";

/// Parses the options before the service name; returns them and the
/// index of the first argument that is not one of them.
pub fn parse(args: &[String]) -> Result<(AppOptions, usize), String> {
    let mut options = AppOptions::default();
    let (mut user, mut group, mut log_file) = (None, None, None);
    let mut consumed = 0;
    let mut rest = Args::new(args);
    while let Some(option) = rest.next() {
        if !option.name.starts_with("--") || matches!(option.name, "--help" | "--version") {
            break;
        }
        match option.name {
            "--log-level" => options.log.filter = rest.value(&option)?,
            "--log-format" => options.log.format = rest.value(&option)?.parse()?,
            "--log-file" => log_file = Some(rest.value(&option)?),
            "--pidfile" => options.pidfile = Some(PathBuf::from(rest.value(&option)?)),
            "--daemon" => options.daemon = true,
            "--workers" => {
                let value = rest.value(&option)?;
                options.workers = value
                    .parse::<NonZeroUsize>()
                    .map_err(|_| format!("--workers wants a positive number, not {value:?}"))?;
            }
            "--user" => user = Some(rest.value(&option)?),
            "--group" => group = Some(rest.value(&option)?),
            "--shutdown-timeout" => {
                let value = rest.value(&option)?;
                let seconds: f64 = value
                    .parse()
                    .ok()
                    .filter(|seconds: &f64| seconds.is_finite() && *seconds >= 0.0)
                    .ok_or_else(|| format!("--shutdown-timeout wants seconds, not {value:?}"))?;
                options.shutdown_timeout = Duration::from_secs_f64(seconds);
            }
            _ => return Err(format!("unknown option {:?}", option.arg)),
        }
        consumed = args.len() - rest.remaining();
    }
    options.log.targets()?;
    options.log.destination = match log_file.as_deref() {
        Some("-") => LogDestination::Stdout,
        Some(path) => LogDestination::File(PathBuf::from(path)),
        None if options.daemon => LogDestination::File(PathBuf::from("gyre.log")),
        None => LogDestination::Stderr,
    };
    if user.is_some() || group.is_some() {
        let identity =
            Identity::resolve(user.as_deref(), group.as_deref()).map_err(|error| error.to_string())?;
        options.identity = Some(identity);
    }
    Ok((options, consumed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|arg| arg.to_string()).collect()
    }

    #[test]
    fn options_before_the_service_name() {
        let (options, at) = parse(&args(&[
            "--workers=3",
            "--log-format",
            "json",
            "--log-level",
            "warn,gyre::http=debug",
            "--pidfile",
            "g.pid",
            "--shutdown-timeout",
            "2.5",
            "web",
            "--listen",
            "tcp:0",
        ]))
        .unwrap();
        assert_eq!(at, 9, "the service name's index");
        assert_eq!(options.workers.get(), 3);
        assert_eq!(options.log.format, gyre_app::LogFormat::Json);
        assert_eq!(options.log.filter, "warn,gyre::http=debug");
        assert_eq!(options.pidfile, Some(PathBuf::from("g.pid")));
        assert_eq!(options.shutdown_timeout, Duration::from_millis(2500));
        assert_eq!(options.log.destination, LogDestination::Stderr);
        assert!(!options.daemon && options.identity.is_none());
    }

    #[test]
    fn daemons_log_to_a_file_by_default_and_mistakes_are_named() {
        let (options, at) = parse(&args(&["--daemon", "echo"])).unwrap();
        assert_eq!(
            (at, options.log.destination),
            (1, LogDestination::File("gyre.log".into()))
        );
        let (options, _) = parse(&args(&["--log-file", "-", "echo"])).unwrap();
        assert_eq!(options.log.destination, LogDestination::Stdout);
        assert_eq!(parse(&args(&["web"])).unwrap().1, 0);
        assert_eq!(parse(&args(&["--help"])).unwrap().1, 0);
        assert!(
            parse(&args(&["--workers", "0", "web"]))
                .unwrap_err()
                .contains("positive")
        );
        assert!(
            parse(&args(&["--log-format", "xml"]))
                .unwrap_err()
                .contains("text or json")
        );
        assert!(
            parse(&args(&["--log-level", "loud"]))
                .unwrap_err()
                .contains("log level")
        );
        assert!(
            parse(&args(&["--frobnicate", "web"]))
                .unwrap_err()
                .contains("--frobnicate")
        );
        assert!(
            parse(&args(&["--user", "no-such-user-gyre", "web"]))
                .unwrap_err()
                .contains("no-such-user-gyre")
        );
        assert!(parse(&args(&["--shutdown-timeout", "-1", "web"])).is_err());
    }
}
