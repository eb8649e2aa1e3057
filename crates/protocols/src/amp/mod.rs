//! (amp: being written)
