//! (policies: being written)
