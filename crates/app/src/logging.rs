//! Structured logging for servers: `tracing` events as text or JSON lines,
//! on standard error, standard output or a file that SIGHUP reopens (so
//! `logrotate` can move it away and the server starts a new one).
//!
//! Connection context comes from spans: a [`StreamServerService`] runs
//! each connection's callbacks inside a `connection` span (service,
//! protocol, peer), and the application server runs each worker thread
//! inside a `worker` span, so every event a protocol logs says where it
//! came from without the protocol passing anything around.
//!
//! [`StreamServerService`]: crate::StreamServerService

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

/// Text for people, or JSON lines for log collectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// `2026-11-22T10:00:00.000000Z  INFO worker{index=0}:connection{…}: gyre::app: message key=value`
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, `fields`,
    /// `span` (the innermost) and `spans` (all, outermost first).
    Json,
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err(format!("log format {text:?}: text or json")),
        }
    }
}

/// Where log lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogDestination {
    /// Standard error (the default in the foreground).
    Stderr,
    /// Standard output (`--log-file -`).
    Stdout,
    /// A file, appended to, reopened on SIGHUP.
    File(PathBuf),
}

/// How to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogOptions {
    /// A level (`info`) or per-target levels (`warn,gyre::http=debug`).
    pub filter: String,
    /// Text or JSON.
    pub format: LogFormat,
    /// Where to.
    pub destination: LogDestination,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            filter: "info".to_owned(),
            format: LogFormat::Text,
            destination: LogDestination::Stderr,
        }
    }
}

impl LogOptions {
    /// Checks the filter (so a typo is a usage error, before anything starts).
    ///
    /// # Errors
    /// When the filter does not parse.
    pub fn targets(&self) -> Result<Targets, String> {
        const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];
        let wrong = |why: &str| format!("log level {:?}: {why}", self.filter);
        for directive in self.filter.split(',') {
            // A bare word is a level; `tracing` would take a typo for a target.
            let level = directive.rsplit_once('=').map_or(directive, |(_, level)| level);
            if !LEVELS.contains(&level.trim().to_ascii_lowercase().as_str()) {
                return Err(wrong(&format!("{level:?} is not one of {}", LEVELS.join(", "))));
            }
        }
        Targets::from_str(&self.filter).map_err(|error| wrong(&error.to_string()))
    }
}

/// The installed logger's output, to reopen it (on SIGHUP).
#[derive(Clone, Debug)]
pub struct LogOutput {
    sink: Arc<Mutex<Sink>>,
}

#[derive(Debug)]
enum Sink {
    Stderr,
    Stdout,
    File { path: PathBuf, file: File },
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

impl LogOutput {
    /// Opens a destination (a file is created if missing and appended to).
    /// Besides the logger's own, services use it for logs of their own,
    /// such as an access log, through [`writer`](Self::writer); list those in
    /// [`AppOptions::reopen`](crate::AppOptions::reopen) so SIGHUP reopens
    /// them too.
    ///
    /// # Errors
    /// When the file cannot be opened.
    pub fn open(destination: &LogDestination) -> io::Result<LogOutput> {
        let sink = match destination {
            LogDestination::Stderr => Sink::Stderr,
            LogDestination::Stdout => Sink::Stdout,
            LogDestination::File(path) => Sink::File {
                path: path.clone(),
                file: open_append(path)?,
            },
        };
        Ok(LogOutput {
            sink: Arc::new(Mutex::new(sink)),
        })
    }

    /// Reopens the log file by name (after it was rotated away); nothing
    /// to do for the standard streams. On failure the old file stays in use.
    ///
    /// # Errors
    /// When the file cannot be opened.
    pub fn reopen(&self) -> io::Result<()> {
        let mut sink = self.lock();
        if let Sink::File { path, file } = &mut *sink {
            *file = open_append(path)?;
        }
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, Sink> {
        self.sink.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A writer for one thread (one worker): it keeps what is written until
    /// `flush` (or a newline) and then writes it in one piece, so the lines
    /// of several workers never interleave.
    pub fn writer(&self) -> LogWriter {
        LogWriter {
            output: self.clone(),
            pending: Vec::new(),
        }
    }
}

/// See [`LogOutput::writer`].
#[derive(Debug)]
pub struct LogWriter {
    output: LogOutput,
    pending: Vec<u8>,
}

impl Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(bytes);
        if self.pending.last() == Some(&b'\n') {
            self.flush()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut line = LogLine(self.output.lock());
        let result = line.write_all(&self.pending).and_then(|()| line.flush());
        self.pending.clear();
        result
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

impl std::fmt::Display for LogOutput {
    /// Where it writes: a file name or a standard stream.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &*self.lock() {
            Sink::Stderr => f.write_str("standard error"),
            Sink::Stdout => f.write_str("standard output"),
            Sink::File { path, .. } => write!(f, "{}", path.display()),
        }
    }
}

/// One event's line being written, with the output locked.
pub struct LogLine<'a>(MutexGuard<'a, Sink>);

impl Write for LogLine<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        match &mut *self.0 {
            Sink::Stderr => io::stderr().write(bytes),
            Sink::Stdout => io::stdout().write(bytes),
            Sink::File { file, .. } => file.write(bytes),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut *self.0 {
            Sink::Stderr => io::stderr().flush(),
            Sink::Stdout => io::stdout().flush(),
            Sink::File { file, .. } => file.flush(),
        }
    }
}

impl<'a> MakeWriter<'a> for LogOutput {
    type Writer = LogLine<'a>;
    fn make_writer(&'a self) -> LogLine<'a> {
        LogLine(self.lock())
    }
}

/// Installs the process's logger. Call it once, early (after detaching).
///
/// # Errors
/// When the filter is wrong, the file cannot be opened, or a logger was
/// already installed.
pub fn init(options: &LogOptions) -> Result<LogOutput, String> {
    let targets = options.targets()?;
    let output = LogOutput::open(&options.destination).map_err(|error| match &options.destination {
        LogDestination::File(path) => format!("cannot open the log file {}: {error}", path.display()),
        _ => error.to_string(),
    })?;
    let layer: Box<dyn Layer<Registry> + Send + Sync> = match options.format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(output.clone())
            .with_ansi(false)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .with_writer(output.clone())
            .boxed(),
    };
    tracing_subscriber::registry()
        .with(layer.with_filter(targets))
        .try_init()
        .map_err(|error| format!("installing the logger: {error}"))?;
    Ok(output)
}
