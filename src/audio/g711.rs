//! G.711 (ITU-T, 8 kHz telephone audio) to 16-bit PCM: μ-law (`audio/pcmu`, North America and
//! Japan) and A-law (`audio/pcma`, elsewhere). What telephone bridges send the OpenAI Realtime
//! endpoint. Decoding is the standard's table, computed per byte.

/// One μ-law byte as a 16-bit sample.
pub fn ulaw_to_linear(byte: u8) -> i16 {
    let u = !byte;
    let exponent = (u >> 4) & 0x07;
    let mantissa = i32::from(u & 0x0F);
    let magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    let sample = if u & 0x80 != 0 { -magnitude } else { magnitude };
    sample as i16
}

/// One A-law byte as a 16-bit sample.
pub fn alaw_to_linear(byte: u8) -> i16 {
    let a = byte ^ 0x55;
    let exponent = (a >> 4) & 0x07;
    let mantissa = i32::from(a & 0x0F);
    let magnitude = if exponent == 0 {
        (mantissa << 4) + 8
    } else {
        ((mantissa << 4) + 0x108) << (exponent - 1)
    };
    let sample = if a & 0x80 != 0 { magnitude } else { -magnitude };
    sample as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mu_law_matches_the_standard_table() {
        // ITU-T G.711 reference values (as in every telephony stack).
        assert_eq!(ulaw_to_linear(0xFF), 0);
        assert_eq!(ulaw_to_linear(0x7F), 0);
        assert_eq!(ulaw_to_linear(0x00), -32124);
        assert_eq!(ulaw_to_linear(0x80), 32124);
        assert_eq!(ulaw_to_linear(0xF0), 120);
        assert_eq!(ulaw_to_linear(0x70), -120);
    }

    #[test]
    fn a_law_matches_the_standard_table() {
        assert_eq!(alaw_to_linear(0xD5), 8);
        assert_eq!(alaw_to_linear(0x55), -8);
        assert_eq!(alaw_to_linear(0xAA), 32256);
        assert_eq!(alaw_to_linear(0x2A), -32256);
    }

    #[test]
    fn decoding_is_monotonic_in_magnitude() {
        // Within one sign, larger codes (after the inversion the laws apply) are louder.
        let mut last = -1;
        for code in (0x80..=0xFFu8).rev() {
            let v = ulaw_to_linear(code);
            assert!(i32::from(v) >= last, "{code:#x}");
            last = i32::from(v);
        }
    }
}
