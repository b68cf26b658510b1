//! The packed form of stored audio (the candidate's and the interviewer's):
//! one stored row per session per commit holds many frames (a row per 20 ms frame would cost an index
//! insert per frame). Each frame is seq (u64 LE), timestamp_us (u64 LE),
//! length (u32 LE), then its bytes. The length's top two bits are the
//! frame's [`FrameFlags`], set when they differ from a plain voice frame
//! (bit 31: the client said no voice; bit 30: muted), so rows written
//! before the flags were stored read as they were heard then. Every backend
//! stores the same bytes, so quotas (which count the packed length) agree
//! between them.

use super::{FrameFlags, StoreError, StoredFrame};

/// Bit 31 of the length: `voice_activity` was false.
const NO_VOICE: u32 = 1 << 31;
/// Bit 30 of the length: the microphone was muted.
const MUTED: u32 = 1 << 30;
/// The length itself (frames are at most 64 KiB).
const LEN: u32 = MUTED - 1;

/// Bytes a frame's header takes in the packed form.
pub(crate) const HEADER: usize = 20;

/// One session's row of a batch being written: first seq, last seq, the
/// packed frames.
pub(crate) type Row = (u64, u64, Vec<u8>);

/// Adds frame `seq` to the row `row` finds or starts.
pub(crate) fn add<'a>(
    row: impl FnOnce(Row) -> &'a mut Row,
    seq: u64,
    stamp_us: u64,
    flags: FrameFlags,
    data: &[u8],
) {
    let row = row((seq, seq, Vec::new()));
    row.1 = row.1.max(seq);
    pack(&mut row.2, seq, stamp_us, flags, data);
}

/// Appends one frame to a packed row.
pub(crate) fn pack(row: &mut Vec<u8>, seq: u64, timestamp_us: u64, flags: FrameFlags, data: &[u8]) {
    let mut len = data.len() as u32 & LEN;
    if !flags.voice_activity {
        len |= NO_VOICE;
    }
    if flags.muted {
        len |= MUTED;
    }
    row.extend_from_slice(&seq.to_le_bytes());
    row.extend_from_slice(&timestamp_us.to_le_bytes());
    row.extend_from_slice(&len.to_le_bytes());
    row.extend_from_slice(data);
}

/// Appends the frames of packed rows (in `first_seq` order) to `out`, each
/// seq once: rows never overlap, and if one ever did its first copy is kept.
pub(crate) fn unpack_into(out: &mut Vec<StoredFrame>, row: &[u8]) -> Result<(), StoreError> {
    let bad = || StoreError::Corrupt("audio row".into());
    let mut rest = row;
    while !rest.is_empty() {
        if rest.len() < HEADER {
            return Err(bad());
        }
        let seq = u64::from_le_bytes(rest[0..8].try_into().map_err(|_| bad())?);
        let timestamp_us = u64::from_le_bytes(rest[8..16].try_into().map_err(|_| bad())?);
        let word = u32::from_le_bytes(rest[16..20].try_into().map_err(|_| bad())?);
        let len = (word & LEN) as usize;
        let data = rest.get(HEADER..HEADER + len).ok_or_else(bad)?;
        if out.last().is_none_or(|last| seq > last.seq) {
            out.push(StoredFrame {
                seq,
                timestamp_us,
                flags: FrameFlags {
                    voice_activity: word & NO_VOICE == 0,
                    muted: word & MUTED != 0,
                },
                data: data.to_vec(),
            });
        }
        rest = &rest[HEADER + len..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_frames_read_back_once_each_and_truncation_is_corrupt() {
        let quiet = FrameFlags {
            voice_activity: false,
            muted: false,
        };
        let muted = FrameFlags {
            voice_activity: false,
            muted: true,
        };
        let mut row = Vec::new();
        pack(&mut row, 1, 20_000, FrameFlags::VOICE, b"ab");
        pack(&mut row, 2, 40_000, muted, b"");
        let mut again = Vec::new();
        pack(&mut again, 2, 40_000, FrameFlags::VOICE, b"dup");
        pack(&mut again, 3, 60_000, quiet, b"c");
        let mut out = Vec::new();
        unpack_into(&mut out, &row).unwrap();
        unpack_into(&mut out, &again).unwrap();
        let got: Vec<_> = out
            .iter()
            .map(|f| (f.seq, f.timestamp_us, f.flags, f.data.clone()))
            .collect();
        assert_eq!(
            got,
            [
                (1, 20_000, FrameFlags::VOICE, b"ab".to_vec()),
                (2, 40_000, muted, Vec::new()),
                (3, 60_000, quiet, b"c".to_vec())
            ]
        );
        // A plain voice frame packs as rows did before flags were stored.
        assert_eq!(&row[16..20], &2u32.to_le_bytes());
        assert!(matches!(
            unpack_into(&mut Vec::new(), &row[..row.len() - 1]),
            Err(StoreError::Corrupt(_))
        ));
    }
}
