//! Shared helpers of the `gyre` command-line tests.
#![allow(dead_code)]

/// The digits after `marker` in `line` (a port in a ready line).
#[track_caller]
pub fn port_after(line: &str, marker: &str) -> u16 {
    let at = line
        .find(marker)
        .unwrap_or_else(|| panic!("{marker:?} in {line:?}"))
        + marker.len();
    let digits: String = line[at..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap_or_else(|_| panic!("a port in {line:?}"))
}
