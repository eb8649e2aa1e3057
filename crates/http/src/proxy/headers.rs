//! Header rewriting shared by the reverse and the forward proxy: hop-by-hop
//! removal (RFC 9110 §7.6.1) and the forwarding fields a proxy adds.

use gyre_core::Address;

use crate::{HeaderMap, Version};

/// Fields that describe one connection, never forwarded (besides every
/// `Proxy-*` field and those named by `Connection`).
pub const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Removes the hop-by-hop fields from `headers`: the fixed list
/// [`HOP_BY_HOP`], every field whose name starts with `Proxy-`
/// (`Proxy-Authorization` carries *this* proxy's credentials and must not
/// leak upstream), and every field the `Connection` header names.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let mut doomed: Vec<String> = headers
        .get_all("connection")
        .flat_map(|value| value.split(|byte| *byte == b','))
        .filter_map(|token| std::str::from_utf8(token).ok())
        .map(|token| token.trim().to_ascii_lowercase())
        .filter(|token| !token.is_empty())
        .collect();
    doomed.extend(HOP_BY_HOP.iter().map(|name| (*name).to_owned()));
    doomed.extend(
        headers
            .iter()
            .map(|(name, _)| name.to_ascii_lowercase())
            .filter(|name| name.starts_with("proxy-")),
    );
    for name in doomed {
        headers.remove(name);
    }
}

/// The client address as written in `X-Forwarded-For`: the IP of an IP
/// peer, `unknown` for anything else (a Unix socket).
pub fn client_address(peer: &Address) -> String {
    match peer.socket_addr() {
        Some(addr) => addr.ip().to_string(),
        None => "unknown".to_owned(),
    }
}

/// What a proxy adds to a forwarded request.
#[derive(Debug, Clone)]
pub struct Forwarding<'a> {
    /// The client's address (see [`client_address`]).
    pub client: String,
    /// The scheme the client used to reach the proxy (`http`/`https`).
    pub proto: &'a str,
    /// The `Host` the client sent, if any.
    pub host: Option<String>,
    /// The version of the client's request, for `Via`.
    pub version: Version,
    /// This proxy's name in `Via`.
    pub via_name: &'a str,
}

/// Adds the forwarding fields to `headers` (already stripped):
/// `X-Forwarded-For` gets the client appended to the chain earlier proxies
/// wrote (all earlier fields folded into one, RFC 9110 list syntax),
/// `X-Forwarded-Proto` and `X-Forwarded-Host` are set when absent (an
/// earlier proxy knows better what the original client used), and `Via`
/// gets this hop appended.
pub fn add_forwarding(headers: &mut HeaderMap, forwarding: &Forwarding<'_>) {
    let mut chain: Vec<String> = headers
        .get_all("x-forwarded-for")
        .filter_map(|value| std::str::from_utf8(value).ok())
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
        .collect();
    chain.push(forwarding.client.clone());
    // Values come from parsed fields or an IP address: always valid.
    let _ = headers.insert("X-Forwarded-For", chain.join(", "));
    if !headers.contains("x-forwarded-proto") {
        let _ = headers.insert("X-Forwarded-Proto", forwarding.proto);
    }
    if let Some(host) = &forwarding.host
        && !headers.contains("x-forwarded-host")
    {
        let _ = headers.insert("X-Forwarded-Host", host);
    }
    append_via(headers, forwarding.version, forwarding.via_name);
}

/// Appends this hop to `Via` (`1.1 gyre`), folding earlier fields.
pub fn append_via(headers: &mut HeaderMap, version: Version, name: &str) {
    let protocol = if version == Version::HTTP_10 { "1.0" } else { "1.1" };
    let mut hops: Vec<String> = headers
        .get_all("via")
        .filter_map(|value| std::str::from_utf8(value).ok())
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
        .collect();
    hops.push(format!("{protocol} {name}"));
    let _ = headers.insert("Via", hops.join(", "));
}
