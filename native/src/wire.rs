//! The two pieces of protobuf's wire format everything else here is made of.

/// A varint, as protobuf writes a non-negative integer (and an `int64`, as the `u64` of its two's complement).
#[inline]
pub fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// A length-delimited field: its tag (one byte, as every tag here is), the payload's length, the payload.
#[inline]
pub fn bytes_field(out: &mut Vec<u8>, tag: u8, payload: &[u8]) {
    out.reserve(11 + payload.len()); // one check for the three writes
    out.push(tag);
    varint(out, payload.len() as u64);
    out.extend_from_slice(payload);
}

/// The bytes of ``value``'s varint.
#[inline]
pub fn varint_len(value: usize) -> usize {
    (usize::BITS - (value | 1).leading_zeros()).div_ceil(7) as usize
}
