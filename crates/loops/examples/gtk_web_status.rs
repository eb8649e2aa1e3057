//! A GTK 4 window over an HTTP server served in-process by gyre, on GTK's
//! own main loop: no extra thread, no polling.
//!
//! ```text
//! cargo run -p gyre-loops --features gtk --example gtk_web_status [127.0.0.1:8080]
//! curl http://127.0.0.1:8080/          # the label shows "Requests served: 1"
//! ```
//!
//! The window has a label with the number of requests served, updated live
//! from the HTTP handler (a reactor callback on GTK's thread sets its
//! text), a status line, and a button that stops and starts listening (a
//! GTK callback calling into the reactor between turns). Closing the window
//! quits GTK's loop first, and the reactor then stops cleanly;
//! `GET /quit` calls `reactor.stop()`, and the window closes once the
//! reactor's shutdown is done.
//!
//! For the test under Xvfb it also prints what it shows: `listening on
//! http://ADDRESS/`, `not listening`, `count N` each time the label
//! changes, `window mapped`; and SIGUSR1 clicks the button.

mod status_server;

use gtk4 as gtk;
use gtk4::glib::{ControlFlow, MainContext, MainLoop, Propagation};
use gtk4::prelude::*;
use rustix::process::Signal;
use status_server::StatusServer;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let address = status_server::address_from_args()?;
    gtk::init()?;
    let reactor = gyre_reactor::Reactor::new()?;

    let count = gtk::Label::new(Some("Requests served: 0"));
    count.add_css_class("title-1");
    let status = gtk::Label::new(None);
    let button = gtk::Button::with_label("Stop listening");

    let shown = count.clone();
    let server = StatusServer::new(&reactor, address, move |n| {
        // The HTTP handler runs inside the reactor's turn, on GTK's thread:
        // it updates the widget directly.
        shown.set_text(&format!("Requests served: {n}"));
        println!("count {n}");
    });
    let show_listening = {
        let (status, button) = (status.clone(), button.clone());
        move |result: Result<std::net::SocketAddr, String>| match result {
            Ok(bound) => {
                status.set_text(&format!("Listening on http://{bound}/"));
                button.set_label("Stop listening");
                println!("listening on http://{bound}/");
            }
            Err(error) => {
                status.set_text(&format!("Not listening: {error}"));
                button.set_label("Start listening");
                println!("not listening");
            }
        }
    };
    show_listening(server.start().map_err(|failure| failure.to_string()));

    let toggled = server.clone();
    button.connect_clicked(move |_| {
        if toggled.is_listening() {
            drop(toggled.stop());
            show_listening(Err("stopped".to_owned()));
        } else {
            show_listening(toggled.start().map_err(|failure| failure.to_string()));
        }
    });

    let column = gtk::Box::new(gtk::Orientation::Vertical, 12);
    column.set_margin_top(24);
    column.set_margin_bottom(24);
    column.set_margin_start(24);
    column.set_margin_end(24);
    column.append(&count);
    column.append(&status);
    column.append(&button);
    let window = gtk::Window::builder()
        .title("gyre web status")
        .default_width(420)
        .default_height(200)
        .child(&column)
        .build();

    let main_loop = MainLoop::new(None, false);
    let attached = gyre_loops::glib::attach(&reactor, &MainContext::default())?;
    // reactor.stop() (GET /quit) → its shutdown → GTK's loop quits.
    let quit = main_loop.clone();
    attached.on_stopped(move || quit.quit());
    // Closing the window quits GTK's loop; dropping `attached` below then
    // stops the reactor cleanly.
    let quit = main_loop.clone();
    window.connect_close_request(move |_| {
        quit.quit();
        Propagation::Proceed
    });
    window.connect_map(|_| println!("window mapped"));
    let clicker = button.clone();
    glib_unix::unix_signal_add_local(Signal::USR1.as_raw(), move || {
        clicker.emit_clicked();
        ControlFlow::Continue
    });
    window.present();

    main_loop.run();
    attached.detach()?;
    window.destroy();
    println!("stopped after {} requests", server.served());
    reactor.close();
    Ok(())
}
