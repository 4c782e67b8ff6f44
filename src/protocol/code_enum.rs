//! `code_enum!`: the one way this crate defines a table of stable error or refusal codes
//! (in the manner of rustls's `enum_builder!`). Each variant is written once, with its code
//! string and the table's other columns; from that one line come:
//!
//! * a `#[non_exhaustive]` enum deriving `Clone, Copy, Debug, PartialEq, Eq, Hash`;
//! * `ALL`, every variant in declaration order (the docs tests compare it with the README and
//!   docs/PROTOCOL.md tables);
//! * `code()`, the stable upper-case string, and `from_code()`, its inverse (`None` for a code the
//!   table does not have). A code listed twice does not compile (`unreachable_patterns` is denied
//!   inside `from_code`);
//! * per table shape, the other columns' accessors and `Display`:
//!   * `Variant => "CODE"`: `Display` writes the code;
//!   * `Variant => ("CODE", "message")`: `message()`; `Display` is `CODE: message`; `Error`;
//!   * `Variant => (status, "CODE", "title")`: `status()` (HTTP), `title()`; `Display` is
//!     `CODE (status): title`; `Error`.

/// See the [module documentation](self).
macro_rules! code_enum {
    // The part every table shares.
    (@core $(#[$meta:meta])* $vis:vis enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident => $code:literal, )+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every variant, in declaration order (for exhaustive tests and documentation).
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )+ ];

            /// The stable, machine-readable code (upper-case ASCII, `_`-separated).
            pub const fn code(self) -> &'static str {
                match self { $( $name::$variant => $code, )+ }
            }

            /// The variant whose [`code`](Self::code) is `code`, if any. A code listed twice
            /// in one table does not compile (`unreachable_patterns` is denied here).
            #[deny(unreachable_patterns)]
            pub fn from_code(code: &str) -> Option<Self> {
                match code {
                    $( $code => Some($name::$variant), )+
                    _ => None,
                }
            }
        }
    };

    // Code only.
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident => $code:literal, )+ }) => {
        $crate::protocol::code_enum::code_enum!(@core $(#[$meta])* $vis enum $name { $( $(#[$vmeta])* $variant => $code, )+ });

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(self.code())
            }
        }
    };

    // Code and message: an error of an operation.
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident => ($code:literal, $msg:literal), )+ }) => {
        $crate::protocol::code_enum::code_enum!(@core $(#[$meta])* $vis enum $name { $( $(#[$vmeta])* $variant => $code, )+ });

        impl $name {
            /// A short human-readable description that never contains secret material.
            pub const fn message(self) -> &'static str {
                match self { $( $name::$variant => $msg, )+ }
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(self.code())?;
                f.write_str(": ")?;
                f.write_str(self.message())
            }
        }

        impl core::error::Error for $name {}
    };

    // HTTP status, code and title: a refusal answered as an `application/problem+json` body.
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident => ($status:literal, $code:literal, $title:literal), )+ }) => {
        $crate::protocol::code_enum::code_enum!(@core $(#[$meta])* $vis enum $name { $( $(#[$vmeta])* $variant => $code, )+ });

        impl $name {
            /// The HTTP status code.
            pub const fn status(self) -> u16 {
                match self { $( $name::$variant => $status, )+ }
            }

            /// A short human-readable title.
            pub const fn title(self) -> &'static str {
                match self { $( $name::$variant => $title, )+ }
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(self.code())?;
                f.write_str(" (")?;
                core::fmt::Display::fmt(&self.status(), f)?;
                f.write_str("): ")?;
                f.write_str(self.title())
            }
        }

        impl core::error::Error for $name {}
    };
}

pub(crate) use code_enum;

#[cfg(test)]
mod tests {
    use crate::protocol::{EncapsulationError, KeyConfigError, MessageError, RefusalCode};

    macro_rules! check_table {
        ($name:ty) => {
            for &v in <$name>::ALL {
                assert_eq!(<$name>::from_code(v.code()), Some(v), "{v:?}");
            }
            assert_eq!(<$name>::from_code(""), None);
            assert_eq!(<$name>::from_code("UNKNOWN_CODE_X"), None);
        };
    }

    #[test]
    fn from_code_inverts_code_for_every_table() {
        check_table!(KeyConfigError);
        check_table!(EncapsulationError);
        check_table!(MessageError);
        check_table!(RefusalCode);
        assert_eq!(
            EncapsulationError::DecryptFailed.to_string(),
            "DECRYPT_FAILED: decryption failed"
        );
        assert_eq!(RefusalCode::AtUsed.to_string(), "AT_USED");
    }
}
