//! Floats as Twisted's `Float` writes them: Python's `repr`.
//!
//! Python prints the shortest digits that read back as the same double
//! (as Rust does), but chooses between fixed and exponent notation by its
//! own rule: exponent notation when the decimal point would sit more than
//! 16 digits right or more than 4 places left of the first digit
//! (`1e+16`, `1e-05`, but `1000000000000000.0` and `0.0001`), a `.0` on
//! whole numbers, a signed exponent of at least two digits, and `nan`,
//! `inf`, `-inf` for the special values.

use std::fmt::Write;

use super::errors::ValueError;

/// `x` as Python's `repr(x)`.
pub(crate) fn format_float(x: f64) -> String {
    if x.is_nan() {
        return "nan".to_owned();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    // Rust's `{:e}` gives the shortest round-tripping digits: "d.ddde±x".
    let scientific = format!("{x:e}");
    let (mantissa, exponent) = scientific
        .split_once('e')
        .expect("{:e} always writes an exponent");
    let exponent: i32 = exponent.parse().expect("{:e} writes a decimal exponent");
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    // The value is 0.DIGITS × 10^point, as Python's formatter counts it.
    let point = exponent + 1;
    let mut out = String::with_capacity(digits.len() + 8);
    if negative {
        out.push('-');
    }
    if !(-3..=16).contains(&point) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let sign = if exponent < 0 { '-' } else { '+' };
        let _ = write!(out, "e{sign}{:02}", exponent.unsigned_abs());
    } else if point <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', point.unsigned_abs() as usize));
        out.push_str(&digits);
    } else {
        let point = point as usize;
        if point >= digits.len() {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', point - digits.len()));
            out.push_str(".0");
        } else {
            out.push_str(&digits[..point]);
            out.push('.');
            out.push_str(&digits[point..]);
        }
    }
    out
}

/// A float as Python's `float()` reads Twisted's output: decimal or
/// exponent notation, `nan`, `inf`, `-inf`, `infinity` (any case).
pub(crate) fn parse_float(text: &str) -> Result<f64, ValueError> {
    text.parse::<f64>()
        .map_err(|_| ValueError::new("Float", format!("{text:?} is not a number")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_and_exponent_notation_switch_where_python_switches() {
        let cases = [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (0.1, "0.1"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1e-4, "0.0001"),
            (1e-5, "1e-05"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (123456789012345680.0, "1.2345678901234568e+17"),
            (f64::NAN, "nan"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for (value, text) in cases {
            assert_eq!(format_float(value), text);
            let back = parse_float(text).unwrap();
            assert!(
                back.to_bits() == value.to_bits() || (back.is_nan() && value.is_nan()),
                "{text}"
            );
        }
        assert!(parse_float("1.5 ").is_err());
        assert!(parse_float("").is_err());
    }
}
