//! [`Argument`] for the standard Rust types: integers, bytes, text, paths,
//! floats, booleans, lists (`ListOf`), [`AmpList`] and file descriptors.

use std::ops::{Deref, DerefMut};
#[cfg(unix)]
use std::os::fd::OwnedFd;
use std::path::PathBuf;

use super::errors::ValueError;
use super::float::{format_float, parse_float};
use super::types::{Argument, DecodeContext, EncodeContext, Fields};
use super::wire::{AmpBox, BoxLimits, MAX_VALUE_LENGTH, decode_boxes, push_prefixed};

fn text<'a>(bytes: &'a [u8], expected: &'static str) -> Result<&'a str, ValueError> {
    std::str::from_utf8(bytes).map_err(|error| ValueError::new(expected, error.to_string()))
}

macro_rules! integer_argument {
    ($($ty:ty),*) => {$(
        /// Twisted's `Integer`: decimal digits with an optional sign.
        impl Argument for $ty {
            fn encode(self, _context: &mut EncodeContext) -> Result<Vec<u8>, ValueError> {
                Ok(self.to_string().into_bytes())
            }

            fn decode(bytes: &[u8], _context: &mut DecodeContext<'_>) -> Result<Self, ValueError> {
                text(bytes, "Integer")?.parse::<$ty>().map_err(|error| {
                    let detail = match error.kind() {
                        std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                            format!("{:?} is out of range for {}", bytes.escape_ascii().to_string(), stringify!($ty))
                        }
                        _ => format!("{:?} is not a decimal integer", bytes.escape_ascii().to_string()),
                    };
                    ValueError::new("Integer", detail)
                })
            }
        }
    )*};
}

integer_argument!(i8, i16, i32, i64, i128, isize, u16, u32, u64, u128, usize);

/// Twisted's `String`: bytes, unchanged.
impl Argument for Vec<u8> {
    fn encode(self, _context: &mut EncodeContext) -> Result<Vec<u8>, ValueError> {
        Ok(self)
    }

    fn decode(bytes: &[u8], _context: &mut DecodeContext<'_>) -> Result<Self, ValueError> {
        Ok(bytes.to_vec())
    }
}

/// Twisted's `Unicode`: UTF-8.
impl Argument for String {
    fn encode(self, _context: &mut EncodeContext) -> Result<Vec<u8>, ValueError> {
        Ok(self.into_bytes())
    }

    fn decode(bytes: &[u8], _context: &mut DecodeContext<'_>) -> Result<Self, ValueError> {
        Ok(text(bytes, "Unicode")?.to_owned())
    }
}

/// Twisted's `Path`: the path as UTF-8 (a path that is not UTF-8 cannot be sent).
impl Argument for PathBuf {
    fn encode(self, _context: &mut EncodeContext) -> Result<Vec<u8>, ValueError> {
        self.into_os_string()
            .into_string()
            .map(String::into_bytes)
            .map_err(|path| ValueError::new("Path", format!("{path:?} is not UTF-8")))
    }

    fn decode(bytes: &[u8], _context: &mut DecodeContext<'_>) -> Result<Self, ValueError> {
        Ok(PathBuf::from(text(bytes, "Path")?))
    }
}

/// Twisted's `Float`: Python's `repr`, so `nan`, `inf` and `-inf` included.
impl Argument for f64 {
    fn encode(self, _context: &mut EncodeContext) -> Result<Vec<u8>, ValueError> {
        Ok(format_float(self).into_bytes())
    }

    fn decode(bytes: &[u8], _context: &mut DecodeContext<'_>) -> Result<Self, ValueError> {
        parse_float(text(bytes, "Float")?)
    }
}

/// Twisted's `Boolean`: `True` or `False`.
impl Argument for bool {
    fn encode(self, _context: &mut EncodeContext) -> Result<Vec<u8>, ValueError> {
        Ok(if self { b"True".to_vec() } else { b"False".to_vec() })
    }

    fn decode(bytes: &[u8], _context: &mut DecodeContext<'_>) -> Result<Self, ValueError> {
        match bytes {
            b"True" => Ok(true),
            b"False" => Ok(false),
            _ => Err(ValueError::new(
                "Boolean",
                format!("{:?} is neither True nor False", bytes.escape_ascii().to_string()),
            )),
        }
    }
}

/// Twisted's `ListOf`: each element's bytes behind a 16-bit length. The
/// whole list must fit one value (65,535 bytes). Unlike Twisted, a trailing
/// partial element is an error rather than silently dropped.
impl<T: Argument> Argument for Vec<T> {
    fn encode(self, context: &mut EncodeContext) -> Result<Vec<u8>, ValueError> {
        let mut out = Vec::new();
        for (index, element) in self.into_iter().enumerate() {
            let bytes = element.encode(context)?;
            if bytes.len() > MAX_VALUE_LENGTH {
                return Err(ValueError::new(
                    "ListOf",
                    format!("element {index} encodes to {} bytes (at most 65535)", bytes.len()),
                ));
            }
            push_prefixed(&mut out, &bytes);
        }
        Ok(out)
    }

    fn decode(bytes: &[u8], context: &mut DecodeContext<'_>) -> Result<Self, ValueError> {
        let mut elements = Vec::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            let [high, low, tail @ ..] = rest else {
                return Err(ValueError::new("ListOf", "ends inside an element's length"));
            };
            let length = usize::from(u16::from_be_bytes([*high, *low]));
            if tail.len() < length {
                return Err(ValueError::new("ListOf", "ends inside an element"));
            }
            let element = T::decode(&tail[..length], context)
                .map_err(|error| ValueError::new("ListOf", format!("element {}: {error}", elements.len())))?;
            elements.push(element);
            rest = &tail[length..];
        }
        Ok(elements)
    }
}

/// Twisted's `AmpList`: a list of rows, each a box of typed fields (`T`, a
/// [`Fields`] struct), sent as the boxes one after the other.
///
/// ```
/// use gyre_protocols::amp::{AmpList, Argument, DecodeContext, EncodeContext};
///
/// gyre_protocols::amp_fields! {
///     /// One row.
///     #[derive(Debug, PartialEq)]
///     pub struct Row {
///         pub a: i64,
///         pub b: String,
///     }
/// }
///
/// let rows = AmpList(vec![Row { a: 7, b: "hello".into() }]);
/// let bytes = rows.encode(&mut EncodeContext::default()).unwrap();
/// assert_eq!(bytes, b"\x00\x01a\x00\x017\x00\x01b\x00\x05hello\x00\x00");
/// let back = AmpList::<Row>::decode(&bytes, &mut DecodeContext::default()).unwrap();
/// assert_eq!(back[0].b, "hello");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct AmpList<T>(pub Vec<T>);

impl<T> AmpList<T> {
    /// The rows.
    pub fn into_inner(self) -> Vec<T> {
        self.0
    }
}

impl<T> Deref for AmpList<T> {
    type Target = Vec<T>;

    fn deref(&self) -> &Vec<T> {
        &self.0
    }
}

impl<T> DerefMut for AmpList<T> {
    fn deref_mut(&mut self) -> &mut Vec<T> {
        &mut self.0
    }
}

impl<T> From<Vec<T>> for AmpList<T> {
    fn from(rows: Vec<T>) -> Self {
        AmpList(rows)
    }
}

impl<T> FromIterator<T> for AmpList<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        AmpList(iter.into_iter().collect())
    }
}

impl<T> IntoIterator for AmpList<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<T: Fields> Argument for AmpList<T> {
    fn encode(self, context: &mut EncodeContext) -> Result<Vec<u8>, ValueError> {
        let mut out = Vec::new();
        for (index, row) in self.0.into_iter().enumerate() {
            let mut fields = AmpBox::new();
            row.encode_fields(&mut fields, context)
                .map_err(|error| ValueError::new("AmpList", format!("row {index}: {error}")))?;
            fields
                .encode(&mut out)
                .map_err(|error| ValueError::new("AmpList", format!("row {index}: {error}")))?;
        }
        Ok(out)
    }

    fn decode(bytes: &[u8], context: &mut DecodeContext<'_>) -> Result<Self, ValueError> {
        let boxes = decode_boxes(bytes, BoxLimits::default())
            .map_err(|error| ValueError::new("AmpList", error.to_string()))?;
        boxes
            .iter()
            .enumerate()
            .map(|(index, row)| {
                T::decode_fields(row, context)
                    .map_err(|error| ValueError::new("AmpList", format!("row {index}: {error}")))
            })
            .collect()
    }
}

/// Twisted's `Descriptor`: the descriptor is passed over the Unix socket
/// (`SCM_RIGHTS`) and the value is its ordinal on the connection. Sending
/// moves (and then closes) this side's descriptor; use `try_clone` to keep
/// one. Needs a transport with the `UnixFdPassing` capability.
#[cfg(unix)]
impl Argument for OwnedFd {
    fn encode(self, context: &mut EncodeContext) -> Result<Vec<u8>, ValueError> {
        Ok(context.send_descriptor(self).to_string().into_bytes())
    }

    fn decode(bytes: &[u8], context: &mut DecodeContext<'_>) -> Result<Self, ValueError> {
        let ordinal: u64 = text(bytes, "Descriptor")?.parse().map_err(|_| {
            ValueError::new(
                "Descriptor",
                format!("{:?} is not an ordinal", bytes.escape_ascii().to_string()),
            )
        })?;
        context.take_descriptor(ordinal).ok_or_else(|| {
            ValueError::new("Descriptor", format!("no file descriptor {ordinal} was received"))
        })
    }
}
