//! What the subcommands share on the command line: `--name=value` and
//! `--name value` options, and the exit statuses (0 done or `--help`, 2 a
//! usage error, 1 a failure while running).

use std::process::ExitCode;

/// The arguments of a subcommand, one option at a time.
pub(crate) struct Args<'a> {
    rest: std::slice::Iter<'a, String>,
}

/// One argument: its option name (`--listen` of `--listen=x`) and the
/// value written inline with `=`, if any.
pub(crate) struct Arg<'a> {
    /// The whole argument, as given.
    pub arg: &'a String,
    /// The option name, or the whole argument when it has no `=`.
    pub name: &'a str,
    inline: Option<&'a str>,
}

impl<'a> Args<'a> {
    pub(crate) fn new(args: &'a [String]) -> Args<'a> {
        Args { rest: args.iter() }
    }

    /// The next argument.
    pub(crate) fn next(&mut self) -> Option<Arg<'a>> {
        let arg = self.rest.next()?;
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name, Some(value)),
            _ => (arg.as_str(), None),
        };
        Some(Arg { arg, name, inline })
    }

    /// How many arguments are left.
    pub(crate) fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// The value of `option`: written inline, or the next argument.
    pub(crate) fn value(&mut self, option: &Arg<'_>) -> Result<String, String> {
        option
            .inline
            .or_else(|| self.rest.next().map(String::as_str))
            .map(str::to_owned)
            .ok_or(format!("{} needs a value", option.name))
    }
}

/// Turns what `parse` made of the arguments into an exit status: `help`
/// for `Ok(None)` (`--help`), a usage error (2) for `Err`, else what
/// `run` returns (an error is printed, 1). `label` (`gyre fetch`)
/// prefixes the messages.
pub(crate) fn run_subcommand<O>(
    label: &str,
    help: &str,
    parsed: Result<Option<O>, String>,
    run: impl FnOnce(&O) -> Result<(), String>,
) -> ExitCode {
    let options = match parsed {
        Ok(Some(options)) => options,
        Ok(None) => {
            print!("{help}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("{label}: {message}; see {label} --help");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{label}: {message}");
            ExitCode::FAILURE
        }
    }
}
