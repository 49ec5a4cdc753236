//! Ogg Opus files (RFC 7845) written a packet at a time: the `OpusHead` and `OpusTags` pages,
//! then pages of about a second of 20 ms packets, the last one marked end-of-stream. And the
//! reading back the tests and the API need (packets, duration).

use std::io::Write;

/// 20 ms at 48 kHz: what each packet adds to the granule position.
pub const SAMPLES_PER_PACKET: u64 = 960;
/// Packets per page (one second).
const PACKETS_PER_PAGE: usize = 50;

/// Writes one Ogg Opus stream (mono, 48 kHz) to `out`.
pub struct OggOpusWriter<W: Write> {
    out: W,
    serial: u32,
    page_seq: u32,
    granule: u64,
    pending: Vec<Vec<u8>>,
}

impl<W: Write> OggOpusWriter<W> {
    /// Starts the stream: the identification and comment headers, each on its own page.
    pub fn new(mut out: W, serial: u32) -> std::io::Result<Self> {
        let mut head = Vec::with_capacity(19);
        head.extend_from_slice(b"OpusHead");
        head.push(1); // version
        head.push(1); // channels
        head.extend_from_slice(&0u16.to_le_bytes()); // pre-skip: the packets are stored as sent
        head.extend_from_slice(&48_000u32.to_le_bytes());
        head.extend_from_slice(&0i16.to_le_bytes()); // output gain
        head.push(0); // mapping family
        let vendor = b"viva";
        let mut tags = Vec::new();
        tags.extend_from_slice(b"OpusTags");
        tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
        tags.extend_from_slice(vendor);
        tags.extend_from_slice(&0u32.to_le_bytes());
        write_page(&mut out, serial, 0, 0x02, 0, &[&head])?;
        write_page(&mut out, serial, 1, 0, 0, &[&tags])?;
        Ok(Self {
            out,
            serial,
            page_seq: 2,
            granule: 0,
            pending: Vec::with_capacity(PACKETS_PER_PAGE),
        })
    }

    /// Adds one 20 ms packet.
    pub fn push(&mut self, packet: &[u8]) -> std::io::Result<()> {
        self.pending.push(packet.to_vec());
        self.granule += SAMPLES_PER_PACKET;
        if self.pending.len() >= PACKETS_PER_PAGE {
            self.flush_page(0)?;
        }
        Ok(())
    }

    /// Audio written so far, in milliseconds.
    pub fn duration_ms(&self) -> u64 {
        self.granule / 48
    }

    fn flush_page(&mut self, flags: u8) -> std::io::Result<()> {
        let packets: Vec<&[u8]> = self.pending.iter().map(Vec::as_slice).collect();
        write_page(
            &mut self.out,
            self.serial,
            self.page_seq,
            flags,
            self.granule,
            &packets,
        )?;
        self.page_seq += 1;
        self.pending.clear();
        Ok(())
    }

    /// Ends the stream (the last page says so) and hands the output back.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.flush_page(0x04)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// One page holding whole `packets` (the page format: `audio::ogg`).
fn write_page(
    out: &mut impl Write,
    serial: u32,
    seq: u32,
    flags: u8,
    granule: u64,
    packets: &[&[u8]],
) -> std::io::Result<()> {
    out.write_all(&crate::audio::ogg::page(
        serial, seq, flags, granule, packets,
    ))
}

/// What an Ogg Opus file holds: its audio packets (headers left out) and its duration.
#[derive(Debug, Default, PartialEq)]
pub struct OggContents {
    pub packets: Vec<Vec<u8>>,
    pub duration_ms: u64,
}

/// Reads an Ogg Opus file, checking every page's CRC.
pub fn read(bytes: &[u8]) -> Result<OggContents, String> {
    let mut at = 0;
    let mut packets: Vec<Vec<u8>> = Vec::new();
    let mut partial: Vec<u8> = Vec::new();
    let mut granule = 0;
    while at < bytes.len() {
        let page = &bytes[at..];
        if page.len() < 27 || &page[..4] != b"OggS" {
            return Err(format!("no page at byte {at}"));
        }
        let segments = page[26] as usize;
        let lacing = page.get(27..27 + segments).ok_or("truncated page header")?;
        let body_len: usize = lacing.iter().map(|&l| l as usize).sum();
        let len = 27 + segments + body_len;
        let whole = page.get(..len).ok_or("truncated page")?;
        if !crate::audio::ogg::crc_ok(whole) {
            return Err(format!("bad CRC on the page at byte {at}"));
        }
        granule = u64::from_le_bytes(whole[6..14].try_into().expect("8 bytes"));
        let mut body = &whole[27 + segments..];
        for &l in lacing {
            partial.extend_from_slice(&body[..l as usize]);
            body = &body[l as usize..];
            if l < 255 {
                packets.push(std::mem::take(&mut partial));
            }
        }
        at += len;
    }
    if packets.len() < 2
        || !packets[0].starts_with(b"OpusHead")
        || !packets[1].starts_with(b"OpusTags")
    {
        return Err("not an Ogg Opus stream".into());
    }
    packets.drain(..2);
    Ok(OggContents {
        packets,
        duration_ms: granule / 48,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_written_reads_back_with_its_duration_and_checked_pages() {
        let packets: Vec<Vec<u8>> = (0..120u8).map(|i| vec![0xf8, i, i ^ 0x55]).collect();
        let mut w = OggOpusWriter::new(Vec::new(), 7).unwrap();
        for p in &packets {
            w.push(p).unwrap();
        }
        assert_eq!(w.duration_ms(), 2400);
        let bytes = w.finish().unwrap();
        let back = read(&bytes).unwrap();
        assert_eq!(back.packets, packets);
        assert_eq!(back.duration_ms, 2400);
        // A flipped bit is caught.
        let mut bad = bytes.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(read(&bad).unwrap_err().contains("CRC"));
        assert!(read(b"RIFF....").is_err());
    }

    #[test]
    fn long_packets_are_laced_across_segments() {
        let big = vec![7u8; 600];
        let mut w = OggOpusWriter::new(Vec::new(), 1).unwrap();
        w.push(&big).unwrap();
        w.push(&[1, 2, 3]).unwrap();
        let back = read(&w.finish().unwrap()).unwrap();
        assert_eq!(back.packets, vec![big, vec![1, 2, 3]]);
    }
}
