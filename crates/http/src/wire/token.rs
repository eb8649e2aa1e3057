//! Character classes of RFC 9110 §5.6 shared by the parser, the header map
//! and the serializer.

/// The `tchar` class as a table: every header name of every message is
/// checked byte by byte, and one load per byte is cheaper than the chain of
/// comparisons the `matches!` below compiles to.
const TCHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        table[byte] = matches!(byte as u8,
            b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~'
            | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z');
        byte += 1;
    }
    table
};

/// Whether `byte` is a `tchar` (the characters of a token: header names,
/// methods, transfer codings).
pub(crate) fn is_tchar(byte: u8) -> bool {
    TCHAR[usize::from(byte)]
}

/// Whether `bytes` is a non-empty token.
pub(crate) fn is_token(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.iter().all(|&b| is_tchar(b))
}

/// Whether `bytes` may be a field value: visible characters, obs-text,
/// spaces and tabs inside, no leading or trailing whitespace, and no CR,
/// LF, NUL or other control character (RFC 9110 §5.5).
pub(crate) fn is_field_value(bytes: &[u8]) -> bool {
    let inner_ok = bytes.iter().all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f));
    let trimmed = !matches!(bytes.first(), Some(b' ' | b'\t')) && !matches!(bytes.last(), Some(b' ' | b'\t'));
    inner_ok && trimmed
}

/// `bytes` without leading and trailing spaces and tabs (optional whitespace).
pub(crate) fn trim_ows(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |end| end + 1);
    &bytes[start..end]
}

/// The elements of a comma-separated list field value, trimmed, empty
/// elements skipped (RFC 9110 §5.6.1).
pub(crate) fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim_ows)
        .filter(|element| !element.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tchar_table_is_rfc_9110s_class() {
        let listed = b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        for byte in 0..=255u8 {
            assert_eq!(is_tchar(byte), listed.contains(&byte), "byte {byte}");
        }
    }

    #[test]
    fn classes() {
        assert!(is_token(b"Content-Length") && !is_token(b"") && !is_token(b"a b") && !is_token(b"a:"));
        assert!(is_field_value(b"") && is_field_value(b"a b\tc") && is_field_value(b"\xff"));
        assert!(!is_field_value(b" a") && !is_field_value(b"a\r\n b") && !is_field_value(b"a\0"));
        assert_eq!(trim_ows(b" \t x y \t"), b"x y");
        assert_eq!(trim_ows(b"  "), b"");
        let items: Vec<&[u8]> = list_elements(b" a, ,b ,,c").collect();
        assert_eq!(items, [&b"a"[..], b"b", b"c"]);
    }
}
