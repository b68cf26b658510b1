//! Both voices of an interview on one timeline, so one file plays the
//! conversation as it was: the candidate's and the interviewer's audio
//! placed on the session clock.
//!
//! Coding 30 minutes of audio again takes tens of seconds, and most of an
//! interview has one voice at a time: [`conversation`] copies the packets of
//! whoever is speaking into the stream as they are (one Opus stream may
//! change rate and mode from packet to packet) and decodes, sums and codes
//! again only where both speak at once (a barge-in) — the candidate
//! speaking being what the server's voice activity found. Streams that are
//! not 20 ms Opus packets are mixed whole ([`mix`]).
//!
//! The mix streams in 20 ms steps (a 30-minute interview never sits in
//! memory as samples). A track's packet starts where the session clock puts
//! it, or right after the previous packet if that is later: packets never
//! overlap, and a gap between them (between the interviewer's turns) is
//! silence.

use std::collections::VecDeque;

use bytes::Bytes;
use candor_audio::Codec;
use candor_audio::codec::{AudioDecoder, FRAME_MS};

use super::ExportError;
use super::ogg_opus::packet_samples;
use crate::voice::StreamEncoder;

/// The packet length the copying path works in (ms): Candor's clients and
/// servers code 20 ms packets.
const SLOT_MS: u64 = 20;
/// How long before and after the candidate's detected speech the
/// interviewer's voice is mixed with theirs rather than replacing it (ms):
/// voice activity starts a little late and ends a little early.
const SPEECH_MARGIN_MS: u64 = 100;
/// Packets decoded before a mixed stretch, so that its first frame comes
/// out of a decoder in step (the codec's state carries across packets).
const PRE_ROLL_SLOTS: usize = 3;

/// One voice: its packets with their start on the session clock (ms), in
/// order, and how they are coded.
pub struct TrackSource<'a> {
    pub packets: Vec<(u64, &'a [u8])>,
    pub codec: Codec,
    /// The rate the packets were coded at (PCM16: the stream's rate).
    pub rate_hz: u32,
}

/// The rate both voices are mixed and coded at: the interviewer's PCM16
/// rate when it sends PCM16 (Opus decodes to any rate), else the higher of
/// the two.
fn mix_rate(tracks: &[&TrackSource<'_>]) -> u32 {
    tracks
        .iter()
        .find(|t| t.codec == Codec::Pcm16)
        .map(|t| t.rate_hz)
        .unwrap_or_else(|| tracks.iter().map(|t| t.rate_hz).max().unwrap_or(16_000))
}

/// A track being decoded onto the mix's timeline.
struct Track<'a> {
    packets: std::vec::IntoIter<(u64, &'a [u8])>,
    decoder: AudioDecoder,
    rate: u64,
    /// Decoded samples from `start` on.
    decoded: VecDeque<f32>,
    start: u64,
    scratch: Vec<f32>,
}

impl<'a> Track<'a> {
    fn new(source: TrackSource<'a>, rate: u32) -> Result<Self, ExportError> {
        let decoder = AudioDecoder::new(source.codec, rate).map_err(audio)?;
        let rate = u64::from(rate);
        // Nothing before the first packet is held (a stretch late in a
        // long interview starts there).
        let start = source.packets.first().map_or(0, |(ms, _)| ms * rate / 1000);
        Ok(Self {
            packets: source.packets.into_iter(),
            decoder,
            rate,
            decoded: VecDeque::new(),
            start,
            scratch: Vec::new(),
        })
    }

    /// Where the samples decoded so far end.
    fn end(&self) -> u64 {
        self.start + self.decoded.len() as u64
    }

    /// Adds this track's samples `at .. at + out.len()` to `out`; false once
    /// the track has nothing more from `at` on.
    fn add_to(&mut self, out: &mut [f32], at: u64) -> Result<bool, ExportError> {
        let until = at + out.len() as u64;
        while self.end() < until {
            let Some((ms, packet)) = self.packets.next() else {
                break;
            };
            let place = (ms * self.rate / 1000).max(self.end());
            let gap = (place - self.end()) as usize;
            self.decoded.extend(std::iter::repeat_n(0.0, gap));
            self.scratch.clear();
            self.decoder
                .decode(packet, &mut self.scratch)
                .map_err(audio)?;
            self.decoded.extend(self.scratch.iter().copied());
        }
        let behind = at.saturating_sub(self.start).min(self.decoded.len() as u64);
        self.decoded.drain(..behind as usize);
        self.start += behind;
        let offset = self.start.saturating_sub(at) as usize;
        for (o, s) in out.iter_mut().skip(offset).zip(self.decoded.iter()) {
            *o += s;
        }
        Ok(!self.decoded.is_empty() || self.packets.len() > 0)
    }
}

/// What one 20 ms slot of the conversation holds.
#[derive(Clone, Copy)]
enum Slot<'a> {
    /// One voice (or silence): its packet as it is.
    Copy(&'a [u8]),
    /// Both voices: decoded, summed, coded again.
    Mix,
}

/// A track's 20 ms packets in slots: each in the slot nearest its time on
/// the session clock, or the next free one.
fn slots<'a>(packets: &[(u64, &'a [u8])]) -> Vec<Option<&'a [u8]>> {
    let mut out: Vec<Option<&'a [u8]>> = Vec::with_capacity(packets.len());
    for &(ms, p) in packets {
        let slot = (((ms + SLOT_MS / 2) / SLOT_MS) as usize).max(out.len());
        out.resize(slot, None);
        out.push(Some(p));
    }
    out
}

/// Whether each of `n` slots falls within a stretch of `speech` (ms,
/// ordered by start), widened by [`SPEECH_MARGIN_MS`].
fn speaking(speech: &[(u64, u64)], n: usize) -> Vec<bool> {
    let mut out = vec![false; n];
    for &(from, to) in speech {
        let first = from.saturating_sub(SPEECH_MARGIN_MS) / SLOT_MS;
        let last = (to + SPEECH_MARGIN_MS).div_ceil(SLOT_MS);
        for s in out.iter_mut().take(last as usize).skip(first as usize) {
            *s = true;
        }
    }
    out
}

/// The conversation of `candidate` and `interviewer` as Opus packets, at
/// most a few percent of it coded again (see the module comment), with the
/// rate what is coded again is coded at; `speech` are the stretches (ms)
/// where the candidate spoke.
pub fn conversation(
    candidate: TrackSource<'_>,
    interviewer: TrackSource<'_>,
    speech: &[(u64, u64)],
) -> Result<(Vec<Bytes>, u32), ExportError> {
    let rate = mix_rate(&[&candidate, &interviewer]);
    let copyable = |t: &TrackSource<'_>| {
        t.codec == Codec::Opus
            && t.packets
                .iter()
                .all(|(_, p)| packet_samples(p) == Some(960))
    };
    if !copyable(&candidate) || !copyable(&interviewer) {
        return Ok((mix(vec![candidate, interviewer], rate)?, rate));
    }
    let c = slots(&candidate.packets);
    let i = slots(&interviewer.packets);
    let n = c.len().max(i.len());
    let talking = speaking(speech, n);
    let silence = crate::voice::encode_clip(Codec::Opus, rate, &vec![0.0; (rate / 50) as usize])
        .map_err(audio)?;
    let silence: &[u8] = silence.first().map_or(&[], |p| p.as_ref());
    let plan: Vec<Slot<'_>> = (0..n)
        .map(
            |k| match (c.get(k).copied().flatten(), i.get(k).copied().flatten()) {
                (_, Some(_)) if talking[k] => Slot::Mix,
                (_, Some(v)) => Slot::Copy(v),
                (Some(p), None) => Slot::Copy(p),
                (None, None) => Slot::Copy(silence),
            },
        )
        .collect();
    let mut out = Vec::with_capacity(n);
    let mut k = 0;
    while k < n {
        match plan[k] {
            Slot::Copy(p) => {
                out.push(Bytes::copy_from_slice(p));
                k += 1;
            }
            Slot::Mix => {
                let start = k;
                while k < n && matches!(plan[k], Slot::Mix) {
                    k += 1;
                }
                out.extend(mix_slots(
                    [(&c, candidate.rate_hz), (&i, interviewer.rate_hz)],
                    rate,
                    start..k,
                )?);
            }
        }
    }
    Ok((out, rate))
}

/// Slots `range` of the slotted tracks, mixed: one packet a slot.
fn mix_slots(
    tracks: [(&[Option<&[u8]>], u32); 2],
    rate: u32,
    range: std::ops::Range<usize>,
) -> Result<Vec<Bytes>, ExportError> {
    let from = range.start.saturating_sub(PRE_ROLL_SLOTS);
    let mut decoding = tracks
        .into_iter()
        .map(|(slotted, rate_hz)| {
            let packets = slotted
                .iter()
                .enumerate()
                .take(range.end)
                .skip(from)
                .filter_map(|(k, p)| p.map(|p| (k as u64 * SLOT_MS, p)))
                .collect();
            let source = TrackSource {
                packets,
                codec: Codec::Opus,
                rate_hz,
            };
            Track::new(source, rate)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut encoder = StreamEncoder::new(Codec::Opus, rate).map_err(audio)?;
    let step = (rate * FRAME_MS / 1000) as usize;
    let mut frame = vec![0.0f32; step];
    let slots = range.len();
    let mut packets = Vec::with_capacity(slots);
    for k in range {
        frame.fill(0.0);
        for t in &mut decoding {
            t.add_to(&mut frame, k as u64 * step as u64)?;
        }
        for s in &mut frame {
            *s = s.clamp(-1.0, 1.0);
        }
        packets.extend(encoder.push_samples(&frame, rate).map_err(audio)?);
    }
    debug_assert_eq!(packets.len(), slots, "one packet a slot");
    Ok(packets)
}

fn audio(e: impl std::fmt::Display) -> ExportError {
    ExportError::Audio(e.to_string())
}

/// The tracks summed from the session's start to where the last one ends,
/// as 20 ms Opus packets at `rate` Hz.
pub fn mix(tracks: Vec<TrackSource<'_>>, rate: u32) -> Result<Vec<Bytes>, ExportError> {
    let mut tracks = tracks
        .into_iter()
        .map(|t| Track::new(t, rate))
        .collect::<Result<Vec<_>, _>>()?;
    let mut encoder = StreamEncoder::new(Codec::Opus, rate).map_err(audio)?;
    let step = (rate * FRAME_MS / 1000) as usize;
    let mut at = 0;
    let mut frame = vec![0.0f32; step];
    let mut packets = Vec::new();
    loop {
        frame.fill(0.0);
        let mut more = false;
        for t in &mut tracks {
            more |= t.add_to(&mut frame, at)?;
        }
        if !more {
            break;
        }
        for s in &mut frame {
            // Two voices at once (a barge-in) may sum past full scale.
            *s = s.clamp(-1.0, 1.0);
        }
        packets.extend(encoder.push_samples(&frame, rate).map_err(audio)?);
        at += step as u64;
    }
    packets.extend(encoder.flush().map_err(audio)?);
    Ok(packets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candor_audio::meter::frame_level_db;

    use crate::voice::{encode_clip, test_tone};

    /// `ms` of a tone as Opus packets at `rate`, placed from `start_ms`.
    fn tone(rate: u32, hz: f32, ms: u32, start_ms: u64) -> Vec<(u64, Vec<u8>)> {
        let samples = test_tone(rate, hz, (rate * ms / 1000) as usize);
        encode_clip(Codec::Opus, rate, &samples)
            .unwrap()
            .into_iter()
            .enumerate()
            .map(|(i, p)| (start_ms + i as u64 * 20, p.to_vec()))
            .collect()
    }

    fn source(packets: &[(u64, Vec<u8>)], rate: u32) -> TrackSource<'_> {
        TrackSource {
            packets: packets.iter().map(|(ms, p)| (*ms, p.as_slice())).collect(),
            codec: Codec::Opus,
            rate_hz: rate,
        }
    }

    fn decode(packets: &[Bytes], rate: u32) -> Vec<f32> {
        let mut d = AudioDecoder::new(Codec::Opus, rate).unwrap();
        let mut out = Vec::new();
        for p in packets {
            d.decode(p, &mut out).unwrap();
        }
        out
    }

    /// Level (dBFS) of `pcm` over `from_ms .. to_ms`.
    fn level(pcm: &[f32], rate: u32, from_ms: u32, to_ms: u32) -> f32 {
        let r = rate as usize / 1000;
        frame_level_db(&pcm[from_ms as usize * r..to_ms as usize * r])
    }

    #[test]
    fn each_voice_is_heard_where_the_session_clock_puts_it() {
        // The candidate speaks 0-1 s; the interviewer 1.5-2.5 s, at 24 kHz.
        let candidate = tone(16_000, 300.0, 1000, 0);
        let interviewer = tone(24_000, 500.0, 1000, 1500);
        let (c, i) = (source(&candidate, 16_000), source(&interviewer, 24_000));
        let rate = mix_rate(&[&c, &i]);
        assert_eq!(rate, 24_000);
        let packets = mix(vec![c, i], rate).unwrap();
        let pcm = decode(&packets, rate);
        assert!(
            (2500..2600).contains(&(pcm.len() * 1000 / rate as usize)),
            "{}",
            pcm.len()
        );
        assert!(level(&pcm, rate, 100, 900) > -20.0, "the candidate");
        assert!(level(&pcm, rate, 1100, 1400) < -60.0, "the gap is silent");
        assert!(level(&pcm, rate, 1600, 2400) > -20.0, "the interviewer");
    }

    #[test]
    fn voices_talking_at_once_are_both_there() {
        let candidate = tone(16_000, 300.0, 3000, 0);
        let interviewer = tone(16_000, 500.0, 500, 1000);
        let packets = mix(
            vec![source(&candidate, 16_000), source(&interviewer, 16_000)],
            16_000,
        )
        .unwrap();
        let pcm = decode(&packets, 16_000);
        let ms = pcm.len() * 1000 / 16_000;
        assert!((3000..3040).contains(&ms), "{ms} ms");
        // Both voices at once where they overlap, one alone elsewhere.
        let both = level(&pcm, 16_000, 1100, 1400);
        let one = level(&pcm, 16_000, 1700, 2000);
        assert!(both > one + 1.5, "{both} vs {one}");
    }

    #[test]
    fn overlapping_packets_follow_each_other() {
        // Packets stamped closer than their length (a capture clock that
        // ran fast) are played one after the other, none dropped.
        let mut candidate = tone(16_000, 300.0, 1000, 0);
        for (n, (ms, _)) in candidate.iter_mut().enumerate() {
            *ms = n as u64 * 10;
        }
        let packets = mix(vec![source(&candidate, 16_000)], 16_000).unwrap();
        let ms = decode(&packets, 16_000).len() * 1000 / 16_000;
        assert!((1000..1040).contains(&ms), "{ms} ms");
    }

    #[test]
    fn one_voice_at_a_time_is_copied_as_it_is() {
        // The candidate's microphone all along (speaking 0-0.9 s), the
        // interviewer 1-2 s at 24 kHz.
        let candidate = tone(16_000, 300.0, 3000, 0);
        let interviewer = tone(24_000, 500.0, 1000, 1000);
        let packets = conversation(
            source(&candidate, 16_000),
            source(&interviewer, 24_000),
            &[(0, 900)],
        )
        .unwrap()
        .0;
        assert_eq!(packets.len(), 150);
        for (k, p) in packets.iter().enumerate() {
            let expected = if (50..100).contains(&k) {
                &interviewer[k - 50].1
            } else {
                &candidate[k].1
            };
            assert_eq!(p.as_ref(), expected.as_slice(), "slot {k}");
        }
    }

    #[test]
    fn both_voices_at_once_are_mixed_there_only() {
        // The candidate cuts in at 1.4 s, while the interviewer speaks.
        let candidate = tone(16_000, 300.0, 3000, 0);
        let interviewer = tone(24_000, 500.0, 1000, 1000);
        let packets = conversation(
            source(&candidate, 16_000),
            source(&interviewer, 24_000),
            &[(1400, 2600)],
        )
        .unwrap()
        .0;
        assert_eq!(packets.len(), 150);
        // Mixed from 100 ms before the speech to the interviewer's end.
        let mixed: Vec<usize> = (0..150)
            .filter(|&k| {
                let p = packets[k].as_ref();
                p != candidate[k].1.as_slice()
                    && (!(50..100).contains(&k) || p != interviewer[k - 50].1.as_slice())
            })
            .collect();
        assert_eq!(mixed, (65..100).collect::<Vec<_>>());
        let pcm = decode(&packets, 24_000);
        let both = level(&pcm, 24_000, 1500, 1900);
        let alone = level(&pcm, 24_000, 2200, 2600);
        assert!(both > alone + 1.5, "{both} vs {alone}");
    }

    #[test]
    fn silence_fills_where_neither_has_audio() {
        let candidate = tone(16_000, 300.0, 500, 0);
        let interviewer = tone(16_000, 500.0, 500, 1000);
        let packets = conversation(
            source(&candidate, 16_000),
            source(&interviewer, 16_000),
            &[],
        )
        .unwrap()
        .0;
        assert_eq!(packets.len(), 75);
        let pcm = decode(&packets, 16_000);
        assert!(level(&pcm, 16_000, 600, 950) < -60.0);
        assert!(level(&pcm, 16_000, 1100, 1400) > -20.0);
    }

    #[test]
    fn a_packet_that_is_not_opus_is_an_error() {
        let bad = [(0u64, vec![0xff_u8; 3])];
        let err = mix(vec![source(&bad, 16_000)], 16_000);
        assert!(matches!(err, Err(ExportError::Audio(_))), "{err:?}");
    }
}
