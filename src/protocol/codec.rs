//! The one codec for the protocol's binary structures: a bounds-checked big-endian [`Reader`]
//! (every read returns an error instead of panicking) and the writers of length-prefixed fields.
//! Key configurations, the v1 messages and the gateway's tickets all read and write through it.
//!
//! A length-prefixed field is `len ‖ bytes`, `len` a 1-, 2- or 4-byte big-endian integer.

use alloc::vec::Vec;

/// Why a read or a write failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CodecError {
    /// The input ended early.
    Short,
    /// A length prefix is over the caller's limit, or a field does not fit its prefix.
    TooLong,
}

/// Reads big-endian integers, fixed arrays and length-prefixed fields off a byte slice.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        if self.buf.len() < n {
            return Err(CodecError::Short);
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], CodecError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, CodecError> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, CodecError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, CodecError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// `len (1) ‖ bytes`. The length is checked against `max` before the bytes are read, so an
    /// over-long field is [`CodecError::TooLong`] even when the input is also short.
    pub(crate) fn u8_prefixed(&mut self, max: usize) -> Result<&'a [u8], CodecError> {
        self.prefixed(1, max)
    }

    /// `len (2) ‖ bytes`, as [`u8_prefixed`](Self::u8_prefixed).
    pub(crate) fn u16_prefixed(&mut self, max: usize) -> Result<&'a [u8], CodecError> {
        self.prefixed(2, max)
    }

    /// `len (4) ‖ bytes`, as [`u8_prefixed`](Self::u8_prefixed).
    pub(crate) fn u32_prefixed(&mut self, max: usize) -> Result<&'a [u8], CodecError> {
        self.prefixed(4, max)
    }

    /// A field after a `width`-byte (1, 2 or 4) big-endian length.
    fn prefixed(&mut self, width: usize, max: usize) -> Result<&'a [u8], CodecError> {
        let len = self
            .take(width)?
            .iter()
            .fold(0usize, |n, &b| (n << 8) | usize::from(b));
        if len > max {
            return Err(CodecError::TooLong);
        }
        self.take(len)
    }
}

/// Appends `len (1) ‖ field`. Errors: [`CodecError::TooLong`] (over 255 bytes; nothing written).
pub(crate) fn put_u8_prefixed(out: &mut Vec<u8>, field: &[u8]) -> Result<(), CodecError> {
    put_prefixed(out, 1, field)
}

/// Appends `len (2) ‖ field`. Errors: [`CodecError::TooLong`] (over 65,535 bytes; nothing
/// written).
pub(crate) fn put_u16_prefixed(out: &mut Vec<u8>, field: &[u8]) -> Result<(), CodecError> {
    put_prefixed(out, 2, field)
}

/// Appends `len (4) ‖ field`. Errors: [`CodecError::TooLong`] (over 2³² − 1 bytes; nothing
/// written).
pub(crate) fn put_u32_prefixed(out: &mut Vec<u8>, field: &[u8]) -> Result<(), CodecError> {
    put_prefixed(out, 4, field)
}

/// `len` as a `width`-byte (1, 2 or 4) big-endian integer, then `field`.
fn put_prefixed(out: &mut Vec<u8>, width: usize, field: &[u8]) -> Result<(), CodecError> {
    let len = u64::try_from(field.len()).map_err(|_| CodecError::TooLong)?;
    if len >> (8 * width) != 0 {
        return Err(CodecError::TooLong);
    }
    out.extend_from_slice(&len.to_be_bytes()[8 - width..]);
    out.extend_from_slice(field);
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use alloc::vec;

    #[test]
    fn prefixed_fields_round_trip_and_refuse_bad_lengths() {
        let mut out = Vec::new();
        put_u8_prefixed(&mut out, b"ab").unwrap();
        put_u16_prefixed(&mut out, b"cde").unwrap();
        put_u32_prefixed(&mut out, b"").unwrap();
        assert_eq!(out, [2, b'a', b'b', 0, 3, b'c', b'd', b'e', 0, 0, 0, 0]);
        let mut r = Reader::new(&out);
        assert_eq!(r.u8_prefixed(2).unwrap(), b"ab");
        assert_eq!(r.u16_prefixed(3).unwrap(), b"cde");
        assert_eq!(r.u32_prefixed(0).unwrap(), b"");
        assert!(r.is_empty());

        // The limit is checked before the bytes: over-long wins over short.
        assert_eq!(
            Reader::new(&[3, 1]).u8_prefixed(2),
            Err(CodecError::TooLong)
        );
        assert_eq!(Reader::new(&[2, 1]).u8_prefixed(2), Err(CodecError::Short));
        assert_eq!(Reader::new(&[0]).u16_prefixed(9), Err(CodecError::Short));

        let mut out = vec![9];
        assert_eq!(
            put_u8_prefixed(&mut out, &[0; 256]),
            Err(CodecError::TooLong)
        );
        assert_eq!(out, [9], "nothing written on error");
    }
}
