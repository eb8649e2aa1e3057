//! (inetd: being written)
