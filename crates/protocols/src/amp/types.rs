//! How Rust values travel in boxes: [`Argument`] (one value ↔ bytes),
//! [`BoxField`] (one key of a box, required or optional) and [`Fields`] (a
//! whole struct ↔ a box), with the contexts that carry file descriptors.
//!
//! The Rust type of a field chooses its AMP type:
//!
//! | Rust                                  | AMP (Twisted)                      |
//! |---------------------------------------|------------------------------------|
//! | `i8`…`i128`, `u16`…`u128`, `isize`, `usize` | `Integer`                    |
//! | `Vec<u8>`                             | `String` (bytes)                   |
//! | `String`                              | `Unicode`                          |
//! | `PathBuf`                             | `Path` (UTF-8)                     |
//! | `f64`                                 | `Float`                            |
//! | `bool`                                | `Boolean`                          |
//! | [`Decimal`](super::Decimal)           | `Decimal`                          |
//! | [`DateTime`](super::DateTime)         | `DateTime`                         |
//! | `Vec<T>` (T not `u8`)                 | `ListOf(T)`                        |
//! | [`AmpList<T>`](super::AmpList)        | `AmpList` (T a [`Fields`] struct)  |
//! | `OwnedFd`                             | `Descriptor`                       |
//! | `Option<T>`                           | `T` with `optional=True`           |
//!
//! `u8` is not an `Integer` so that `Vec<u8>` can mean bytes.

use std::collections::BTreeMap;
#[cfg(unix)]
use std::os::fd::OwnedFd;

/// A passed file descriptor; there are none off Unix.
#[cfg(unix)]
type Fd = OwnedFd;
#[cfg(not(unix))]
type Fd = std::convert::Infallible;

use super::errors::{ArgumentError, ProtocolError, ValueError};
use super::wire::{AmpBox, MAX_VALUE_LENGTH};

/// A Rust type that travels as one AMP value (Twisted's `IArgumentType`
/// with `toString`/`fromString`).
pub trait Argument: Sized {
    /// The value's bytes. File descriptors are handed to `context`, which
    /// numbers them.
    fn encode(self, context: &mut EncodeContext) -> Result<Vec<u8>, ValueError>;

    /// The value from its bytes. Descriptors are claimed from `context`.
    fn decode(bytes: &[u8], context: &mut DecodeContext<'_>) -> Result<Self, ValueError>;
}

/// One key of a box: a required [`Argument`], or an optional one
/// (`Option<T>`: absent when `None`, as Twisted's `optional=True`).
pub trait BoxField: Sized {
    /// Writes the field under `key` (or leaves the key out).
    fn encode_field(
        self,
        key: &'static str,
        out: &mut AmpBox,
        context: &mut EncodeContext,
    ) -> Result<(), ArgumentError>;

    /// Reads the field from `key`.
    fn decode_field(
        key: &'static str,
        from: &AmpBox,
        context: &mut DecodeContext<'_>,
    ) -> Result<Self, ArgumentError>;
}

fn encode_value<T: Argument>(
    value: T,
    key: &'static str,
    out: &mut AmpBox,
    context: &mut EncodeContext,
) -> Result<(), ArgumentError> {
    let bytes = value
        .encode(context)
        .map_err(|error| ArgumentError::Invalid { key, error })?;
    if bytes.len() > MAX_VALUE_LENGTH {
        return Err(ArgumentError::TooLong {
            key,
            length: bytes.len(),
        });
    }
    out.insert(key, bytes);
    Ok(())
}

fn decode_value<T: Argument>(
    key: &'static str,
    bytes: &[u8],
    context: &mut DecodeContext<'_>,
) -> Result<T, ArgumentError> {
    T::decode(bytes, context).map_err(|error| ArgumentError::Invalid { key, error })
}

impl<T: Argument> BoxField for T {
    fn encode_field(
        self,
        key: &'static str,
        out: &mut AmpBox,
        context: &mut EncodeContext,
    ) -> Result<(), ArgumentError> {
        encode_value(self, key, out, context)
    }

    fn decode_field(
        key: &'static str,
        from: &AmpBox,
        context: &mut DecodeContext<'_>,
    ) -> Result<Self, ArgumentError> {
        let bytes = from.get(key).ok_or(ArgumentError::Missing { key })?;
        decode_value(key, bytes, context)
    }
}

impl<T: Argument> BoxField for Option<T> {
    fn encode_field(
        self,
        key: &'static str,
        out: &mut AmpBox,
        context: &mut EncodeContext,
    ) -> Result<(), ArgumentError> {
        match self {
            Some(value) => encode_value(value, key, out, context),
            None => Ok(()),
        }
    }

    fn decode_field(
        key: &'static str,
        from: &AmpBox,
        context: &mut DecodeContext<'_>,
    ) -> Result<Self, ArgumentError> {
        from.get(key)
            .map(|bytes| decode_value(key, bytes, context))
            .transpose()
    }
}

/// A struct whose fields are the keys of a box: a command's arguments or
/// response, or the rows of an [`AmpList`](super::AmpList). Usually written
/// with [`amp_fields!`](crate::amp_fields); keys not declared are ignored on
/// decoding, as in Twisted.
pub trait Fields: Sized + 'static {
    /// Writes every field into `out`.
    fn encode_fields(self, out: &mut AmpBox, context: &mut EncodeContext) -> Result<(), ArgumentError>;

    /// Reads every field from `from`.
    fn decode_fields(from: &AmpBox, context: &mut DecodeContext<'_>) -> Result<Self, ArgumentError>;
}

/// No fields: the arguments or response of a command that carries none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Empty;

impl Fields for Empty {
    fn encode_fields(self, _out: &mut AmpBox, _context: &mut EncodeContext) -> Result<(), ArgumentError> {
        Ok(())
    }

    fn decode_fields(_from: &AmpBox, _context: &mut DecodeContext<'_>) -> Result<Self, ArgumentError> {
        Ok(Empty)
    }
}

/// Collects the file descriptors a box sends, numbering them as Twisted's
/// `Descriptor` does: the value on the wire is the descriptor's ordinal
/// among all descriptors sent on the connection, counted from 0.
#[derive(Debug, Default)]
pub struct EncodeContext {
    first_ordinal: u64,
    descriptors: Vec<Fd>,
}

impl EncodeContext {
    /// A context whose first descriptor gets `first_ordinal` (the number of
    /// descriptors the connection sent before).
    pub fn new(first_ordinal: u64) -> Self {
        EncodeContext {
            first_ordinal,
            descriptors: Vec::new(),
        }
    }

    /// Queues `fd` to be passed with the box and returns its ordinal.
    #[cfg(unix)]
    pub fn send_descriptor(&mut self, fd: OwnedFd) -> u64 {
        self.descriptors.push(fd);
        self.first_ordinal + self.descriptors.len() as u64 - 1
    }

    /// How many descriptors the box passes.
    pub fn descriptor_count(&self) -> usize {
        self.descriptors.len()
    }

    /// The descriptors to pass, in ordinal order.
    #[cfg(unix)]
    pub fn into_descriptors(self) -> Vec<OwnedFd> {
        self.descriptors
    }
}

/// The file descriptors received on a connection and not yet claimed by a
/// `Descriptor` argument, keyed by ordinal (their order of arrival, from 0).
/// Bounded: a peer passing more unclaimed descriptors than the limit is
/// breaking the protocol.
#[derive(Debug)]
pub struct ReceivedDescriptors {
    next_ordinal: u64,
    limit: usize,
    waiting: BTreeMap<u64, Fd>,
}

impl ReceivedDescriptors {
    /// Holds at most `limit` unclaimed descriptors.
    pub fn new(limit: usize) -> Self {
        ReceivedDescriptors {
            next_ordinal: 0,
            limit,
            waiting: BTreeMap::new(),
        }
    }

    /// Records descriptors as they arrive; fails (dropping, so closing, all
    /// of them) once more than the limit wait unclaimed.
    #[cfg(unix)]
    pub fn receive(&mut self, fds: Vec<OwnedFd>) -> Result<(), ProtocolError> {
        for fd in fds {
            self.waiting.insert(self.next_ordinal, fd);
            self.next_ordinal += 1;
        }
        if self.waiting.len() > self.limit {
            self.waiting.clear();
            return Err(ProtocolError::TooManyDescriptors { limit: self.limit });
        }
        Ok(())
    }

    /// Claims the descriptor with `ordinal`.
    #[cfg(unix)]
    pub fn take(&mut self, ordinal: u64) -> Option<OwnedFd> {
        self.waiting.remove(&ordinal)
    }

    /// How many descriptors wait unclaimed.
    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    /// Whether none waits.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// Closes every waiting descriptor (the connection ended).
    pub fn clear(&mut self) {
        self.waiting.clear();
    }
}

/// Where decoding claims received file descriptors from; without a
/// connection (`DecodeContext::default()`) a `Descriptor` cannot decode.
#[derive(Debug, Default)]
pub struct DecodeContext<'a> {
    descriptors: Option<&'a mut ReceivedDescriptors>,
}

impl<'a> DecodeContext<'a> {
    /// A context claiming from `descriptors`.
    pub fn new(descriptors: &'a mut ReceivedDescriptors) -> Self {
        DecodeContext {
            descriptors: Some(descriptors),
        }
    }

    /// Claims the received descriptor with `ordinal`.
    #[cfg(unix)]
    pub fn take_descriptor(&mut self, ordinal: u64) -> Option<OwnedFd> {
        self.descriptors.as_mut()?.take(ordinal)
    }
}
