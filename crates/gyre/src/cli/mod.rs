//! The `gyre` command line: the application server's options, then a
//! service (each in its own file, registered in [`plugins`]) or a client
//! command (`fetch`).

use std::process::ExitCode;

use gyre_app::{Configured, ServicePlugins};
use gyre_protocols::inetd::Service;

pub mod fetch;
pub mod global;
pub mod inetd;
mod options;
pub mod relay;
pub mod serve;
pub mod web;
pub mod web_proxy;

pub(crate) use options::{Args, run_subcommand};

/// A client command: its name, a one-line summary for `gyre --help`, and
/// its entry point (given the arguments after its name).
pub struct Command {
    /// What follows `gyre` on the command line.
    pub name: &'static str,
    /// Shown in `gyre --help`.
    pub summary: &'static str,
    /// Runs it; the exit status of the process.
    pub run: fn(&[String]) -> ExitCode,
}

/// The commands that are not services (they run once, in the foreground).
pub const COMMANDS: &[Command] = &[Command {
    name: "fetch",
    summary: "download a URL (redirects, gzip, cookies, HTTPS, proxies)",
    run: fetch::main,
}];

/// Every service `gyre` offers, registered explicitly. Adding a service is
/// one file and one line here.
pub fn plugins() -> ServicePlugins {
    let mut plugins = ServicePlugins::new();
    let all = [
        web::PLUGIN,
        relay::PORTFORWARD,
        relay::SOCKS,
        inetd::plugin(Service::Echo, "echo", "the echo service (RFC 862)"),
        inetd::plugin(Service::Discard, "discard", "the discard service (RFC 863)"),
        inetd::plugin(
            Service::Chargen,
            "chargen",
            "the character generator service (RFC 864)",
        ),
        inetd::plugin(Service::Qotd, "qotd", "the quote of the day service (RFC 865)"),
        inetd::plugin(Service::Daytime, "daytime", "the daytime service (RFC 867)"),
        inetd::plugin(Service::Time, "time", "the time service (RFC 868)"),
    ];
    for plugin in all {
        plugins
            .register(plugin)
            .unwrap_or_else(|error| panic!("gyre's service table: {error}"));
    }
    plugins
}

/// The text of `gyre --help`.
pub fn help() -> String {
    let mut text = String::from(
        "gyre: an event-driven networking engine, as an application server\n\n\
         Usage: gyre [OPTIONS] <SERVICE> [SERVICE OPTIONS]\n       \
         gyre <SERVICE> --help\n       gyre <COMMAND> [ARGS]\n\nServices:\n",
    );
    for plugin in plugins().iter() {
        text.push_str(&format!("  {:<13}{}\n", plugin.name, plugin.summary));
    }
    text.push_str("\nCommands:\n");
    for command in COMMANDS {
        text.push_str(&format!("  {:<13}{}\n", command.name, command.summary));
    }
    text.push('\n');
    text.push_str(global::GLOBAL_HELP);
    text.push_str(
        "\nA service runs in the foreground until SIGINT or SIGTERM, which stop it\n\
         gracefully; it prints `listening on ADDRESS` on standard output for each\n\
         endpoint once it serves. Exit status: 0 stopped cleanly, 1 failed, 2 usage.\n\n\
         Examples:\n  \
         gyre web                                  serve . on tcp:8080\n  \
         gyre web --path site --listen tcp:0:interface=127.0.0.1\n  \
         gyre --workers 4 --log-format json web --listen tcp:8080\n  \
         gyre --daemon --pidfile gyre.pid --log-file gyre.log echo\n  \
         gyre --user nobody web --listen tcp:80    (started as root)\n  \
         gyre fetch https://example.com/ -o page.html\n",
    );
    text
}

/// Runs the command line (without the program name).
pub fn main(args: &[String]) -> ExitCode {
    let (options, at) = match global::parse(args) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("gyre: {message}; see gyre --help");
            return ExitCode::from(2);
        }
    };
    let rest = &args[at..];
    match rest.first().map(String::as_str) {
        None => {
            eprint!("{}", help());
            ExitCode::from(2)
        }
        Some("-h" | "--help" | "help") => {
            print!("{}", help());
            ExitCode::SUCCESS
        }
        Some("-V" | "--version") => {
            println!("gyre {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some(name) => {
            if let Some(command) = COMMANDS.iter().find(|command| command.name == name) {
                if at > 0 {
                    eprintln!("gyre {name}: the options before it are for services; see gyre --help");
                    return ExitCode::from(2);
                }
                return (command.run)(&rest[1..]);
            }
            let plugins = plugins();
            let Some(plugin) = plugins.find(name) else {
                eprintln!("gyre: unknown service or command {name:?}; see gyre --help");
                return ExitCode::from(2);
            };
            let label = format!("gyre {name}");
            match (plugin.configure)(&rest[1..]) {
                Ok(Configured::Help) => {
                    print!("{}", (plugin.help)());
                    ExitCode::SUCCESS
                }
                Ok(Configured::Run { build, log_files }) => match gyre_app::run(
                    &gyre_app::AppOptions {
                        reopen: log_files,
                        ..options
                    },
                    build,
                ) {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(message) => {
                        eprintln!("{label}: {message}");
                        ExitCode::FAILURE
                    }
                },
                Err(message) => {
                    eprintln!("{label}: {message}; see {label} --help");
                    ExitCode::from(2)
                }
            }
        }
    }
}
