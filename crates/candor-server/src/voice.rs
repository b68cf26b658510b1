//! Audio for the server, in one place: speech synthesis with espeak-ng, WAV
//! parsing, resampling, Opus encode/decode and an energy voice-activity
//! detector.
//!
//! Kept in this single module on purpose: the shared `candor-audio` crate
//! (Opus, VAD, resampler) will replace most of it, and nothing outside this
//! file touches libopus or sample buffers directly. The streaming
//! [`StreamEncoder`] (the Gemini bridge's interviewer audio) is already built
//! on `candor-audio`'s Opus encoder and rubato resampler.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use thiserror::Error;
use tokio::sync::OnceCell;

/// Candidate audio is analysed at this rate.
pub const ANALYSIS_RATE_HZ: u32 = 16_000;
/// Interviewer audio bitrate: speech at 24 kbit/s.
pub const OUTPUT_BITRATE: i32 = 24_000;
/// Largest Opus packet we produce or accept (libopus' own recommendation).
const MAX_PACKET: usize = 4000;

#[derive(Debug, Error)]
pub enum VoiceError {
    #[error(
        "espeak-ng was not found at {path:?} ({source}); the offline practice interviewer needs it to speak: install the `espeak-ng` package or set the path in the practice config"
    )]
    EspeakMissing {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("espeak-ng failed: {0}")]
    Espeak(String),
    #[error("invalid WAV: {0}")]
    Wav(&'static str),
    #[error("opus: {0}")]
    Opus(#[from] opus::Error),
    #[error("unsupported audio: {0}")]
    Unsupported(String),
    #[error("synthesis task failed: {0}")]
    Join(String),
    #[error(transparent)]
    Audio(#[from] candor_audio::AudioError),
}

/// Checks that espeak-ng runs, so a missing package is a clear startup error
/// instead of a silent interviewer.
pub fn check_espeak(path: &Path) -> Result<String, VoiceError> {
    let out = Command::new(path)
        .arg("--version")
        .output()
        .map_err(|source| VoiceError::EspeakMissing {
            path: path.to_owned(),
            source,
        })?;
    if !out.status.success() {
        return Err(VoiceError::Espeak(format!(
            "`{} --version` exited with {}",
            path.display(),
            out.status
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Mono 16-bit audio at a sample rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pcm {
    pub rate_hz: u32,
    pub samples: Vec<i16>,
}

impl Pcm {
    pub fn duration_ms(&self) -> u64 {
        self.samples.len() as u64 * 1000 / self.rate_hz.max(1) as u64
    }
}

/// Speaks `text` with espeak-ng (blocking: runs a process).
pub fn espeak(
    path: &Path,
    voice: &str,
    words_per_minute: u32,
    text: &str,
) -> Result<Pcm, VoiceError> {
    let out = Command::new(path)
        .args([
            "--stdout",
            "-v",
            voice,
            "-s",
            &words_per_minute.to_string(),
            "--",
        ])
        .arg(text)
        .output()
        .map_err(|source| VoiceError::EspeakMissing {
            path: path.to_owned(),
            source,
        })?;
    if !out.status.success() {
        return Err(VoiceError::Espeak(
            String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        ));
    }
    parse_wav(&out.stdout)
}

/// Parses a 16-bit PCM WAV, mixing down to mono. Tolerates the "unknown
/// length" sizes espeak-ng writes when streaming to stdout.
pub fn parse_wav(bytes: &[u8]) -> Result<Pcm, VoiceError> {
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(VoiceError::Wav("not a RIFF/WAVE file"));
    }
    let mut pos = 12;
    let mut format: Option<(u16, u16, u32, u16)> = None;
    while pos + 8 <= bytes.len() {
        let id = &bytes[pos..pos + 4];
        let size = u32::from_le_bytes([
            bytes[pos + 4],
            bytes[pos + 5],
            bytes[pos + 6],
            bytes[pos + 7],
        ]) as usize;
        let body = pos + 8;
        if id == b"fmt " {
            if body + 16 > bytes.len() {
                return Err(VoiceError::Wav("truncated fmt chunk"));
            }
            let f = &bytes[body..body + 16];
            format = Some((
                u16::from_le_bytes([f[0], f[1]]),
                u16::from_le_bytes([f[2], f[3]]),
                u32::from_le_bytes([f[4], f[5], f[6], f[7]]),
                u16::from_le_bytes([f[14], f[15]]),
            ));
        } else if id == b"data" {
            let (fmt, channels, rate, bits) = format.ok_or(VoiceError::Wav("data before fmt"))?;
            if fmt != 1 || bits != 16 || channels == 0 {
                return Err(VoiceError::Wav("only 16-bit integer PCM is supported"));
            }
            let end = body.saturating_add(size).min(bytes.len());
            let data = &bytes[body..end];
            let channels = channels as usize;
            let samples = data
                .chunks_exact(2 * channels)
                .map(|frame| {
                    let sum: i32 = frame
                        .chunks_exact(2)
                        .map(|s| i16::from_le_bytes([s[0], s[1]]) as i32)
                        .sum();
                    (sum / channels as i32) as i16
                })
                .collect();
            return Ok(Pcm {
                rate_hz: rate,
                samples,
            });
        }
        pos = body.saturating_add(size + (size & 1));
    }
    Err(VoiceError::Wav("no data chunk"))
}

/// Writes mono 16-bit PCM as a WAV file image.
pub fn wav_bytes(pcm: &Pcm) -> Vec<u8> {
    let data_len = (pcm.samples.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&pcm.rate_hz.to_le_bytes());
    out.extend_from_slice(&(pcm.rate_hz * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in &pcm.samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

/// Resamples mono audio with a windowed-sinc interpolator (8 zero crossings
/// each side, cut-off just below the lower Nyquist frequency). The kernel is
/// tabulated for 256 fractional positions, so the inner loop is plain
/// multiply-adds.
pub fn resample(pcm: &Pcm, to_hz: u32) -> Pcm {
    if pcm.rate_hz == to_hz || pcm.samples.is_empty() {
        return Pcm {
            rate_hz: to_hz,
            samples: pcm.samples.clone(),
        };
    }
    const ZEROS: f64 = 8.0;
    const PHASES: usize = 256;
    let ratio = to_hz as f64 / pcm.rate_hz as f64;
    let cutoff = ratio.min(1.0) * 0.95;
    let half = (ZEROS / cutoff).ceil() as i64;
    let taps = (2 * half + 1) as usize;
    // table[p][k]: weight of input sample (floor(t) - half + k) when the
    // output falls at fraction p / PHASES past floor(t).
    let mut table = vec![0.0f64; (PHASES + 1) * taps];
    for p in 0..=PHASES {
        let frac = p as f64 / PHASES as f64;
        let row = &mut table[p * taps..(p + 1) * taps];
        let mut norm = 0.0;
        for (k, w) in row.iter_mut().enumerate() {
            let x = ((k as i64 - half) as f64 - frac) * cutoff;
            let sinc = if x.abs() < 1e-9 {
                1.0
            } else {
                (std::f64::consts::PI * x).sin() / (std::f64::consts::PI * x)
            };
            let win = x / ZEROS;
            let window = if win.abs() >= 1.0 {
                0.0
            } else {
                0.5 * (1.0 + (std::f64::consts::PI * win).cos())
            };
            *w = sinc * window;
            norm += *w;
        }
        for w in row.iter_mut() {
            *w /= norm;
        }
    }
    let input = &pcm.samples;
    let len = input.len() as i64;
    let out_len = (input.len() as f64 * ratio).round() as usize;
    let mut samples = Vec::with_capacity(out_len);
    for n in 0..out_len {
        let t = n as f64 / ratio;
        let base = t.floor();
        let p = (((t - base) * PHASES as f64).round() as usize).min(PHASES);
        let row = &table[p * taps..(p + 1) * taps];
        let first = base as i64 - half;
        let mut acc = 0.0;
        for (k, w) in row.iter().enumerate() {
            let i = first + k as i64;
            if (0..len).contains(&i) {
                acc += input[i as usize] as f64 * w;
            }
        }
        samples.push(acc.round().clamp(i16::MIN as f64, i16::MAX as f64) as i16);
    }
    Pcm {
        rate_hz: to_hz,
        samples,
    }
}

/// Cuts PCM into `frame_ms` frames (the last one padded with silence).
pub fn frames(pcm: &Pcm, frame_ms: u32) -> Vec<Vec<i16>> {
    let n = (pcm.rate_hz * frame_ms / 1000) as usize;
    pcm.samples
        .chunks(n)
        .map(|c| {
            let mut f = c.to_vec();
            f.resize(n, 0);
            f
        })
        .collect()
}

/// Encodes mono PCM as Opus packets of `frame_ms`, voice mode, 24 kbit/s.
pub fn opus_encode(pcm: &Pcm, frame_ms: u32) -> Result<Vec<Bytes>, VoiceError> {
    let mut enc = opus::Encoder::new(pcm.rate_hz, opus::Channels::Mono, opus::Application::Voip)?;
    enc.set_bitrate(opus::Bitrate::Bits(OUTPUT_BITRATE))?;
    let mut buf = [0u8; MAX_PACKET];
    frames(pcm, frame_ms)
        .iter()
        .map(|f| {
            let n = enc.encode(f, &mut buf)?;
            Ok(Bytes::copy_from_slice(&buf[..n]))
        })
        .collect()
}

/// PCM16 little-endian frames (the fallback codec).
pub fn pcm16_frames(pcm: &Pcm, frame_ms: u32) -> Vec<Bytes> {
    frames(pcm, frame_ms)
        .iter()
        .map(|f| {
            let mut b = Vec::with_capacity(f.len() * 2);
            for s in f {
                b.extend_from_slice(&s.to_le_bytes());
            }
            Bytes::from(b)
        })
        .collect()
}

/// Little-endian PCM16 bytes of `samples` (what the Live API takes).
pub fn pcm16_le(samples: &[i16]) -> Vec<u8> {
    samples.iter().flat_map(|s| s.to_le_bytes()).collect()
}

/// Turns a stream of little-endian PCM16 (at any rate, in pieces of any
/// length) into 20 ms frames of the session's output: Opus or PCM16 at
/// `rate_hz`. Audio from another rate is resampled on the way.
pub struct StreamEncoder {
    rate_hz: u32,
    frame: usize,
    opus: Option<candor_audio::codec::OpusEncoder>,
    resampler: Option<candor_audio::resample::MonoResampler>,
    input: Vec<f32>,
    pending: Vec<f32>,
}

impl std::fmt::Debug for StreamEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamEncoder")
            .field("rate_hz", &self.rate_hz)
            .field("opus", &self.opus.is_some())
            .field("pending", &self.pending.len())
            .finish()
    }
}

impl StreamEncoder {
    /// 20 ms frames at `rate_hz` (8, 12, 16, 24 or 48 kHz for Opus).
    pub fn new(opus: bool, rate_hz: u32) -> Result<Self, VoiceError> {
        if ![8_000, 12_000, 16_000, 24_000, 48_000].contains(&rate_hz) {
            return Err(VoiceError::Unsupported(format!("output rate {rate_hz} Hz")));
        }
        let opus = if opus {
            Some(candor_audio::codec::OpusEncoder::with_rate(
                rate_hz,
                candor_audio::EncoderSettings {
                    bitrate: OUTPUT_BITRATE,
                    // The downlink is TCP: nothing is lost, FEC would only cost bits.
                    fec: false,
                    expected_loss_percent: 0,
                    dtx: false,
                    complexity: 8,
                },
            )?)
        } else {
            None
        };
        Ok(Self {
            rate_hz,
            frame: rate_hz as usize / 50,
            opus,
            resampler: None,
            input: Vec::new(),
            pending: Vec::new(),
        })
    }

    pub fn frame_ms(&self) -> u32 {
        20
    }

    /// Adds `pcm_le` (PCM16 at `in_rate` Hz) and returns every completed frame.
    pub fn push(&mut self, pcm_le: &[u8], in_rate: u32) -> Result<Vec<Bytes>, VoiceError> {
        self.input.clear();
        self.input.extend(
            pcm_le
                .chunks_exact(2)
                .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0),
        );
        if in_rate == self.rate_hz {
            self.pending.extend_from_slice(&self.input);
        } else {
            if self
                .resampler
                .as_ref()
                .is_none_or(|r| r.in_rate() != in_rate)
            {
                self.resampler = Some(candor_audio::resample::MonoResampler::new(
                    in_rate,
                    self.rate_hz,
                )?);
            }
            if let Some(r) = self.resampler.as_mut() {
                r.process(&self.input, &mut self.pending)?;
            }
        }
        let mut out = Vec::with_capacity(self.pending.len() / self.frame);
        let mut start = 0;
        while self.pending.len() - start >= self.frame {
            out.push(self.encode(start)?);
            start += self.frame;
        }
        self.pending.drain(..start);
        Ok(out)
    }

    /// The last partial frame, padded with silence (at the end of a turn).
    pub fn flush(&mut self) -> Result<Option<Bytes>, VoiceError> {
        if self.pending.is_empty() {
            return Ok(None);
        }
        self.pending.resize(self.frame, 0.0);
        let frame = self.encode(0)?;
        self.pending.clear();
        Ok(Some(frame))
    }

    /// Forgets buffered audio (the turn was interrupted).
    pub fn reset(&mut self) {
        self.pending.clear();
        if let Some(r) = self.resampler.as_mut() {
            r.reset();
        }
    }

    fn encode(&mut self, start: usize) -> Result<Bytes, VoiceError> {
        let frame = &self.pending[start..start + self.frame];
        match self.opus.as_mut() {
            Some(enc) => Ok(Bytes::from(enc.encode_vec(frame)?)),
            None => Ok(Bytes::from(candor_audio::codec::encode_pcm16(frame))),
        }
    }
}

/// Decodes one direction of candidate audio to 16 kHz mono PCM.
pub enum Decoder {
    Opus {
        decoder: opus::Decoder,
        buf: Vec<i16>,
    },
    Pcm16 {
        buf: Vec<i16>,
    },
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Decoder::Opus { .. } => f.write_str("Decoder::Opus"),
            Decoder::Pcm16 { .. } => f.write_str("Decoder::Pcm16"),
        }
    }
}

impl Decoder {
    /// Opus at any rate decodes straight to 16 kHz (libopus resamples).
    pub fn opus() -> Result<Self, VoiceError> {
        Ok(Decoder::Opus {
            decoder: opus::Decoder::new(ANALYSIS_RATE_HZ, opus::Channels::Mono)?,
            // 120 ms at 16 kHz: the longest Opus packet.
            buf: vec![0; 1920],
        })
    }

    /// PCM16 must already be 16 kHz mono.
    pub fn pcm16() -> Self {
        Decoder::Pcm16 { buf: Vec::new() }
    }

    /// Decodes one chunk. A corrupt Opus packet decodes as concealment (so one
    /// bad packet does not end an interview).
    pub fn decode(&mut self, data: &[u8]) -> &[i16] {
        match self {
            Decoder::Opus { decoder, buf } => {
                let n = match decoder.decode(data, buf, false) {
                    Ok(n) => n,
                    Err(_) => decoder.decode(&[], buf, false).unwrap_or(0),
                };
                &buf[..n]
            }
            Decoder::Pcm16 { buf } => {
                buf.clear();
                buf.extend(
                    data.chunks_exact(2)
                        .map(|b| i16::from_le_bytes([b[0], b[1]])),
                );
                buf
            }
        }
    }
}

/// Level of a frame in dBFS (-120 for digital silence).
pub fn dbfs(samples: &[i16]) -> f32 {
    if samples.is_empty() {
        return -120.0;
    }
    let sum: f64 = samples.iter().map(|&s| (s as f64) * (s as f64)).sum();
    let rms = (sum / samples.len() as f64).sqrt() / 32768.0;
    if rms <= 1e-6 {
        -120.0
    } else {
        (20.0 * rms.log10()) as f32
    }
}

/// Energy voice-activity detector with onset and hangover: speech starts
/// after `onset` loud frames in a row and ends after `hangover` quiet frames,
/// so the short gaps between words do not split speech.
#[derive(Debug, Clone)]
pub struct Vad {
    threshold_dbfs: f32,
    onset: u32,
    hangover: u32,
    loud_run: u32,
    quiet_run: u32,
    speaking: bool,
}

impl Vad {
    pub fn new(threshold_dbfs: f32, onset: u32, hangover: u32) -> Self {
        Self {
            threshold_dbfs,
            onset: onset.max(1),
            hangover,
            loud_run: 0,
            quiet_run: 0,
            speaking: false,
        }
    }

    /// Feeds one frame; returns whether speech is ongoing after it.
    pub fn push(&mut self, samples: &[i16]) -> bool {
        let loud = dbfs(samples) >= self.threshold_dbfs;
        if loud {
            self.loud_run += 1;
            self.quiet_run = 0;
            if self.loud_run >= self.onset {
                self.speaking = true;
            }
        } else {
            self.loud_run = 0;
            self.quiet_run += 1;
            if self.quiet_run > self.hangover {
                self.speaking = false;
            }
        }
        self.speaking
    }

    pub fn speaking(&self) -> bool {
        self.speaking
    }
}

/// One interviewer utterance, synthesized and encoded once, then shared by
/// every session that says the same text.
#[derive(Debug)]
pub struct Utterance {
    pub text: String,
    pub frame_ms: u32,
    pub opus: Vec<Bytes>,
    pub pcm16: Vec<Bytes>,
    /// Byte offset in `text` where each word ends, for partial transcripts.
    pub word_ends: Vec<usize>,
}

impl Utterance {
    pub fn new(text: String, frame_ms: u32, opus: Vec<Bytes>, pcm16: Vec<Bytes>) -> Self {
        let mut word_ends = Vec::new();
        let mut in_word = false;
        for (i, c) in text.char_indices() {
            if c.is_whitespace() {
                if in_word {
                    word_ends.push(i);
                }
                in_word = false;
            } else {
                in_word = true;
            }
        }
        if in_word {
            word_ends.push(text.len());
        }
        Self {
            text,
            frame_ms,
            opus,
            pcm16,
            word_ends,
        }
    }

    /// The first `n` words (at least one, at most all).
    pub fn first_words(&self, n: usize) -> &str {
        match self
            .word_ends
            .get(n.max(1).min(self.word_ends.len()).wrapping_sub(1))
        {
            Some(&end) => &self.text[..end],
            None => &self.text,
        }
    }

    pub fn word_count(&self) -> usize {
        self.word_ends.len()
    }

    pub fn frame_count(&self) -> usize {
        self.opus.len()
    }

    pub fn duration_ms(&self) -> u64 {
        self.opus.len() as u64 * self.frame_ms as u64
    }
}

/// The interviewer's voice: espeak-ng, resampled to the output rate and
/// encoded, with a cache per text (concurrent requests for the same text
/// wait for one synthesis).
#[derive(Debug)]
pub struct Voice {
    espeak: PathBuf,
    voice: String,
    words_per_minute: u32,
    rate_hz: u32,
    frame_ms: u32,
    cache: Mutex<HashMap<String, Arc<OnceCell<Arc<Utterance>>>>>,
    /// At most one synthesis per core at a time: a burst of new sessions
    /// must not start dozens of espeak-ng processes at once.
    synth_slots: tokio::sync::Semaphore,
}

impl Voice {
    pub fn new(
        espeak: PathBuf,
        voice: String,
        words_per_minute: u32,
        rate_hz: u32,
    ) -> Result<Self, VoiceError> {
        if ![8_000, 12_000, 16_000, 24_000, 48_000].contains(&rate_hz) {
            return Err(VoiceError::Unsupported(format!(
                "output rate {rate_hz} Hz (Opus needs 8, 12, 16, 24 or 48 kHz)"
            )));
        }
        Ok(Self {
            espeak,
            voice,
            words_per_minute,
            rate_hz,
            frame_ms: 20,
            cache: Mutex::new(HashMap::new()),
            synth_slots: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(1, |n| n.get()),
            ),
        })
    }

    pub fn rate_hz(&self) -> u32 {
        self.rate_hz
    }

    pub fn frame_ms(&self) -> u32 {
        self.frame_ms
    }

    /// The utterance for `text`, synthesized on the blocking pool the first time.
    pub async fn say(&self, text: &str) -> Result<Arc<Utterance>, VoiceError> {
        let cell = {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            cache.entry(text.to_owned()).or_default().clone()
        };
        cell.get_or_try_init(|| async {
            let (espeak, voice, wpm, rate, frame_ms) = (
                self.espeak.clone(),
                self.voice.clone(),
                self.words_per_minute,
                self.rate_hz,
                self.frame_ms,
            );
            let text = text.to_owned();
            let _slot = self
                .synth_slots
                .acquire()
                .await
                .map_err(|e| VoiceError::Join(e.to_string()))?;
            tokio::task::spawn_blocking(move || {
                synthesize(&espeak, &voice, wpm, rate, frame_ms, text)
            })
            .await
            .map_err(|e| VoiceError::Join(e.to_string()))?
            .map(Arc::new)
        })
        .await
        .cloned()
    }
}

fn synthesize(
    espeak_path: &Path,
    voice: &str,
    wpm: u32,
    rate_hz: u32,
    frame_ms: u32,
    text: String,
) -> Result<Utterance, VoiceError> {
    let raw = espeak(espeak_path, voice, wpm, &text)?;
    let pcm = resample(&raw, rate_hz);
    Ok(Utterance::new(
        text,
        frame_ms,
        opus_encode(&pcm, frame_ms)?,
        pcm16_frames(&pcm, frame_ms),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(rate: u32, hz: f64, ms: u32, amp: f64) -> Pcm {
        let n = (rate * ms / 1000) as usize;
        Pcm {
            rate_hz: rate,
            samples: (0..n)
                .map(|i| {
                    (amp * 32767.0
                        * (2.0 * std::f64::consts::PI * hz * i as f64 / rate as f64).sin())
                        as i16
                })
                .collect(),
        }
    }

    #[test]
    fn utterance_words() {
        let u = Utterance::new("Hello  there, how are you?".into(), 20, vec![], vec![]);
        assert_eq!(u.word_count(), 5);
        assert_eq!(u.first_words(0), "Hello");
        assert_eq!(u.first_words(2), "Hello  there,");
        assert_eq!(u.first_words(9), "Hello  there, how are you?");
        assert_eq!(
            Utterance::new(String::new(), 20, vec![], vec![]).first_words(3),
            ""
        );
    }

    #[test]
    fn wav_round_trip() {
        let pcm = sine(22_050, 440.0, 100, 0.5);
        assert_eq!(parse_wav(&wav_bytes(&pcm)).unwrap(), pcm);
        assert!(parse_wav(b"nonsense").is_err());
    }

    #[test]
    fn resampling_keeps_length_and_level() {
        let pcm = sine(22_050, 440.0, 1000, 0.5);
        let out = resample(&pcm, 24_000);
        assert_eq!(out.samples.len(), 24_000);
        let (a, b) = (dbfs(&pcm.samples), dbfs(&out.samples[100..23_900]));
        assert!((a - b).abs() < 0.5, "{a} vs {b}");
    }

    #[test]
    fn opus_round_trip_keeps_speech_level() {
        let pcm = sine(16_000, 300.0, 400, 0.3);
        let packets = opus_encode(&pcm, 20).unwrap();
        assert_eq!(packets.len(), 20);
        let mut dec = Decoder::opus().unwrap();
        let mut out = Vec::new();
        for p in &packets {
            out.extend_from_slice(dec.decode(p));
        }
        assert_eq!(out.len(), 6400);
        let level = dbfs(&out[1600..]);
        assert!((level - dbfs(&pcm.samples)).abs() < 3.0, "{level}");
        // Garbage decodes as concealment rather than failing.
        assert_eq!(dec.decode(&[0xff, 0x00, 0x13]).len() % 320, 0);
    }

    #[test]
    fn stream_encoder_frames_any_chunking_and_resamples() {
        let pcm = sine(24_000, 300.0, 1000, 0.3);
        let bytes = pcm16_le(&pcm.samples);
        let mut enc = StreamEncoder::new(true, 24_000).unwrap();
        let mut frames = Vec::new();
        // Odd-sized pieces, as the Live API sends them.
        for piece in bytes.chunks(1234 * 2) {
            frames.extend(enc.push(piece, 24_000).unwrap());
        }
        frames.extend(enc.flush().unwrap());
        assert_eq!(frames.len(), 50);
        let mut dec = opus::Decoder::new(24_000, opus::Channels::Mono).unwrap();
        let mut out = vec![0i16; 480];
        let mut all = Vec::new();
        for f in &frames {
            let n = dec.decode(f, &mut out, false).unwrap();
            all.extend_from_slice(&out[..n]);
        }
        assert!((dbfs(&all[4800..]) - dbfs(&pcm.samples)).abs() < 3.0);

        let mut pcm_enc = StreamEncoder::new(false, 24_000).unwrap();
        let from16 = pcm16_le(&sine(16_000, 300.0, 1000, 0.3).samples);
        let mut n = 0;
        for piece in from16.chunks(640) {
            n += pcm_enc.push(piece, 16_000).unwrap().len();
        }
        assert!((48..=50).contains(&n), "{n} frames of resampled audio");
        pcm_enc.reset();
        assert_eq!(pcm_enc.flush().unwrap(), None);
    }

    #[test]
    fn vad_onset_and_hangover() {
        let loud = sine(16_000, 200.0, 20, 0.3).samples;
        let quiet = vec![0i16; 320];
        let mut vad = Vad::new(-40.0, 2, 3);
        assert!(!vad.push(&loud));
        assert!(vad.push(&loud));
        for _ in 0..3 {
            assert!(vad.push(&quiet), "hangover keeps speech on");
        }
        assert!(!vad.push(&quiet));
        assert!(!vad.push(&loud), "a single loud frame is not speech");
    }
}
