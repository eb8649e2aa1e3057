//! [`Decimal`]: an exact decimal number as Twisted's `Decimal` argument
//! carries Python's `decimal.Decimal`.
//!
//! The wire form is the General Decimal Arithmetic "to-scientific-string":
//! a coefficient of any number of digits and an exponent, so `1.50` keeps
//! its trailing zero, `1E+2` is one hundred with one significant digit, and
//! the special values are `Infinity`, `NaN` and `sNaN` (signed, NaNs with an
//! optional diagnostic payload). No arithmetic is offered: this type carries
//! values exactly between programs; convert with [`Decimal::to_f64`] or parse
//! the string with a decimal crate of your choice.

use std::fmt;
use std::str::FromStr;

use super::errors::ValueError;
use super::types::{Argument, DecodeContext, EncodeContext};

/// An arbitrary-precision decimal number or special value, exactly as
/// Python's `decimal.Decimal` represents it (so `1.50 != 1.5` here: the
/// representations differ).
///
/// ```
/// use gyre_protocols::amp::Decimal;
///
/// let price: Decimal = "-1.50".parse().unwrap();
/// assert_eq!(price, Decimal::new(-150, -2));
/// assert_eq!(price.to_string(), "-1.50");
/// assert_eq!("1e-7".parse::<Decimal>().unwrap().to_string(), "1E-7");
/// assert!("-sNaN12".parse::<Decimal>().unwrap().is_signaling_nan());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Decimal {
    negative: bool,
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Kind {
    /// `coefficient` × 10^`exponent`; the coefficient has no leading zeros
    /// (it is "0" for zero).
    Finite {
        coefficient: String,
        exponent: i64,
    },
    Infinity,
    /// A quiet or signalling NaN with its payload digits (no leading zeros,
    /// empty for none).
    NaN {
        signaling: bool,
        payload: String,
    },
}

impl Decimal {
    /// `mantissa` × 10^`exponent`: `Decimal::new(-150, -2)` is `-1.50`.
    pub fn new(mantissa: i128, exponent: i64) -> Self {
        Decimal {
            negative: mantissa < 0,
            kind: Kind::Finite {
                coefficient: mantissa.unsigned_abs().to_string(),
                exponent,
            },
        }
    }

    /// Positive or negative infinity.
    pub fn infinity(negative: bool) -> Self {
        Decimal {
            negative,
            kind: Kind::Infinity,
        }
    }

    /// A quiet NaN without payload.
    pub fn nan() -> Self {
        Decimal {
            negative: false,
            kind: Kind::NaN {
                signaling: false,
                payload: String::new(),
            },
        }
    }

    /// Whether this is a NaN, quiet or signalling.
    pub fn is_nan(&self) -> bool {
        matches!(self.kind, Kind::NaN { .. })
    }

    /// Whether this is a signalling NaN (`sNaN`).
    pub fn is_signaling_nan(&self) -> bool {
        matches!(self.kind, Kind::NaN { signaling: true, .. })
    }

    /// Whether this is an infinity.
    pub fn is_infinite(&self) -> bool {
        self.kind == Kind::Infinity
    }

    /// Whether this is a finite number.
    pub fn is_finite(&self) -> bool {
        matches!(self.kind, Kind::Finite { .. })
    }

    /// Whether the sign is negative (`-0` and `-NaN` included).
    pub fn is_sign_negative(&self) -> bool {
        self.negative
    }

    /// The digits of a finite number's coefficient, without leading zeros.
    pub fn coefficient(&self) -> Option<&str> {
        match &self.kind {
            Kind::Finite { coefficient, .. } => Some(coefficient),
            _ => None,
        }
    }

    /// A finite number's exponent.
    pub fn exponent(&self) -> Option<i64> {
        match self.kind {
            Kind::Finite { exponent, .. } => Some(exponent),
            _ => None,
        }
    }

    /// The nearest `f64` (NaNs become NaN, out-of-range values infinities).
    pub fn to_f64(&self) -> f64 {
        match &self.kind {
            Kind::NaN { .. } => f64::NAN,
            Kind::Infinity if self.negative => f64::NEG_INFINITY,
            Kind::Infinity => f64::INFINITY,
            Kind::Finite {
                coefficient,
                exponent,
            } => {
                let sign = if self.negative { "-" } else { "" };
                format!("{sign}{coefficient}e{exponent}")
                    .parse()
                    .unwrap_or(f64::NAN)
            }
        }
    }
}

/// Leading zeros stripped, "0" kept for zero.
fn strip_zeros(digits: &str) -> String {
    let stripped = digits.trim_start_matches('0');
    if stripped.is_empty() {
        "0".to_owned()
    } else {
        stripped.to_owned()
    }
}

fn all_digits(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_digit())
}

impl FromStr for Decimal {
    type Err = ValueError;

    /// Python's `Decimal(text)` syntax, without the surrounding whitespace
    /// and underscores Python also tolerates.
    fn from_str(text: &str) -> Result<Self, ValueError> {
        let invalid = || ValueError::new("Decimal", format!("{text:?} is not a decimal number"));
        let (negative, body) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let lower = body.to_ascii_lowercase();
        if lower == "inf" || lower == "infinity" {
            return Ok(Decimal::infinity(negative));
        }
        for (prefix, signaling) in [("snan", true), ("nan", false)] {
            if let Some(payload) = lower.strip_prefix(prefix) {
                if !all_digits(payload) {
                    return Err(invalid());
                }
                let payload = strip_zeros(payload);
                let payload = if payload == "0" { String::new() } else { payload };
                return Ok(Decimal {
                    negative,
                    kind: Kind::NaN { signaling, payload },
                });
            }
        }
        let (number, exponent) = match body.find(['e', 'E']) {
            Some(at) => (&body[..at], Some(&body[at + 1..])),
            None => (body, None),
        };
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if (whole.is_empty() && fraction.is_empty()) || !all_digits(whole) || !all_digits(fraction) {
            return Err(invalid());
        }
        let exponent: i64 = match exponent {
            Some(digits) => {
                let unsigned = digits.strip_prefix(['+', '-']).unwrap_or(digits);
                if unsigned.is_empty() || !all_digits(unsigned) {
                    return Err(invalid());
                }
                digits.parse().map_err(|_| invalid())?
            }
            None => 0,
        };
        let exponent = i64::try_from(fraction.len())
            .ok()
            .and_then(|places| exponent.checked_sub(places))
            .ok_or_else(invalid)?;
        Ok(Decimal {
            negative,
            kind: Kind::Finite {
                coefficient: strip_zeros(&format!("{whole}{fraction}")),
                exponent,
            },
        })
    }
}

impl fmt::Display for Decimal {
    /// The to-scientific-string form, as Python's `str(Decimal)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.negative {
            f.write_str("-")?;
        }
        let (coefficient, exponent) = match &self.kind {
            Kind::Infinity => return f.write_str("Infinity"),
            Kind::NaN { signaling, payload } => {
                let name = if *signaling { "sNaN" } else { "NaN" };
                return write!(f, "{name}{payload}");
            }
            Kind::Finite {
                coefficient,
                exponent,
            } => (coefficient.as_str(), i128::from(*exponent)),
        };
        let digits = coefficient.len() as i128;
        // Digits left of the decimal point in plain notation.
        let left = exponent + digits;
        let point = if exponent <= 0 && left > -6 { left } else { 1 };
        if point <= 0 {
            write!(f, "0.{}{coefficient}", "0".repeat(point.unsigned_abs() as usize))?;
        } else if point >= digits {
            write!(f, "{coefficient}{}", "0".repeat((point - digits) as usize))?;
        } else {
            let point = point as usize;
            write!(f, "{}.{}", &coefficient[..point], &coefficient[point..])?;
        }
        if left != point {
            write!(f, "E{:+}", left - point)?;
        }
        Ok(())
    }
}

/// Twisted's `Decimal`.
impl Argument for Decimal {
    fn encode(self, _context: &mut EncodeContext) -> Result<Vec<u8>, ValueError> {
        Ok(self.to_string().into_bytes())
    }

    fn decode(bytes: &[u8], _context: &mut DecodeContext<'_>) -> Result<Self, ValueError> {
        std::str::from_utf8(bytes)
            .map_err(|error| ValueError::new("Decimal", error.to_string()))?
            .parse()
    }
}
