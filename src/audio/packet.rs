//! Structural validation of Opus packets (RFC 6716 §3.1–3.4) before they reach the decoder.
//!
//! The decoder is C code; everything it is handed has passed these checks first.

use thiserror::Error;

/// Largest coded frame RFC 6716 allows (R2).
const MAX_FRAME_BYTES: usize = 1275;
/// Longest packet RFC 6716 allows, in microseconds (R5).
const MAX_PACKET_US: u32 = 120_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketInfo {
    /// TOC configuration number (0–31).
    pub config: u8,
    /// Number of frames in the packet.
    pub frames: u8,
    /// Duration of each frame in microseconds.
    pub frame_us: u32,
}

impl PacketInfo {
    pub fn duration_us(&self) -> u32 {
        self.frame_us * u32::from(self.frames)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PacketError {
    #[error("empty packet (R1)")]
    Empty,
    #[error("frame longer than 1275 bytes (R2)")]
    FrameTooLong,
    #[error("code 1 packet with odd payload length (R3)")]
    OddCbrPair,
    #[error("frame length exceeds the packet (R4/R7)")]
    Truncated,
    #[error("code 3 packet with zero frames or over 120 ms (R5)")]
    BadFrameCount,
    #[error("code 3 CBR payload not divisible by frame count (R6)")]
    UnevenCbr,
    #[error("packet lasts {0} µs; this stream carries 20 ms packets")]
    WrongDuration(u32),
}

/// Frame duration in µs for a TOC configuration number (RFC 6716 Table 2).
fn frame_us(config: u8) -> u32 {
    match config {
        0..=11 => [10_000, 20_000, 40_000, 60_000][usize::from(config % 4)],
        12..=15 => [10_000, 20_000][usize::from(config % 2)],
        _ => [2_500, 5_000, 10_000, 20_000][usize::from(config % 4)],
    }
}

/// Reads a frame length (§3.2.1); returns (length, bytes used).
fn frame_length(bytes: &[u8]) -> Result<(usize, usize), PacketError> {
    match bytes {
        [] => Err(PacketError::Truncated),
        [b0, ..] if *b0 < 252 => Ok((usize::from(*b0), 1)),
        [b0, b1, ..] => Ok((usize::from(*b1) * 4 + usize::from(*b0), 2)),
        [_] => Err(PacketError::Truncated),
    }
}

/// Checks a packet against the requirements R1–R7 of RFC 6716 §3.4.
pub fn inspect(packet: &[u8]) -> Result<PacketInfo, PacketError> {
    let (&toc, rest) = packet.split_first().ok_or(PacketError::Empty)?;
    let config = toc >> 3;
    let frame_us = frame_us(config);
    let frames = match toc & 0b11 {
        0 => {
            if rest.len() > MAX_FRAME_BYTES {
                return Err(PacketError::FrameTooLong);
            }
            1
        }
        1 => {
            if rest.len() % 2 != 0 {
                return Err(PacketError::OddCbrPair);
            }
            if rest.len() / 2 > MAX_FRAME_BYTES {
                return Err(PacketError::FrameTooLong);
            }
            2
        }
        2 => {
            let (first, used) = frame_length(rest)?;
            let remaining = rest.len() - used;
            if first > remaining {
                return Err(PacketError::Truncated);
            }
            if remaining - first > MAX_FRAME_BYTES {
                return Err(PacketError::FrameTooLong);
            }
            2
        }
        _ => code3_frames(rest, frame_us)?,
    };
    Ok(PacketInfo {
        config,
        frames,
        frame_us,
    })
}

/// Validates a code 3 packet body (after the TOC byte) and returns its frame count.
fn code3_frames(rest: &[u8], frame_us: u32) -> Result<u8, PacketError> {
    let (&fc, mut body) = rest.split_first().ok_or(PacketError::Truncated)?;
    let vbr = fc & 0x80 != 0;
    let padded = fc & 0x40 != 0;
    let count = fc & 0x3f;
    if count == 0 || u32::from(count) * frame_us > MAX_PACKET_US {
        return Err(PacketError::BadFrameCount);
    }
    let mut padding = 0usize;
    if padded {
        loop {
            let (&p, tail) = body.split_first().ok_or(PacketError::Truncated)?;
            body = tail;
            padding += if p == 255 { 254 } else { usize::from(p) };
            if p != 255 {
                break;
            }
        }
    }
    let mut payload = body
        .len()
        .checked_sub(padding)
        .ok_or(PacketError::Truncated)?;
    if vbr {
        let mut offset = 0;
        for _ in 0..count - 1 {
            let (len, used) = frame_length(&body[offset..])?;
            offset += used;
            payload = payload.checked_sub(used).ok_or(PacketError::Truncated)?;
            if len > MAX_FRAME_BYTES {
                return Err(PacketError::FrameTooLong);
            }
            payload = payload.checked_sub(len).ok_or(PacketError::Truncated)?;
        }
        if payload > MAX_FRAME_BYTES {
            return Err(PacketError::FrameTooLong);
        }
    } else {
        if payload % usize::from(count) != 0 {
            return Err(PacketError::UnevenCbr);
        }
        if payload / usize::from(count) > MAX_FRAME_BYTES {
            return Err(PacketError::FrameTooLong);
        }
    }
    Ok(count)
}

/// Validates a packet for this protocol: RFC 6716 valid and exactly 20 ms long.
pub fn check_20ms(packet: &[u8]) -> Result<PacketInfo, PacketError> {
    let info = inspect(packet)?;
    match info.duration_us() {
        20_000 => Ok(info),
        other => Err(PacketError::WrongDuration(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code0_20ms_silk_wideband_is_accepted() {
        // config 9 = SILK WB 20 ms, code 0.
        let p = [9 << 3, 1, 2, 3];
        let info = check_20ms(&p).unwrap();
        assert_eq!(info.frames, 1);
        assert_eq!(info.duration_us(), 20_000);
    }

    #[test]
    fn empty_and_oversized_frames_are_rejected() {
        assert_eq!(inspect(&[]), Err(PacketError::Empty));
        let mut big = vec![9 << 3];
        big.extend(std::iter::repeat_n(0u8, 1276));
        assert_eq!(inspect(&big), Err(PacketError::FrameTooLong));
    }

    #[test]
    fn code1_needs_even_payload() {
        // config 31 = CELT FB 20 ms; two 20 ms frames = 40 ms.
        assert_eq!(
            inspect(&[(31 << 3) | 1, 1, 2, 3]),
            Err(PacketError::OddCbrPair)
        );
        // config 30 = CELT FB 10 ms: two frames = 20 ms, accepted.
        assert!(check_20ms(&[(30 << 3) | 1, 1, 2]).is_ok());
    }

    #[test]
    fn code2_first_length_must_fit() {
        assert_eq!(
            inspect(&[(30 << 3) | 2, 10, 1, 2]),
            Err(PacketError::Truncated)
        );
        assert!(inspect(&[(30 << 3) | 2, 1, 1, 2]).is_ok());
        // Two-byte length: 252 + 4*1 = 256 > available.
        assert_eq!(
            inspect(&[(30 << 3) | 2, 252, 1, 0]),
            Err(PacketError::Truncated)
        );
    }

    #[test]
    fn code3_frame_count_rules() {
        // Zero frames.
        assert_eq!(
            inspect(&[(31 << 3) | 3, 0]),
            Err(PacketError::BadFrameCount)
        );
        // 7 × 20 ms = 140 ms > 120 ms.
        assert_eq!(
            inspect(&[(31 << 3) | 3, 7]),
            Err(PacketError::BadFrameCount)
        );
        // CBR, 2 frames of 10 ms, 3 payload bytes: uneven.
        assert_eq!(
            inspect(&[(30 << 3) | 3, 2, 1, 2, 3]),
            Err(PacketError::UnevenCbr)
        );
        // CBR, 2 frames, 4 bytes: fine, 20 ms.
        assert!(check_20ms(&[(30 << 3) | 3, 2, 1, 2, 3, 4]).is_ok());
        // Padding longer than the packet.
        assert_eq!(
            inspect(&[(30 << 3) | 3, 0x40 | 2, 10, 1, 2]),
            Err(PacketError::Truncated)
        );
        // VBR with a declared length beyond the packet.
        assert_eq!(
            inspect(&[(30 << 3) | 3, 0x80 | 2, 9, 1]),
            Err(PacketError::Truncated)
        );
        assert!(check_20ms(&[(30 << 3) | 3, 0x80 | 2, 1, 7, 8, 9]).is_ok());
    }

    #[test]
    fn wrong_duration_is_rejected() {
        // config 11 = SILK WB 60 ms.
        assert_eq!(
            check_20ms(&[11 << 3, 1]),
            Err(PacketError::WrongDuration(60_000))
        );
    }
}
