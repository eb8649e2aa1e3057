//! (portforward: being written)
