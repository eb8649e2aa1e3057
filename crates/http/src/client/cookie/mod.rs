//! Cookies: a `Set-Cookie` parser ([`SetCookie::parse`], RFC 6265 section
//! 5.2), an in-memory [`CookieJar`] (section 5.3, without the public
//! suffix list), and [`CookieAgent`], which stores the cookies of every
//! response and sends the matching ones with every request.
//!
//! The jar is sans-IO: every call takes the current time, so it is tested
//! without a clock. Rules kept: host-only cookies unless `Domain` is set;
//! a `Domain` must be the host or a parent of it, and not a single label
//! (`com`) — a basic stand-in for the public suffix list; no `Domain` on
//! IP literals; `Secure` cookies are only set and sent over https;
//! `Max-Age` wins over `Expires`, and a past expiry deletes.

mod jar;
mod parse;

pub use jar::{Cookie, CookieAgent, CookieJar, MAX_COOKIES};
pub use parse::{MAX_SET_COOKIE, SetCookie, parse_cookie_date};
