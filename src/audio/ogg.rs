//! Ogg (RFC 3533) demultiplexing of one Opus stream (RFC 7845), fed as bytes arrive: how a TTS
//! vendor's `audio/ogg` answer becomes Opus packets the interviewer's voice can pass through.
//!
//! Every page's CRC is checked; the `OpusHead` and `OpusTags` headers are read, not passed on.
//! One logical stream at a time (a new stream's first page starts over; pages of another stream
//! in between are refused).

use bytes::Bytes;
use thiserror::Error;

/// Largest Opus packet RFC 6716 allows (120 ms of 1275-byte frames), with headers' room.
const MAX_PACKET_BYTES: usize = 64 * 1024;
/// Fixed part of a page header, before its segment table.
const HEADER: usize = 27;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OggError {
    #[error("not an Ogg page (no capture pattern)")]
    NotOgg,
    #[error("Ogg page version {0} (only 0 exists)")]
    Version(u8),
    #[error("Ogg page CRC mismatch")]
    Crc,
    #[error("the stream is not Opus (no OpusHead)")]
    NotOpus,
    #[error("Opus channel mapping family {0} with {1} channels is not supported")]
    Channels(u8, u8),
    #[error("a packet longer than {MAX_PACKET_BYTES} bytes")]
    PacketTooLong,
    #[error("pages of a second logical stream")]
    Interleaved,
    #[error("the stream ended inside a page or packet")]
    Truncated,
}

/// What `OpusHead` says about the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpusHead {
    pub channels: u8,
    /// Samples (at 48 kHz) the decoder drops at the start.
    pub pre_skip: u16,
    /// The encoder's input rate (informational: Opus decodes at any rate).
    pub input_rate: u32,
}

/// Incremental Ogg Opus demuxer.
#[derive(Default)]
pub struct OggOpus {
    buf: Vec<u8>,
    packet: Vec<u8>,
    serial: Option<u32>,
    /// Header packets read in the current stream (0: expects OpusHead, 1: OpusTags, 2: audio).
    headers: u8,
    head: Option<OpusHead>,
}

impl OggOpus {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn head(&self) -> Option<OpusHead> {
        self.head
    }

    /// Adds bytes; appends every audio packet they complete to `packets`.
    pub fn push(&mut self, bytes: &[u8], packets: &mut Vec<Bytes>) -> Result<(), OggError> {
        self.buf.extend_from_slice(bytes);
        let mut at = 0;
        while let Some(len) = self.page_len(&self.buf[at..])? {
            let page = std::mem::take(&mut self.buf);
            let result = self.page(&page[at..at + len], packets);
            self.buf = page;
            result?;
            at += len;
        }
        self.buf.drain(..at);
        Ok(())
    }

    /// The response ended: anything left over is a truncated stream.
    pub fn finish(&self) -> Result<(), OggError> {
        if self.buf.is_empty() && self.packet.is_empty() && self.headers >= 2 {
            Ok(())
        } else if self.headers < 2 && self.buf.is_empty() && self.packet.is_empty() {
            Err(OggError::NotOpus)
        } else {
            Err(OggError::Truncated)
        }
    }

    /// The length of the complete page at the start of `b`, if all of it is there.
    fn page_len(&self, b: &[u8]) -> Result<Option<usize>, OggError> {
        if b.len() < 4 {
            return if b.iter().zip(b"OggS").all(|(x, y)| x == y) {
                Ok(None)
            } else {
                Err(OggError::NotOgg)
            };
        }
        if &b[..4] != b"OggS" {
            return Err(OggError::NotOgg);
        }
        if b.len() < HEADER {
            return Ok(None);
        }
        if b[4] != 0 {
            return Err(OggError::Version(b[4]));
        }
        let segments = usize::from(b[26]);
        if b.len() < HEADER + segments {
            return Ok(None);
        }
        let body: usize = b[HEADER..HEADER + segments]
            .iter()
            .map(|&s| usize::from(s))
            .sum();
        let len = HEADER + segments + body;
        Ok((b.len() >= len).then_some(len))
    }

    fn page(&mut self, page: &[u8], packets: &mut Vec<Bytes>) -> Result<(), OggError> {
        if !crc_ok(page) {
            return Err(OggError::Crc);
        }
        let flags = page[5];
        let serial = u32::from_le_bytes([page[14], page[15], page[16], page[17]]);
        if flags & 0x02 != 0 {
            // Beginning of a stream (a chained stream starts over).
            self.serial = Some(serial);
            self.headers = 0;
            self.packet.clear();
        } else if self.serial != Some(serial) {
            return Err(OggError::Interleaved);
        }
        if flags & 0x01 == 0 {
            // Not a continuation: a packet left open on the previous page was cut short.
            self.packet.clear();
        }
        let segments = usize::from(page[26]);
        let mut body = &page[HEADER + segments..];
        for &lace in &page[HEADER..HEADER + segments] {
            let (data, rest) = body.split_at(usize::from(lace));
            body = rest;
            if self.packet.len() + data.len() > MAX_PACKET_BYTES {
                return Err(OggError::PacketTooLong);
            }
            self.packet.extend_from_slice(data);
            if lace < 255 {
                let packet = std::mem::take(&mut self.packet);
                self.packet_done(packet, packets)?;
            }
        }
        Ok(())
    }

    fn packet_done(&mut self, packet: Vec<u8>, packets: &mut Vec<Bytes>) -> Result<(), OggError> {
        match self.headers {
            0 => {
                if packet.len() < 19 || &packet[..8] != b"OpusHead" {
                    return Err(OggError::NotOpus);
                }
                let channels = packet[9];
                let mapping = packet[18];
                if mapping != 0 || !(1..=2).contains(&channels) {
                    return Err(OggError::Channels(mapping, channels));
                }
                self.head = Some(OpusHead {
                    channels,
                    pre_skip: u16::from_le_bytes([packet[10], packet[11]]),
                    input_rate: u32::from_le_bytes([
                        packet[12], packet[13], packet[14], packet[15],
                    ]),
                });
                self.headers = 1;
            }
            1 => self.headers = 2, // OpusTags: nothing the voice needs.
            _ => {
                if !packet.is_empty() {
                    packets.push(Bytes::from(packet));
                }
            }
        }
        Ok(())
    }
}

/// Ogg's CRC-32 (polynomial 0x04C11DB7, not reflected, initial 0) over a page whose CRC field
/// counts as zero.
fn crc(page: &[u8]) -> u32 {
    let mut c = 0u32;
    for (i, &b) in page.iter().enumerate() {
        let b = if (22..26).contains(&i) { 0 } else { b };
        c = (c << 8) ^ CRC_TABLE[usize::from((c >> 24) as u8 ^ b)];
    }
    c
}

const CRC_TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut r = (i as u32) << 24;
        let mut j = 0;
        while j < 8 {
            r = if r & 0x8000_0000 != 0 {
                (r << 1) ^ 0x04c1_1db7
            } else {
                r << 1
            };
            j += 1;
        }
        t[i] = r;
        i += 1;
    }
    t
};

/// Whether a whole page's stored CRC is right.
pub(crate) fn crc_ok(page: &[u8]) -> bool {
    page.len() >= HEADER && crc(page).to_le_bytes() == page[22..26]
}

/// One page holding whole `packets` (each under 64 KiB; at most 255 lacing values in all),
/// CRC set: what the recordings write, and what the tests feed the demuxer.
pub(crate) fn page(serial: u32, seq: u32, flags: u8, granule: u64, packets: &[&[u8]]) -> Vec<u8> {
    let mut lacing = Vec::new();
    for p in packets {
        let mut n = p.len();
        while n >= 255 {
            lacing.push(255u8);
            n -= 255;
        }
        lacing.push(n as u8);
    }
    assert!(lacing.len() <= 255, "too many packets on one page");
    let body: usize = packets.iter().map(|p| p.len()).sum();
    let mut page = Vec::with_capacity(HEADER + lacing.len() + body);
    page.extend_from_slice(b"OggS");
    page.push(0);
    page.push(flags);
    page.extend_from_slice(&granule.to_le_bytes());
    page.extend_from_slice(&serial.to_le_bytes());
    page.extend_from_slice(&seq.to_le_bytes());
    page.extend_from_slice(&[0; 4]);
    page.push(lacing.len() as u8);
    page.extend_from_slice(&lacing);
    for p in packets {
        page.extend_from_slice(p);
    }
    let c = crc(&page);
    page[22..26].copy_from_slice(&c.to_le_bytes());
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(channels: u8) -> Vec<u8> {
        let mut h = b"OpusHead".to_vec();
        h.extend_from_slice(&[1, channels]);
        h.extend_from_slice(&312u16.to_le_bytes());
        h.extend_from_slice(&24_000u32.to_le_bytes());
        h.extend_from_slice(&[0, 0, 0]);
        h
    }

    fn stream(audio: &[Vec<u8>]) -> Vec<u8> {
        let mut s = page(7, 0, 0x02, 0, &[&head(1)]);
        s.extend(page(7, 1, 0, 0, &[b"OpusTags\0\0\0\0\0\0\0\0"]));
        let refs: Vec<&[u8]> = audio.iter().map(|p| p.as_slice()).collect();
        s.extend(page(7, 2, 0x04, 960 * audio.len() as u64, &refs));
        s
    }

    #[test]
    fn crc_of_ogg_s() {
        // The CRC of "OggS" with Ogg's parameters (no reflection, initial 0; too short to have
        // the page's CRC field, which `crc` counts as zero).
        assert_eq!(crc(b"OggS"), 0x5fb0_a94f);
    }

    #[test]
    fn crc_matches_the_reference_value() {
        // Ogg's parameters are CRC-32/CKSUM's without its final inversion: the catalogue's
        // check value 0x765E7680, inverted.
        assert_eq!(crc(b"123456789"), 0x89A1_897F);
    }

    #[test]
    fn packets_come_out_whatever_the_byte_boundaries() {
        // A packet over 255 bytes is laced across segments.
        let audio = vec![
            vec![0x48; 40],
            vec![0x49; 300],
            vec![0x4a; 255],
            vec![0x4b; 3],
        ];
        let bytes = stream(&audio);
        for piece in [1, 2, 7, 27, 100, bytes.len()] {
            let mut d = OggOpus::new();
            let mut out = Vec::new();
            for chunk in bytes.chunks(piece) {
                d.push(chunk, &mut out).unwrap();
            }
            d.finish().unwrap();
            let got: Vec<Vec<u8>> = out.iter().map(|b| b.to_vec()).collect();
            assert_eq!(got, audio, "pieces of {piece}");
            assert_eq!(
                d.head(),
                Some(OpusHead {
                    channels: 1,
                    pre_skip: 312,
                    input_rate: 24_000
                })
            );
        }
    }

    #[test]
    fn a_packet_continued_on_the_next_page_is_joined() {
        let mut s = page(9, 0, 0x02, 0, &[&head(1)]);
        s.extend(page(9, 1, 0, 0, &[b"OpusTags"]));
        // 300 bytes: 255 on one page (a lacing value of 255 leaves it open), 45 on the next.
        let mut first = page(9, 2, 0, 0, &[&[0x48; 255][..]]);
        // page() closes every packet with a final lace; drop that lace (the 0) to leave it open.
        first[26] = 1;
        first.remove(HEADER + 1);
        let c = crc(&first);
        first[22..26].copy_from_slice(&c.to_le_bytes());
        s.extend(first);
        s.extend(page(9, 3, 0x01, 0, &[&[0x48; 45][..]]));
        let mut d = OggOpus::new();
        let mut out = Vec::new();
        d.push(&s, &mut out).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].len(), 300);
    }

    #[test]
    fn bad_streams_are_refused_with_a_reason() {
        let mut out = Vec::new();
        assert_eq!(
            OggOpus::new().push(b"RIFF....", &mut out),
            Err(OggError::NotOgg)
        );
        let mut bytes = stream(&[vec![0x48; 10]]);
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        assert_eq!(OggOpus::new().push(&bytes, &mut out), Err(OggError::Crc));
        let vorbis = page(1, 0, 0x02, 0, &[b"\x01vorbis\0\0\0\0\x01\0\0\0\0\0\0\0\0"]);
        assert_eq!(
            OggOpus::new().push(&vorbis, &mut out),
            Err(OggError::NotOpus)
        );
        let surround = page(1, 0, 0x02, 0, &[&head(6)]);
        assert_eq!(
            OggOpus::new().push(&surround, &mut out),
            Err(OggError::Channels(0, 6))
        );
        let mut other = stream(&[]);
        other.extend(page(8, 0, 0, 0, &[b"x"]));
        assert_eq!(
            OggOpus::new().push(&other, &mut out),
            Err(OggError::Interleaved)
        );
        let whole = stream(&[vec![0x48; 10]]);
        let mut d = OggOpus::new();
        d.push(&whole[..whole.len() - 3], &mut out).unwrap();
        assert_eq!(d.finish(), Err(OggError::Truncated));
        assert_eq!(OggOpus::new().finish(), Err(OggError::NotOpus));
    }
}
