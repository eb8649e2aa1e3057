//! (socks: being written)
