//! Platform code that needs `unsafe`: each function here wraps one system
//! interface that neither std nor rustix offers safely, with a `// SAFETY:`
//! comment on every unsafe block. Everything else in the crate is safe code.

pub(crate) mod child_setup;
pub(crate) mod fork;
pub(crate) mod inherited;
pub(crate) mod signal;
pub(crate) mod users;
