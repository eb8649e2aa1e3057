//! Errors particular to endpoints (parse errors are in `error.rs`).

gyre_core::simple_error!(
    /// The factory built no protocol for a connection an endpoint made,
    /// so there is nothing to hand back.
    NoProtocol,
    "the factory built no protocol for the connection"
);
gyre_core::simple_error!(
    /// A host name resolved to no address at all.
    NoAddresses,
    "the host name resolved to no addresses"
);
gyre_core::simple_error!(
    /// A `ClientService` was stopped while a caller waited for a connection.
    ServiceStopped,
    "the client service was stopped"
);
gyre_core::simple_error!(
    /// A reconnecting factory gave up after its maximum number of retries.
    RetriesExhausted,
    "gave up reconnecting after the maximum number of retries"
);
