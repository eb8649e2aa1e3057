//! Twisted's AMP calculator (`ampserver.py` / `ampclient.py`) in gyre: a
//! server answering `Sum` and `Divide` (which declares `ZERO_DIVISION`),
//! and a client calling it. Either side interoperates with Python Twisted's
//! `amp.AMP` using the same command declarations.
//!
//! ```text
//! cargo run -p gyre-protocols --example amp_calculator -- --listen tcp:1234:interface=127.0.0.1
//! cargo run -p gyre-protocols --example amp_calculator -- --connect tcp:host=127.0.0.1:port=1234 \
//!     sum 13 81 divide 1 8 divide 1 0
//! ```
//!
//! The server prints `listening on ADDRESS` once ready; Ctrl-C stops it.
//! The client prints one line per operation (`sum 13 81 = 94`,
//! `divide 1 0 failed: ZERO_DIVISION: division by zero`) and exits.

use gyre_core::{Address, Failure, SharedFactory};
use gyre_endpoints::EndpointRegistry;
use gyre_endpoints::listen_and_run;
use gyre_protocols::amp::{
    AmpFactory, AmpProtocol, Command, CommandError, NoErrors, Responders, connect_amp,
};
use gyre_reactor::Reactor;

gyre_protocols::amp_fields! {
    /// Sum's arguments.
    struct Pair { a: i64, b: i64 }
}

gyre_protocols::amp_fields! {
    /// Sum's response.
    struct Total { total: i64 }
}

gyre_protocols::amp_fields! {
    /// Divide's arguments.
    struct Fraction { numerator: i64, denominator: i64 }
}

gyre_protocols::amp_fields! {
    /// Divide's response.
    struct Quotient { result: f64 }
}

gyre_protocols::amp_errors! {
    /// What Divide may answer instead of a quotient.
    enum DivideError {
        /// Python's ZeroDivisionError, declared as `ZERO_DIVISION`.
        ZeroDivision = "ZERO_DIVISION",
    }
}

/// Adds two integers.
struct Sum;
impl Command for Sum {
    const NAME: &'static str = "Sum";
    type Arguments = Pair;
    type Response = Total;
    type Error = NoErrors;
}

/// Divides two integers.
struct Divide;
impl Command for Divide {
    const NAME: &'static str = "Divide";
    type Arguments = Fraction;
    type Response = Quotient;
    type Error = DivideError;
}

fn responders() -> Responders {
    let mut responders = Responders::new();
    responders
        .add(Sum, |pair| {
            let total = pair
                .a
                .checked_add(pair.b)
                .ok_or_else(|| Failure::msg("integer overflow"))?;
            println!("did a sum: {} + {} = {total}", pair.a, pair.b);
            Ok(Total { total })
        })
        .add(Divide, |fraction| {
            if fraction.denominator == 0 {
                return Err(DivideError::ZeroDivision("division by zero".into()).into());
            }
            let result = fraction.numerator as f64 / fraction.denominator as f64;
            println!(
                "divided: {} / {} = {result}",
                fraction.numerator, fraction.denominator
            );
            Ok(Quotient { result })
        });
    responders
}

fn serve(reactor: &Reactor, description: &str) -> Result<(), Box<dyn std::error::Error>> {
    let endpoint = EndpointRegistry::default()
        .server_from_string(reactor, description)
        .map_err(|error| error.to_string())?;
    // The bare socket address (`127.0.0.1:PORT`), which Python peers parse.
    let announce = |host: &Address| match host.socket_addr() {
        Some(address) => println!("listening on {address}"),
        None => println!("listening on {host}"),
    };
    let factory = SharedFactory::new(AmpFactory::new(responders()));
    listen_and_run(reactor, &*endpoint, factory, announce).map_err(|f| f.to_string())?;
    Ok(())
}

/// One operation from the command line.
enum Operation {
    Sum(i64, i64),
    Divide(i64, i64),
}

fn operations(words: &[String]) -> Result<Vec<Operation>, String> {
    let number = |word: &String| word.parse::<i64>().map_err(|_| format!("not an integer: {word}"));
    let mut operations = Vec::new();
    let mut words = words.iter();
    while let Some(name) = words.next() {
        let (Some(x), Some(y)) = (words.next(), words.next()) else {
            return Err(format!("{name} needs two numbers"));
        };
        operations.push(match name.as_str() {
            "sum" => Operation::Sum(number(x)?, number(y)?),
            "divide" => Operation::Divide(number(x)?, number(y)?),
            other => return Err(format!("unknown operation {other} (sum or divide)")),
        });
    }
    Ok(operations)
}

fn describe(failure: &Failure) -> String {
    match failure.downcast_ref::<DivideError>() {
        Some(error) => format!("{}: {error}", error.code()),
        None => failure.to_string(),
    }
}

fn call(
    reactor: &Reactor,
    description: &str,
    operations: Vec<Operation>,
) -> Result<(), Box<dyn std::error::Error>> {
    let endpoint = EndpointRegistry::default()
        .client_from_string(reactor, description)
        .map_err(|error| error.to_string())?;
    let connecting = connect_amp(&*endpoint, AmpProtocol::default());
    reactor
        .block_on(async move {
            let amp = connecting.await?;
            for operation in operations {
                match operation {
                    Operation::Sum(a, b) => match amp.call_remote::<Sum>(Pair { a, b }).await {
                        Ok(total) => println!("sum {a} {b} = {}", total.total),
                        Err(failure) => println!("sum {a} {b} failed: {}", describe(&failure)),
                    },
                    Operation::Divide(numerator, denominator) => {
                        match amp
                            .call_remote::<Divide>(Fraction {
                                numerator,
                                denominator,
                            })
                            .await
                        {
                            Ok(quotient) => {
                                println!("divide {numerator} {denominator} = {}", quotient.result)
                            }
                            Err(failure) => {
                                println!("divide {numerator} {denominator} failed: {}", describe(&failure))
                            }
                        }
                    }
                }
            }
            amp.lose_connection();
            Ok(())
        })
        .map_err(|failure| failure.to_string().into())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: amp_calculator --listen <server endpoint> | \
                 --connect <client endpoint> [sum A B | divide N D]...";
    let reactor = Reactor::new()?;
    match args.split_first() {
        Some((flag, rest)) if flag == "--listen" && rest.len() == 1 => serve(&reactor, &rest[0]),
        Some((flag, rest)) if flag == "--connect" && !rest.is_empty() => {
            let operations = operations(&rest[1..])?;
            call(&reactor, &rest[0], operations)
        }
        _ => Err(usage.into()),
    }
}
