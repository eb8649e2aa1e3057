//! gyre's HTTP server inside a plain GLib main loop (no GTK, for headless
//! machines): the same program as `gtk_web_status` without the window.
//!
//! ```text
//! cargo run -p gyre-loops --features glib --example glib_web_status [127.0.0.1:8080]
//! curl http://127.0.0.1:8080/          # requests served: 1
//! kill -USR1 <pid>                     # stop listening; again: listen again
//! curl http://127.0.0.1:8080/quit      # reactor.stop() → the GLib loop quits
//! ```
//!
//! Prints `listening on http://ADDRESS/` when listening, `count N` after
//! each request, `not listening` when the port is closed. SIGINT/SIGTERM
//! quit the GLib loop first (the host → reactor direction): the reactor
//! then stops cleanly before `main` returns.

mod status_server;

use glib::{ControlFlow, MainLoop};
use rustix::process::Signal;
use status_server::StatusServer;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let address = status_server::address_from_args()?;
    let reactor = gyre_reactor::Reactor::new()?;
    let server = StatusServer::new(&reactor, address, |n| println!("count {n}"));
    let bound = server.start().map_err(|failure| failure.to_string())?;
    println!("listening on http://{bound}/");

    let main_loop = MainLoop::new(None, false);
    for signal in [Signal::INT, Signal::TERM] {
        let quit = main_loop.clone();
        glib_unix::unix_signal_add_local(signal.as_raw(), move || {
            quit.quit();
            ControlFlow::Continue
        });
    }
    // SIGUSR1 does what the GTK example's button does: a GLib callback
    // (not a reactor callback) calling into the reactor between turns.
    let toggled = server.clone();
    glib_unix::unix_signal_add_local(Signal::USR1.as_raw(), move || {
        if toggled.is_listening() {
            drop(toggled.stop());
            println!("not listening");
        } else {
            match toggled.start() {
                Ok(bound) => println!("listening on http://{bound}/"),
                Err(failure) => eprintln!("cannot listen: {failure}"),
            }
        }
        ControlFlow::Continue
    });

    gyre_loops::glib::run(&reactor, &main_loop)?;
    println!("stopped after {} requests", server.served());
    reactor.close();
    Ok(())
}
