//! The declarative macros that write [`Fields`](super::Fields) and
//! [`CommandError`](super::CommandError) implementations.

/// Declares a struct whose fields travel as the keys of an AMP box, and
/// implements [`Fields`](crate::amp::Fields) for it. Each field's Rust type
/// chooses its AMP type (see [`types`](crate::amp::types)); `Option<T>`
/// makes it optional. The key is the field name, or the string after `as`
/// for keys that are not Rust identifiers (Twisted maps `first-name` to the
/// Python name `first_name`).
///
/// ```
/// use gyre_protocols::amp::{AmpBox, DecodeContext, EncodeContext, Fields};
///
/// gyre_protocols::amp_fields! {
///     /// Who to greet.
///     #[derive(Debug, Clone, PartialEq)]
///     pub struct Greet {
///         /// Their name.
///         pub first_name as "first-name": String,
///         pub times: Option<u32>,
///     }
/// }
///
/// let mut fields = AmpBox::new();
/// Greet { first_name: "Ada".into(), times: None }
///     .encode_fields(&mut fields, &mut EncodeContext::default())
///     .unwrap();
/// assert_eq!(fields.get("first-name"), Some(&b"Ada"[..]));
/// assert!(!fields.contains_key("times"));
/// let back = Greet::decode_fields(&fields, &mut DecodeContext::default()).unwrap();
/// assert_eq!(back.first_name, "Ada");
/// ```
#[macro_export]
macro_rules! amp_fields {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $(
                $(#[$field_meta:meta])*
                $field_vis:vis $field:ident $(as $wire:literal)? : $ty:ty
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $(
                $(#[$field_meta])*
                $field_vis $field: $ty,
            )*
        }

        impl $crate::amp::Fields for $name {
            fn encode_fields(
                self,
                out: &mut $crate::amp::AmpBox,
                context: &mut $crate::amp::EncodeContext,
            ) -> ::std::result::Result<(), $crate::amp::ArgumentError> {
                $(
                    <$ty as $crate::amp::BoxField>::encode_field(
                        self.$field,
                        $crate::amp_fields!(@key $field $($wire)?),
                        out,
                        context,
                    )?;
                )*
                let _ = (out, context);
                ::std::result::Result::Ok(())
            }

            fn decode_fields(
                from: &$crate::amp::AmpBox,
                context: &mut $crate::amp::DecodeContext<'_>,
            ) -> ::std::result::Result<Self, $crate::amp::ArgumentError> {
                let _ = (&from, &context);
                ::std::result::Result::Ok($name {
                    $(
                        $field: <$ty as $crate::amp::BoxField>::decode_field(
                            $crate::amp_fields!(@key $field $($wire)?),
                            from,
                            context,
                        )?,
                    )*
                })
            }
        }
    };
    (@key $field:ident) => {
        ::std::stringify!($field)
    };
    (@key $field:ident $wire:literal) => {
        $wire
    };
}

/// Declares an enum of a command's errors, each variant carrying the
/// description, and implements [`CommandError`](crate::amp::CommandError),
/// `Display` (the description) and `Error` for it.
///
/// ```
/// use gyre_protocols::amp::CommandError;
///
/// gyre_protocols::amp_errors! {
///     /// What Divide may answer instead of a result.
///     pub enum DivideError {
///         /// The denominator was zero (Twisted: `ZeroDivisionError`).
///         ZeroDivision = "ZERO_DIVISION",
///     }
/// }
///
/// let error = DivideError::ZeroDivision("division by zero".into());
/// assert_eq!(error.code(), "ZERO_DIVISION");
/// assert_eq!(DivideError::from_code(b"ZERO_DIVISION", "x"), Some(DivideError::ZeroDivision("x".into())));
/// assert_eq!(DivideError::from_code(b"OTHER", "x"), None);
/// ```
#[macro_export]
macro_rules! amp_errors {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $(
                $(#[$variant_meta:meta])*
                $variant:ident = $code:literal
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        $vis enum $name {
            $(
                $(#[$variant_meta])*
                $variant(::std::string::String),
            )*
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                match self {
                    $( $name::$variant(description) => f.write_str(description), )*
                }
            }
        }

        impl ::std::error::Error for $name {}

        impl $crate::amp::CommandError for $name {
            fn code(&self) -> &'static str {
                match self {
                    $( $name::$variant(_) => $code, )*
                }
            }

            fn from_code(code: &[u8], description: &str) -> ::std::option::Option<Self> {
                $(
                    if code == $code.as_bytes() {
                        return ::std::option::Option::Some($name::$variant(description.to_owned()));
                    }
                )*
                let _ = (code, description);
                ::std::option::Option::None
            }
        }
    };
}
