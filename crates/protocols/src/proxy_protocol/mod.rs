//! (proxy_protocol: being written)
