//! An Ogg Opus file (RFC 7845) from Opus packets already coded: the
//! identification header (`OpusHead`), the comment header (`OpusTags`),
//! then the audio, one logical bitstream, pages of about a second, each
//! page's granule position the 48 kHz sample count at its last packet's
//! end, and the page checksum of RFC 3533.
//!
//! Pure byte work: no codec. A packet's length in samples comes from its
//! table-of-contents byte (RFC 6716 §3.1), so any frame size is placed right.

/// The samples libopus's encoder delays its output by at 48 kHz (its
/// lookahead, 6.5 ms): the decoder drops them at the start (RFC 7845 §4.2).
pub const PRE_SKIP: u16 = 312;

/// Most packets in a page before it is closed (about a second of 20 ms frames).
const PAGE_PACKETS: usize = 50;

/// Samples per second of every Ogg Opus granule position.
pub const GRANULE_RATE: u64 = 48_000;

/// Length of an Opus packet in 48 kHz samples, from its TOC byte and, for
/// code 3, its frame count byte (RFC 6716 §3.1, §3.2.5). None for a packet
/// that is empty or malformed.
pub fn packet_samples(packet: &[u8]) -> Option<u32> {
    let toc = *packet.first()?;
    let config = toc >> 3;
    // Frame length in 48 kHz samples per configuration (RFC 6716 table 2).
    let frame = match config {
        // SILK-only: 10, 20, 40, 60 ms.
        0..=11 => [480, 960, 1920, 2880][usize::from(config % 4)],
        // Hybrid: 10, 20 ms.
        12..=15 => [480, 960][usize::from(config % 2)],
        // CELT-only: 2.5, 5, 10, 20 ms.
        _ => [120, 240, 480, 960][usize::from(config % 4)],
    };
    let frames = match toc & 0b11 {
        0 => 1,
        1 | 2 => 2,
        _ => u32::from(*packet.get(1)? & 0b0011_1111),
    };
    let total = frame * frames;
    // A packet holds at least one frame and at most 120 ms.
    (frames > 0 && total <= 5760).then_some(total)
}

/// What the comment header says.
#[derive(Debug, Clone)]
pub struct Tags {
    /// `TITLE`, `ARTIST`, … as `NAME=value` (RFC 7845 §5.2).
    pub comments: Vec<String>,
}

/// Writes Ogg Opus for a mono stream originally sampled at `input_rate`.
/// Packets that are not valid Opus are refused with their index.
pub fn write(
    packets: &[&[u8]],
    input_rate: u32,
    serial: u32,
    tags: &Tags,
) -> Result<Vec<u8>, usize> {
    let mut out = Vec::new();
    let mut page = PageWriter {
        serial,
        sequence: 0,
    };

    let mut head = Vec::with_capacity(19);
    head.extend_from_slice(b"OpusHead");
    head.push(1); // version
    head.push(1); // channels
    head.extend_from_slice(&PRE_SKIP.to_le_bytes());
    head.extend_from_slice(&input_rate.to_le_bytes());
    head.extend_from_slice(&0i16.to_le_bytes()); // output gain
    head.push(0); // channel mapping family: mono/stereo
    page.write(&mut out, &[&head], 0, BOS);

    let mut comment = Vec::new();
    comment.extend_from_slice(b"OpusTags");
    let vendor = concat!("Candor ", env!("CARGO_PKG_VERSION"));
    comment.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
    comment.extend_from_slice(vendor.as_bytes());
    comment.extend_from_slice(&(tags.comments.len() as u32).to_le_bytes());
    for c in &tags.comments {
        comment.extend_from_slice(&(c.len() as u32).to_le_bytes());
        comment.extend_from_slice(c.as_bytes());
    }
    page.write(&mut out, &[&comment], 0, 0);

    let mut granule: u64 = 0;
    let chunks: Vec<&[&[u8]]> = packets.chunks(PAGE_PACKETS).collect();
    if chunks.is_empty() {
        // No audio: an empty last page ends the stream.
        page.write(&mut out, &[], 0, EOS);
        return Ok(out);
    }
    for (n, chunk) in chunks.iter().enumerate() {
        for (i, p) in chunk.iter().enumerate() {
            let samples = packet_samples(p).ok_or(n * PAGE_PACKETS + i)?;
            granule += u64::from(samples);
        }
        let last = n + 1 == chunks.len();
        page.write(&mut out, chunk, granule, if last { EOS } else { 0 });
    }
    Ok(out)
}

/// Playing length of `packets` once written: all their samples less the pre-skip.
pub fn duration_samples(packets: &[&[u8]]) -> u64 {
    let all: u64 = packets
        .iter()
        .filter_map(|p| packet_samples(p))
        .map(u64::from)
        .sum();
    all.saturating_sub(u64::from(PRE_SKIP))
}

const BOS: u8 = 0x02;
const EOS: u8 = 0x04;

struct PageWriter {
    serial: u32,
    sequence: u32,
}

impl PageWriter {
    /// One page holding whole `packets` (each at most 255 × 255 bytes, and
    /// together at most 255 lacing values: Opus packets are ≤ 1275 bytes
    /// and pages hold [`PAGE_PACKETS`]).
    fn write(&mut self, out: &mut Vec<u8>, packets: &[&[u8]], granule: u64, flags: u8) {
        let mut lacing = Vec::new();
        for p in packets {
            let mut left = p.len();
            while left >= 255 {
                lacing.push(255u8);
                left -= 255;
            }
            lacing.push(left as u8);
        }
        assert!(lacing.len() <= 255, "a page holds at most 255 segments");
        let start = out.len();
        out.extend_from_slice(b"OggS");
        out.push(0); // stream structure version
        out.push(flags);
        out.extend_from_slice(&granule.to_le_bytes());
        out.extend_from_slice(&self.serial.to_le_bytes());
        out.extend_from_slice(&self.sequence.to_le_bytes());
        out.extend_from_slice(&[0; 4]); // checksum, set below
        out.push(lacing.len() as u8);
        out.extend_from_slice(&lacing);
        for p in packets {
            out.extend_from_slice(p);
        }
        let crc = crc32(&out[start..]);
        out[start + 22..start + 26].copy_from_slice(&crc.to_le_bytes());
        self.sequence += 1;
    }
}

/// Ogg's CRC-32: polynomial 0x04c11db7, MSB first, no reflection, initial
/// value and final XOR 0 (RFC 3533 §6), over the page with its checksum
/// field zero.
fn crc32(bytes: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, entry) in t.iter_mut().enumerate() {
            let mut r = (i as u32) << 24;
            for _ in 0..8 {
                r = if r & 0x8000_0000 != 0 {
                    (r << 1) ^ 0x04c1_1db7
                } else {
                    r << 1
                };
            }
            *entry = r;
        }
        t
    });
    bytes.iter().fold(0u32, |crc, &b| {
        (crc << 8) ^ table[((crc >> 24) as u8 ^ b) as usize]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packet_lengths_follow_the_toc() {
        // SILK wideband 20 ms (config 9), one frame.
        assert_eq!(packet_samples(&[9 << 3, 0xaa]), Some(960));
        // CELT fullband 20 ms (config 31), two frames (code 1).
        assert_eq!(packet_samples(&[(31 << 3) | 1, 0]), Some(1920));
        // Hybrid 10 ms (config 12), code 3 with 3 frames.
        assert_eq!(packet_samples(&[(12 << 3) | 3, 3]), Some(1440));
        // SILK 60 ms × 3 frames = 180 ms: more than a packet may hold.
        assert_eq!(packet_samples(&[(3 << 3) | 3, 3]), None);
        assert_eq!(packet_samples(&[]), None);
        assert_eq!(
            packet_samples(&[(12 << 3) | 3]),
            None,
            "code 3 needs its count byte"
        );
    }

    #[test]
    fn the_checksum_is_ogg_s() {
        // The reference value of the CRC-32/MPEG-2 family without its
        // initial value and final XOR (CRC-32/BZIP2 with init 0, no xorout)
        // for "123456789" is 0x89a1897f.
        assert_eq!(crc32(b"123456789"), 0x89a1_897f);
    }

    #[test]
    fn headers_pages_and_granules() {
        let packet = [9u8 << 3, 1, 2, 3];
        let packets: Vec<&[u8]> = vec![&packet; 120];
        let tags = Tags {
            comments: vec!["TITLE=Test".into()],
        };
        let file = write(&packets, 16_000, 7, &tags).unwrap();
        assert!(file.starts_with(b"OggS"));
        // Pages: head, tags, then 50 + 50 + 20 packets.
        let pages: Vec<usize> = file
            .windows(4)
            .enumerate()
            .filter(|(_, w)| *w == b"OggS")
            .map(|(i, _)| i)
            .collect();
        assert_eq!(pages.len(), 5);
        let granule = |at: usize| u64::from_le_bytes(file[at + 6..at + 14].try_into().unwrap());
        assert_eq!(granule(pages[2]), 50 * 960);
        assert_eq!(granule(pages[4]), 120 * 960);
        assert_eq!(file[pages[0] + 5], BOS);
        assert_eq!(file[pages[4] + 5], EOS);
        assert_eq!(duration_samples(&packets), 120 * 960 - 312);
        let bad: Vec<&[u8]> = vec![&packet, &[]];
        assert_eq!(write(&bad, 16_000, 7, &tags), Err(1));
    }
}
