//! Finds where the echo sits behind the reference, and notices when that
//! moves.
//!
//! The echo canceller (AEC3) estimates the echo path's delay itself, but
//! once it has settled it holds on to that estimate: when the room's delay
//! jumps mid-session (a Bluetooth speaker rebuffering, a loopback adapting
//! its rate, a device whose reported latency was wrong and is corrected) it
//! keeps cancelling at the old delay for seconds of far-end speech — measured
//! on a 40 → 300 ms jump at 0 dB, about seven — and meanwhile the
//! interviewer's own voice leaks through as if the candidate spoke. So the
//! capture measures the delay itself, independently of the canceller: when
//! it grows, the capture delays the reference by as much so the canceller
//! keeps seeing the path it settled on; when it shrinks, the canceller
//! starts afresh ([`crate::capture`] holds the delay line and the policy).
//!
//! The measure is the generalized cross-correlation with phase transform
//! (GCC-PHAT) of the microphone and the lined-up reference, both decimated
//! to about 8 kHz: every 20 ms over the last 0.2 s of microphone audio,
//! against lags from −20 ms to +490 ms. The phase transform whitens both
//! spectra, so the peak is sharp at the direct path even in a reverberant
//! room, and the candidate talking over the echo only lowers the peak, it
//! does not move it. A lag counts when its peak stands well out of the rest
//! of the correlation ([`MIN_PROMINENCE`]); the tracker reports a delay
//! when three measurements in a row agree, and a change when three in a row
//! agree on a lag more than [`MOVE_S`] from the current one.

use std::sync::Arc;

use realfft::num_complex::Complex32;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

/// Rate the correlation runs at (about; the decimation factor is whole).
const TARGET_RATE: u32 = 8_000;
/// Microphone audio correlated per measurement (s).
const WINDOW_S: f64 = 0.2;
/// Longest echo delay searched (s).
const MAX_LAG_S: f64 = 0.5;
/// Echo heard this much before its reference is still found (s): reported
/// latencies can be a little off.
const MIN_LAG_S: f64 = 0.03;
/// Lags this close to either end of the searched range are not taken (s).
const EDGE_S: f64 = 0.01;
/// Time between measurements (s).
const HOP_S: f64 = 0.02;
/// A peak this many times the correlation's RMS over the searched lags is
/// a measurement.
pub const MIN_PROMINENCE: f32 = 10.0;
/// Measurements in a row that must agree on a lag.
const CONFIRMATIONS: u32 = 3;
/// Two measurements agree when within this (s).
const AGREE_S: f64 = 0.001;
/// A delay this far from the current one is a move (s).
pub const MOVE_S: f64 = 0.004;
/// How far the phase transform whitens the cross-spectrum (1: fully, which
/// lifts the bands the echo does not reach to the same weight as those it
/// does; a little less keeps a low-passed or quiet echo's peak clear).
const PHAT_BETA: f32 = 0.75;
/// The band correlated (Hz): where speech, and so its echo, has energy.
const LOW_HZ: f64 = 150.0;
const HIGH_HZ: f64 = 3_400.0;
/// Below this mean power (dBFS) a signal is too quiet to correlate.
const QUIET_DB: f32 = -65.0;

/// A fixed-length history of the newest samples.
#[derive(Debug, Clone)]
struct History {
    samples: Vec<f32>,
    /// Index of the oldest sample.
    head: usize,
}

impl History {
    fn new(len: usize) -> Self {
        Self {
            samples: vec![0.0; len],
            head: 0,
        }
    }

    fn push(&mut self, x: f32) {
        self.samples[self.head] = x;
        self.head = (self.head + 1) % self.samples.len();
    }

    /// Copies the `out.len()` samples that end `before` samples ago.
    fn copy_tail(&self, before: usize, out: &mut [f32]) {
        let n = self.samples.len();
        let start = self.head + n - before - out.len();
        for (k, o) in out.iter_mut().enumerate() {
            *o = self.samples[(start + k) % n];
        }
    }
}

/// The echo delay tracker for one capture stream (see the module docs).
pub struct EchoDelayTracker {
    factor: usize,
    rate: f64,
    window: usize,
    max_lag: usize,
    min_lag: usize,
    hop: usize,
    /// Partial sums of the decimation.
    acc: (f32, f32, usize),
    mic: History,
    reference: History,
    since: usize,
    pushed: usize,
    forward: Arc<dyn RealToComplex<f32>>,
    inverse: Arc<dyn ComplexToReal<f32>>,
    x: Vec<f32>,
    y: Vec<f32>,
    xs: Vec<Complex32>,
    ys: Vec<Complex32>,
    scratch: Vec<Complex32>,
    corr: Vec<f32>,
    /// The last measurement not yet confirmed (lag in s) and how many in a
    /// row agreed with it.
    candidate: Option<(f64, u32)>,
    current: Option<f64>,
    changed: bool,
    /// The lag the latest measurement found, if it found the echo.
    latest: Option<f64>,
}

impl std::fmt::Debug for EchoDelayTracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EchoDelayTracker")
            .field("rate", &self.rate)
            .field("current", &self.current)
            .finish()
    }
}

/// One GCC-PHAT measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measurement {
    /// How long after its reference the echo is heard (s).
    pub lag_s: f64,
    /// The peak over the correlation's RMS.
    pub prominence: f32,
}

impl EchoDelayTracker {
    /// A tracker for microphone and reference blocks at `rate` Hz.
    pub fn new(rate: u32) -> Self {
        let factor = (rate / TARGET_RATE).max(1) as usize;
        let r = f64::from(rate) / factor as f64;
        let window = (WINDOW_S * r) as usize;
        let max_lag = (MAX_LAG_S * r) as usize;
        let min_lag = (MIN_LAG_S * r) as usize;
        let len = (window + max_lag + min_lag).next_power_of_two();
        let mut planner = RealFftPlanner::<f32>::new();
        let forward = planner.plan_fft_forward(len);
        let inverse = planner.plan_fft_inverse(len);
        let scratch_len = forward
            .get_scratch_len()
            .max(inverse.get_scratch_len())
            .max(1);
        Self {
            factor,
            rate: r,
            window,
            max_lag,
            min_lag,
            hop: ((HOP_S * r) as usize).max(1),
            acc: (0.0, 0.0, 0),
            mic: History::new(window + min_lag),
            reference: History::new(window + max_lag + min_lag),
            since: 0,
            pushed: 0,
            x: forward.make_input_vec(),
            y: forward.make_input_vec(),
            xs: forward.make_output_vec(),
            ys: forward.make_output_vec(),
            scratch: vec![Complex32::default(); scratch_len],
            corr: inverse.make_output_vec(),
            forward,
            inverse,
            candidate: None,
            current: None,
            changed: false,
            latest: None,
        }
    }

    /// Takes one block: `mic` as captured (before echo cancellation) and
    /// `reference` lined up with it, of equal length. Measures when a hop
    /// is complete; returns the measurement, if it found the echo.
    pub fn push(&mut self, mic: &[f32], reference: &[f32]) -> Option<Measurement> {
        let mut found = None;
        for (&m, &r) in mic.iter().zip(reference) {
            self.acc.0 += m;
            self.acc.1 += r;
            self.acc.2 += 1;
            if self.acc.2 == self.factor {
                self.mic.push(self.acc.0);
                self.reference.push(self.acc.1);
                self.acc = (0.0, 0.0, 0);
                self.pushed += 1;
                self.since += 1;
                if self.since >= self.hop && self.pushed >= self.reference.samples.len() {
                    self.since = 0;
                    let m = self.measure();
                    self.latest = m.map(|m| m.lag_s);
                    if let Some(m) = m {
                        self.decide(m.lag_s);
                        found = Some(m);
                    }
                }
            }
        }
        found
    }

    /// The confirmed echo delay behind the reference (s), if known.
    pub fn delay_s(&self) -> Option<f64> {
        self.current
    }

    /// The lag the latest measurement found (s), if it found the echo.
    pub fn latest_s(&self) -> Option<f64> {
        self.latest
    }

    /// Whether the echo is moving: the latest measurement found it, clearly,
    /// away from the confirmed delay, and the move is not confirmed yet.
    /// Sound at the microphone then is the far end's, at a delay the
    /// canceller does not model yet; a candidate talking over it makes the
    /// correlation's peak fall, so this does not hold for them.
    pub fn moving(&self) -> bool {
        matches!((self.current, self.latest), (Some(d), Some(l)) if (d - l).abs() > MOVE_S)
    }

    /// Whether the confirmed delay is new since the last call.
    pub fn take_change(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }

    fn decide(&mut self, lag: f64) {
        let run = match self.candidate {
            Some((c, n)) if (c - lag).abs() <= AGREE_S => n + 1,
            _ => 1,
        };
        self.candidate = Some((lag, run));
        if run < CONFIRMATIONS {
            return;
        }
        let moved = match self.current {
            None => true,
            Some(d) => (d - lag).abs() > MOVE_S,
        };
        if moved {
            self.current = Some(lag);
            self.changed = true;
        }
    }

    fn measure(&mut self) -> Option<Measurement> {
        let w = self.window;
        let span = w + self.max_lag + self.min_lag;
        self.x.fill(0.0);
        self.y.fill(0.0);
        // The microphone's window ends `min_lag` ago, so an echo heard
        // before its reference is still inside the reference span.
        self.mic.copy_tail(0, &mut self.x[..w + self.min_lag]);
        self.x[w..w + self.min_lag].fill(0.0);
        self.reference.copy_tail(0, &mut self.y[..span]);
        let quiet = |s: &[f32]| {
            let p = s.iter().map(|v| v * v).sum::<f32>() / s.len() as f32;
            10.0 * (p / (self.factor * self.factor) as f32).max(1e-12).log10() < QUIET_DB
        };
        if quiet(&self.x[..w]) || quiet(&self.y[..span]) {
            return None;
        }
        self.forward
            .process_with_scratch(&mut self.x, &mut self.xs, &mut self.scratch)
            .ok()?;
        self.forward
            .process_with_scratch(&mut self.y, &mut self.ys, &mut self.scratch)
            .ok()?;
        let mut top = 0.0f32;
        for (a, b) in self.xs.iter_mut().zip(&self.ys) {
            *a = a.conj() * b;
            top = top.max(a.norm());
        }
        let floor = top * 1e-4 + 1e-20;
        let bins = self.xs.len();
        let hz = |k: usize| k as f64 * self.rate / (2.0 * (bins - 1) as f64);
        for (k, v) in self.xs.iter_mut().enumerate() {
            if (LOW_HZ..=HIGH_HZ).contains(&hz(k)) {
                *v /= (v.norm() + floor).powf(PHAT_BETA);
            } else {
                *v = Complex32::default();
            }
        }
        // A real inverse transform needs real DC and Nyquist bins.
        if let Some(first) = self.xs.first_mut() {
            first.im = 0.0;
        }
        if let Some(last) = self.xs.last_mut() {
            last.im = 0.0;
        }
        self.inverse
            .process_with_scratch(&mut self.xs, &mut self.corr, &mut self.scratch)
            .ok()?;
        // corr[m] = Σ x[j]·y[j + m]; the echo lag is max_lag − m.
        let lags = &self.corr[..=self.max_lag + self.min_lag];
        // A peak at the very ends of the searched range is where the
        // windows barely overlap: not an echo.
        let edge = (EDGE_S * self.rate) as usize;
        let (m, peak) = lags
            .iter()
            .copied()
            .enumerate()
            .take(lags.len() - edge)
            .skip(edge)
            .fold(
                (0, f32::MIN),
                |best, (i, v)| if v > best.1 { (i, v) } else { best },
            );
        let rms = (lags.iter().map(|v| v * v).sum::<f32>() / lags.len() as f32).sqrt();
        let prominence = peak / rms.max(1e-20);
        if prominence.is_nan() || prominence < MIN_PROMINENCE {
            return None;
        }
        // Parabolic interpolation of the peak.
        let at = |i: usize| lags.get(i).copied().unwrap_or(peak);
        let (l, r) = (at(m.wrapping_sub(1)), at(m + 1));
        let denom = l - 2.0 * peak + r;
        let shift = if m > 0 && denom < 0.0 {
            (0.5 * (l - r) / denom).clamp(-0.5, 0.5)
        } else {
            0.0
        };
        let lag = (self.max_lag as f64 - (m as f64 + f64::from(shift))) / self.rate;
        Some(Measurement {
            lag_s: lag,
            prominence,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Speech-like test signal: noise bursts of varying length and level.
    fn bursts(len: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        let mut rnd = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f32 / (1u64 << 53) as f32 * 2.0 - 1.0
        };
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            let on = 2_000 + ((rnd() + 1.0) * 6_000.0) as usize;
            let level = 0.05 + (rnd() + 1.0) * 0.1;
            let mut lp = 0.0f32;
            for _ in 0..on {
                lp = 0.7 * lp + 0.3 * rnd();
                out.push(lp * level);
            }
            let off = ((rnd() + 1.0) * 3_000.0) as usize;
            out.extend(std::iter::repeat_n(0.0, off));
        }
        out.truncate(len);
        out
    }

    /// Feeds `far` as the reference and `far` delayed by `delay(t)` samples
    /// (plus `near`) as the microphone, in 10 ms blocks at 48 kHz; returns
    /// the confirmed delays with the time (s) each was first reported.
    fn run(far: &[f32], near: &[f32], delay: impl Fn(usize) -> usize) -> Vec<(f64, f64)> {
        run_watching(far, near, delay).0
    }

    /// As [`run`], and the times (s) of the blocks after which the echo was
    /// said to be moving.
    fn run_watching(
        far: &[f32],
        near: &[f32],
        delay: impl Fn(usize) -> usize,
    ) -> (Vec<(f64, f64)>, Vec<f64>) {
        let mut moving = Vec::new();
        let mut t = EchoDelayTracker::new(48_000);
        let mut mic = vec![0.0f32; 480];
        let mut reports = Vec::new();
        for (b, reference) in far.chunks_exact(480).enumerate() {
            for (k, m) in mic.iter_mut().enumerate() {
                let i = b * 480 + k;
                let d = delay(i);
                let echo = if i >= d { far[i - d] } else { 0.0 };
                *m = 0.8 * echo + near.get(i).copied().unwrap_or(0.0);
            }
            t.push(&mic, reference);
            if t.take_change() {
                reports.push((b as f64 * 0.01, t.delay_s().unwrap()));
            }
            if t.moving() {
                moving.push(b as f64 * 0.01);
            }
        }
        (reports, moving)
    }

    #[test]
    fn finds_a_fixed_delay() {
        let far = bursts(48_000 * 4, 7);
        let r = run(&far, &[], |_| 48 * 120);
        assert_eq!(r.len(), 1, "{r:?}");
        assert!((r[0].1 - 0.120).abs() < 0.001, "{r:?}");
        assert!(r[0].0 < 1.5, "{r:?}");
    }

    #[test]
    fn follows_a_jump_within_a_few_hops() {
        let far = bursts(48_000 * 6, 11);
        let jump = 48_000 * 3;
        let r = run(&far, &[], |i| if i < jump { 48 * 300 } else { 48 * 80 });
        assert_eq!(r.len(), 2, "{r:?}");
        assert!((r[0].1 - 0.300).abs() < 0.001, "{r:?}");
        assert!((r[1].1 - 0.080).abs() < 0.001, "{r:?}");
        assert!(r[1].0 - 3.0 < 0.5, "took {:.2} s: {r:?}", r[1].0 - 3.0);
    }

    #[test]
    fn a_jump_is_seen_moving_before_it_is_confirmed() {
        let far = bursts(48_000 * 6, 11);
        let jump = 48_000 * 3;
        let (r, moving) = run_watching(&far, &[], |i| if i < jump { 48 * 300 } else { 48 * 80 });
        let confirmed = r[1].0;
        let first = *moving.first().expect("the jump was never seen moving");
        assert!(first > 3.0 && first < confirmed, "{first} {moving:?} {r:?}");
        assert!(
            moving.iter().all(|&t| t < confirmed),
            "still moving after the move was confirmed: {moving:?}"
        );
    }

    #[test]
    fn a_steady_echo_with_a_talker_over_it_is_never_moving() {
        let far = bursts(48_000 * 6, 3);
        let near = bursts(48_000 * 6, 99);
        let (_, moving) = run_watching(&far, &near, |_| 48 * 40);
        assert!(moving.is_empty(), "{moving:?}");
    }

    #[test]
    fn a_talker_over_the_echo_does_not_move_it() {
        let far = bursts(48_000 * 6, 3);
        let near = bursts(48_000 * 6, 99);
        let r = run(&far, &near, |_| 48 * 40);
        assert_eq!(r.len(), 1, "{r:?}");
        assert!((r[0].1 - 0.040).abs() < 0.001, "{r:?}");
    }

    #[test]
    fn echo_heard_a_little_before_its_reference_is_found() {
        let far = bursts(48_000 * 4, 5);
        let lead = 48 * 20;
        let mut t = EchoDelayTracker::new(48_000);
        let mut mic = vec![0.0f32; 480];
        for (b, reference) in far.chunks_exact(480).enumerate() {
            for (k, m) in mic.iter_mut().enumerate() {
                *m = far.get(b * 480 + k + lead).copied().unwrap_or(0.0);
            }
            t.push(&mic, reference);
        }
        let d = t.delay_s().expect("no delay found");
        assert!((d + 0.020).abs() < 0.001, "{d}");
    }

    #[test]
    fn silence_and_unrelated_sound_give_no_delay() {
        let far = bursts(48_000 * 3, 1);
        let near = bursts(48_000 * 3, 2);
        let mut t = EchoDelayTracker::new(48_000);
        for (reference, mic) in far.chunks_exact(480).zip(near.chunks_exact(480)) {
            t.push(mic, reference);
        }
        for reference in far.chunks_exact(480) {
            t.push(&[0.0; 480], reference);
        }
        assert_eq!(t.delay_s(), None);
    }
}
