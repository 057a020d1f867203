//! The masked crc32c that TFRecord framing stores after the length and after the data.
//!
//! The mask (rotate right by 15, add a constant) is TensorFlow's: a CRC computed over data
//! that itself holds CRCs is weak, so the stored value is scrambled.

const MASK_DELTA: u32 = 0xa282_ead8;

/// The masked crc32c of `data`, as TFRecord stores it.
pub fn masked_crc32c(data: &[u8]) -> u32 {
    mask(crc32c::crc32c(data))
}

/// Masks a crc32c.
pub fn mask(crc: u32) -> u32 {
    crc.rotate_right(15).wrapping_add(MASK_DELTA)
}

/// Undoes [`mask`].
pub fn unmask(masked: u32) -> u32 {
    masked.wrapping_sub(MASK_DELTA).rotate_left(15)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_values() {
        // crc32c("123456789") is the standard check value.
        assert_eq!(crc32c::crc32c(b"123456789"), 0xe306_9283);
        // The length field of a 4-byte record: what TensorFlow writes for b"abcd".
        let len = 4u64.to_le_bytes();
        assert_eq!(masked_crc32c(&len), mask(crc32c::crc32c(&len)));
        assert_eq!(unmask(masked_crc32c(b"")), 0);
    }

    proptest! {
        #[test]
        fn unmask_inverts_mask(crc: u32) {
            prop_assert_eq!(unmask(mask(crc)), crc);
        }
    }
}
