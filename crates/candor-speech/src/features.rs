//! Whisper's audio front end: 16 kHz mono samples → the normalised log-mel spectrogram
//! the encoder reads, one window at a time: Whisper's 30 s, or a shorter one fitted to a
//! short turn (`EncoderWindow`).
//!
//! This follows OpenAI's reference `log_mel_spectrogram` exactly (periodic Hann window of
//! 400 samples, hop 160, centred frames with reflect padding, power spectrum, Slaney mel
//! filters, `log10`, clamp to 8 below the window's maximum, `(x + 4) / 4`). The ct2rs
//! crate's own front end normalises every frame by its own maximum instead of the whole
//! window's, which changes what the model hears; computing the features here keeps the
//! input the model was trained on.

use std::sync::Arc;

use realfft::{RealFftPlanner, RealToComplex, num_complex::Complex};

/// The sample rate every Whisper model expects.
pub const SAMPLE_RATE: u32 = 16_000;
/// Samples per analysis window (25 ms).
pub const N_FFT: usize = 400;
/// Samples between frames (10 ms).
pub const HOP_LENGTH: usize = 160;
/// Seconds of audio in one encoder window.
pub const CHUNK_SECONDS: usize = 30;
/// Samples in one encoder window.
pub const CHUNK_SAMPLES: usize = CHUNK_SECONDS * SAMPLE_RATE as usize;
/// Spectrogram frames in one encoder window.
pub const CHUNK_FRAMES: usize = CHUNK_SAMPLES / HOP_LENGTH;

const N_BINS: usize = N_FFT / 2 + 1;

/// How far back from a window's end [`split_at_pauses`] looks for a pause to cut at.
pub const PAUSE_SEARCH_SAMPLES: usize = 5 * SAMPLE_RATE as usize;
/// The stretch whose energy decides where the quietest moment is (100 ms).
const PAUSE_FRAME: usize = SAMPLE_RATE as usize / 10;

/// Splits a turn into encoder windows of at most [`CHUNK_SAMPLES`]. A turn longer than
/// one window is not cut at exactly 30 s — that would split a word between two windows
/// and garble it in both — but at the quietest 100 ms of the window's last five seconds,
/// which in speech is almost always a pause between words or sentences.
pub fn split_at_pauses(audio: &[f32]) -> Vec<std::ops::Range<usize>> {
    let mut windows = Vec::new();
    let mut start = 0;
    while audio.len() - start > CHUNK_SAMPLES {
        let search_from = start + CHUNK_SAMPLES - PAUSE_SEARCH_SAMPLES;
        let end = (search_from..=start + CHUNK_SAMPLES - PAUSE_FRAME)
            .step_by(PAUSE_FRAME / 2)
            .min_by(|&a, &b| {
                energy(&audio[a..a + PAUSE_FRAME]).total_cmp(&energy(&audio[b..b + PAUSE_FRAME]))
            })
            .map_or(start + CHUNK_SAMPLES, |quietest| quietest + PAUSE_FRAME / 2);
        windows.push(start..end);
        start = end;
    }
    if start < audio.len() || windows.is_empty() {
        windows.push(start..audio.len());
    }
    windows
}

fn energy(samples: &[f32]) -> f32 {
    samples.iter().map(|s| s * s).sum()
}

/// Computes Whisper log-mel spectrograms; built once per model (the filter bank depends
/// on the model's number of mel bands) and reused for every turn.
pub struct LogMel {
    n_mels: usize,
    /// Each band's non-zero filter weights: the first FFT bin they apply to, and the
    /// weights (a triangle spans a few bins, so this is ~40× less work than the full
    /// `n_mels × N_BINS` product).
    filters: Vec<(usize, Vec<f32>)>,
    window: Vec<f32>,
    fft: Arc<dyn RealToComplex<f32>>,
}

impl std::fmt::Debug for LogMel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogMel")
            .field("n_mels", &self.n_mels)
            .finish_non_exhaustive()
    }
}

impl LogMel {
    /// A front end producing `n_mels` bands (80 for every Whisper model up to large-v2).
    pub fn new(n_mels: usize) -> Self {
        let window = (0..N_FFT)
            .map(|n| {
                let phase = 2.0 * std::f64::consts::PI * n as f64 / N_FFT as f64;
                (0.5 - 0.5 * phase.cos()) as f32
            })
            .collect();
        let filters = mel_filters(SAMPLE_RATE as f64, N_FFT, n_mels)
            .chunks(N_BINS)
            .map(|row| {
                let first = row.iter().position(|&w| w > 0.0).unwrap_or(0);
                let last = row.iter().rposition(|&w| w > 0.0).unwrap_or(0);
                let weights = row[first..=last.max(first)]
                    .iter()
                    .map(|&w| w as f32)
                    .collect();
                (first, weights)
            })
            .collect();
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(N_FFT);
        Self {
            n_mels,
            filters,
            window,
            fft,
        }
    }

    /// Number of mel bands per frame.
    pub fn n_mels(&self) -> usize {
        self.n_mels
    }

    /// The features of one full encoder window: `audio` (at most [`CHUNK_SAMPLES`]
    /// samples, zero-padded to that length) → `n_mels × CHUNK_FRAMES` values, row-major,
    /// appended to `out`.
    pub fn window_features(&self, audio: &[f32], out: &mut Vec<f32>) {
        self.features(audio, CHUNK_FRAMES, out);
    }

    /// The features of an encoder window `frames` long (at most [`CHUNK_FRAMES`]; one
    /// frame per [`HOP_LENGTH`] samples, 10 ms): `audio`, cut or zero-padded to
    /// `frames × HOP_LENGTH` samples → `n_mels × frames` values, row-major, appended to
    /// `out`. CTranslate2 accepts windows shorter than Whisper's 30 s; the encoder's cost
    /// grows with the window, so a short turn in a short window is recognised sooner.
    pub fn features(&self, audio: &[f32], frames: usize, out: &mut Vec<f32>) {
        let frames = frames.clamp(1, CHUNK_FRAMES);
        let window_samples = frames * HOP_LENGTH;
        let audio = &audio[..audio.len().min(window_samples)];
        // Centred frames: reflect-pad N_FFT/2 on both sides of the zero-padded window.
        let pad = N_FFT / 2;
        let padded_len = window_samples + 2 * pad;
        let sample = |i: usize| -> f32 {
            // Index into the reflect-padded, zero-extended signal.
            let j = if i < pad {
                pad - i
            } else if i >= pad + window_samples {
                2 * (window_samples - 1) + pad - i
            } else {
                i - pad
            };
            audio.get(j).copied().unwrap_or(0.0)
        };
        debug_assert!(padded_len >= N_FFT);

        let mut log_mel = vec![0.0f32; self.n_mels * frames];
        let mut frame = self.fft.make_input_vec();
        let mut spectrum = self.fft.make_output_vec();
        let mut scratch = self.fft.make_scratch_vec();
        let mut power = [0.0f32; N_BINS];
        // Frames whose samples are all past the end of the audio are all zero: their
        // log-mel value is the floor, so only frames that touch the audio are transformed.
        let audio_frames = (audio.len() + pad).div_ceil(HOP_LENGTH).min(frames);
        let floor = 1e-10f32.log10();
        for t in 0..frames {
            if t >= audio_frames {
                for m in 0..self.n_mels {
                    log_mel[m * frames + t] = floor;
                }
                continue;
            }
            let start = t * HOP_LENGTH;
            for (k, x) in frame.iter_mut().enumerate() {
                *x = sample(start + k) * self.window[k];
            }
            self.fft
                .process_with_scratch(&mut frame, &mut spectrum, &mut scratch)
                .expect("buffers come from the plan, so their lengths match");
            for (p, c) in power.iter_mut().zip(spectrum.iter()) {
                *p = Complex::norm_sqr(c);
            }
            for (m, (first, weights)) in self.filters.iter().enumerate() {
                let energy: f32 = weights
                    .iter()
                    .zip(&power[*first..])
                    .map(|(w, p)| w * p)
                    .sum();
                log_mel[m * frames + t] = energy.max(1e-10).log10();
            }
        }
        let max = log_mel.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let lowest = max - 8.0;
        out.extend(log_mel.into_iter().map(|v| (v.max(lowest) + 4.0) / 4.0));
    }
}

/// Slaney-style mel filter bank with Slaney area normalisation (librosa's default, and
/// the bank Whisper was trained with): `n_mels × (n_fft / 2 + 1)` weights, row-major.
pub fn mel_filters(sample_rate: f64, n_fft: usize, n_mels: usize) -> Vec<f64> {
    let n_bins = n_fft / 2 + 1;
    let fft_freqs: Vec<f64> = (0..n_bins)
        .map(|i| i as f64 * sample_rate / n_fft as f64)
        .collect();
    let min_mel = hz_to_mel(0.0);
    let max_mel = hz_to_mel(sample_rate / 2.0);
    let mel_freqs: Vec<f64> = (0..n_mels + 2)
        .map(|i| mel_to_hz(min_mel + (max_mel - min_mel) * i as f64 / (n_mels + 1) as f64))
        .collect();
    let mut weights = vec![0.0; n_mels * n_bins];
    for m in 0..n_mels {
        let (lo, centre, hi) = (mel_freqs[m], mel_freqs[m + 1], mel_freqs[m + 2]);
        let norm = 2.0 / (hi - lo);
        for (b, &f) in fft_freqs.iter().enumerate() {
            let rising = (f - lo) / (centre - lo);
            let falling = (hi - f) / (hi - centre);
            weights[m * n_bins + b] = rising.min(falling).max(0.0) * norm;
        }
    }
    weights
}

// Slaney's mel scale: linear below 1 kHz, logarithmic above.
const F_SP: f64 = 200.0 / 3.0;
const MIN_LOG_HZ: f64 = 1000.0;
const MIN_LOG_MEL: f64 = MIN_LOG_HZ / F_SP;

fn log_step() -> f64 {
    6.4f64.ln() / 27.0
}

fn hz_to_mel(hz: f64) -> f64 {
    if hz >= MIN_LOG_HZ {
        MIN_LOG_MEL + (hz / MIN_LOG_HZ).ln() / log_step()
    } else {
        hz / F_SP
    }
}

fn mel_to_hz(mel: f64) -> f64 {
    if mel >= MIN_LOG_MEL {
        MIN_LOG_HZ * (log_step() * (mel - MIN_LOG_MEL)).exp()
    } else {
        mel * F_SP
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mel_scale_round_trips() {
        for hz in [0.0, 440.0, 999.0, 1000.0, 3000.0, 8000.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-6, "{hz}");
        }
    }

    #[test]
    fn filter_bank_matches_the_one_librosa_and_ct2rs_compute() {
        let ours = mel_filters(16_000.0, N_FFT, 80);
        let theirs = mel_spec::mel::mel(16_000.0, N_FFT, 80, None, None, false, true);
        assert_eq!(theirs.shape(), &[80, N_BINS]);
        for (a, b) in ours.iter().zip(theirs.iter()) {
            assert!((a - b).abs() < 1e-9, "{a} vs {b}");
        }
    }

    #[test]
    fn a_short_turn_is_one_window() {
        assert_eq!(split_at_pauses(&[]), vec![0..0]);
        assert_eq!(
            split_at_pauses(&vec![0.1; CHUNK_SAMPLES]),
            vec![0..CHUNK_SAMPLES]
        );
    }

    #[test]
    fn a_long_turn_is_cut_in_its_pause_not_at_thirty_seconds() {
        // Speech-like noise with one 300 ms pause at 27.0–27.3 s, 70 s long.
        let second = SAMPLE_RATE as usize;
        let mut audio: Vec<f32> = (0..70 * second)
            .map(|i| ((i * 7919) % 97) as f32 / 97.0 - 0.5)
            .collect();
        let pause = 27 * second..27 * second + 3 * second / 10;
        audio[pause.clone()].fill(0.0);
        let windows = split_at_pauses(&audio);
        assert!(pause.contains(&windows[0].end), "{windows:?}");
        // Windows are contiguous, cover everything and none is longer than 30 s.
        assert_eq!(windows[0].start, 0);
        assert_eq!(windows.last().unwrap().end, audio.len());
        assert!(windows.windows(2).all(|w| w[0].end == w[1].start));
        assert!(
            windows
                .iter()
                .all(|w| w.len() <= CHUNK_SAMPLES && !w.is_empty())
        );
        assert_eq!(windows.len(), 3);
    }

    #[test]
    fn the_sparse_filters_give_the_full_matrix_product() {
        let mel = LogMel::new(80);
        let dense = mel_filters(16_000.0, N_FFT, 80);
        let power: Vec<f32> = (0..N_BINS).map(|b| 1.0 + (b % 13) as f32).collect();
        for (m, (first, weights)) in mel.filters.iter().enumerate() {
            let sparse: f32 = weights
                .iter()
                .zip(&power[*first..])
                .map(|(w, p)| w * p)
                .sum();
            let full: f64 = (0..N_BINS)
                .map(|b| dense[m * N_BINS + b] * f64::from(power[b]))
                .sum();
            assert!(
                (f64::from(sparse) - full).abs() <= 1e-6 * full.abs().max(1e-3),
                "band {m}"
            );
        }
    }

    #[test]
    fn silence_is_the_floor_everywhere() {
        let mel = LogMel::new(80);
        let mut out = Vec::new();
        mel.window_features(&[], &mut out);
        assert_eq!(out.len(), 80 * CHUNK_FRAMES);
        // All values equal: log10(1e-10) = -10 → (−10 + 4) / 4.
        assert!(out.iter().all(|v| (*v - (-1.5)).abs() < 1e-6));
    }

    #[test]
    fn a_tone_lights_up_the_band_that_holds_it_and_pads_the_rest() {
        let mel = LogMel::new(80);
        let tone: Vec<f32> = (0..SAMPLE_RATE as usize)
            .map(|i| {
                (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / SAMPLE_RATE as f32).sin() * 0.5
            })
            .collect();
        let mut out = Vec::new();
        mel.window_features(&tone, &mut out);
        assert_eq!(out.len(), 80 * CHUNK_FRAMES);
        // Frame 50 is inside the tone: its loudest band is the one centred nearest 1 kHz.
        let frame = 50;
        let loudest = (0..80)
            .max_by(|&a, &b| {
                out[a * CHUNK_FRAMES + frame].total_cmp(&out[b * CHUNK_FRAMES + frame])
            })
            .unwrap();
        let centre = |m: usize| mel_to_hz(hz_to_mel(8000.0) * (m + 1) as f64 / 81.0);
        let nearest = (0..80)
            .min_by(|&a, &b| {
                (centre(a) - 1000.0)
                    .abs()
                    .total_cmp(&(centre(b) - 1000.0).abs())
            })
            .unwrap();
        assert_eq!(loudest, nearest);
        // The window's maximum maps to (max + 4) / 4 and everything is within 8 of it.
        let max = out.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let min = out.iter().copied().fold(f32::INFINITY, f32::min);
        assert!((max - min - 2.0).abs() < 1e-5, "range {min}..{max}");
        // Past the tone (2 s in) the frames sit at the clamp floor.
        assert!((out[10 * CHUNK_FRAMES + 2_000] - min).abs() < 1e-6);
    }
}
