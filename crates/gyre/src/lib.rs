//! # gyre
//!
//! The facade of the gyre networking engine (re-exporting its crates
//! under short names) and the library behind the `gyre` command-line tool.
//!
//! ```text
//! gyre [--workers N] [--daemon] [--log-format json] ... web [--path DIR] [--listen ENDPOINT ...]
//! ```
//!
//! Each service lives in its own file under [`cli`] and is one
//! [`ServicePlugin`](gyre_app::ServicePlugin) of [`cli::plugins`], run by
//! the application server of [`gyre_app`] (workers, daemon, logging,
//! graceful stop); client commands such as `fetch` are entries of
//! [`cli::COMMANDS`]. Argument parsing is plain `std`, pure, and tested
//! without starting anything:
//!
//! ```
//! let options = gyre::cli::web::parse(&["--path", "site", "--mime", "wasm=application/wasm"]).unwrap();
//! assert_eq!(options.path, std::path::PathBuf::from("site"));
//! assert_eq!(options.listen, ["tcp:8080"]);
//! ```

pub mod cli;

pub use gyre_app as app;
pub use gyre_core as core;
pub use gyre_endpoints as endpoints;
pub use gyre_http as http;
pub use gyre_reactor as reactor;
