//! Lines the played reference up with the microphone: for every 10 ms
//! microphone block, the reference that was heard over the same span, on
//! the microphone's clock.
//!
//! Handed "whatever the playback callback wrote by now", the echo canceller
//! must find a path made of the output latency, the room, the input latency
//! and the worker's lumps, and the two devices' clocks drift apart (±100 ppm
//! is 5 samples a second at 48 kHz), so that path never stands still. So
//! each reference sample carries when it is heard and each microphone sample
//! when it was captured ([`Heard`], from the latencies the devices report);
//! a [`ClockFit`] per stream turns those jittery callback times into a
//! smooth sample → time line (least squares over its stamps), and the
//! [`ReferenceAligner`] produces, per microphone block, the reference heard
//! [`LEAD`] after it, resampled to the microphone's clock (cubic
//! interpolation) at the ratio of the two fitted rates and steered slowly
//! onto the timestamps. What matters most to the canceller is that the path
//! it sees stands still — its linear filter can follow a slow drift, not a
//! reference that wanders with the stamps' jitter — so the fitted ratio is
//! trusted only as far as the stamps seen so far can tell, and the steering
//! is slow and bounded. The canceller then sees the acoustic path plus a
//! fixed lead, at one rate and without drift; a device that reports a
//! changed latency (by more than stamps jitter) moves the reference with it. A reference at another rate
//! is first converted to the microphone's rate (rubato), its stamps moved by
//! the converter's delay.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::echo_link::Heard;
use crate::error::AudioError;
use crate::resample::MonoResampler;

/// How much later than the microphone block the reference handed with it is
/// heard: the reported latencies may be a little off, and the canceller
/// cannot cancel an echo that arrives before its reference. Kept short: the
/// canceller's delay search then spends its range on the room (measured
/// with `benches/echo_paths.rs`: 5 ms cancels as well as or better than
/// 20 or 60 ms on every simulated path).
pub const LEAD: Duration = Duration::from_millis(5);
/// A stamp this far off the fitted line is a discontinuity (a stream
/// restarted, a latency changed): the line restarts from it.
const JUMP_S: f64 = 0.1;
/// The reference position is put straight onto the timestamps when it is
/// this far off them (a reported latency change, or the first stamps' line
/// corrected by the next ones): a path that jumps now and then is found
/// again by the canceller, one that moves all the time is not ...
const REANCHOR_S: f64 = 0.002;
/// ... and otherwise steered onto them over this long, ...
const STEER_S: f64 = 4.0;
/// ... at most this fast (a rate offset, 20 ppm): the echo canceller's
/// linear filter follows a path that moves this slowly, not one that moves
/// as fast as the stamps jitter (measured over a PulseAudio loopback, the
/// first seconds' stamps steered the reference by up to 5 ms a second and
/// the filter cancelled 3 dB; held to this, 21-24 dB).
const MAX_STEER: f64 = 20e-6;
/// The fitted clocks' rate ratio is trusted to this many ppm per second of
/// stamps seen (up to [`MAX_PPM`]): a second-order loop's first estimates
/// follow its stamps' jitter (±1,000 ppm and more over PulseAudio's in the
/// first three seconds) while real devices differ by about ±100 ppm, which
/// this trusts after ten seconds.
const TRUST_PPM_PER_S: f64 = 10.0;
/// The fitted rate stays within this of the nominal one.
const MAX_PPM: f64 = 2000.0;
/// Reference kept behind the current position (s).
const HISTORY_S: f64 = 1.0;

/// A stream's sample → time line, fitted to its callback stamps by least
/// squares, each stamp weighted by its age (half the weight after
/// [`FIT_HALF_LIFE_S`]): every stamp seen counts, so the line's slope (the
/// clock's rate) is as good as the stamps seen so far allow — a few ppm
/// after a few seconds of PulseAudio's stamps, where a delay-locked loop
/// still wanders by hundreds — and it follows a clock that slowly changes.
#[derive(Debug, Clone)]
pub struct ClockFit {
    nominal: f64,
    /// Seconds per sample, as fitted.
    period: f64,
    /// The first stamp (index, time): the sums are relative to it.
    origin: Option<(f64, f64)>,
    first_time: f64,
    last_time: f64,
    /// Weighted sums over the stamps (relative index `i`, relative time
    /// `t`): 1, t, i, t², t·i.
    sums: [f64; 5],
    /// The line: index = `line.0` + `line.1` × time (relative), once two
    /// stamps are apart.
    line: Option<(f64, f64)>,
}

/// Stamps lose half their weight in the fit over this long (s).
const FIT_HALF_LIFE_S: f64 = 60.0;

impl ClockFit {
    /// A line for a stream of nominally `rate` Hz.
    pub fn new(rate: u32) -> Self {
        let nominal = 1.0 / f64::from(rate.max(1));
        Self {
            nominal,
            period: nominal,
            origin: None,
            first_time: 0.0,
            last_time: 0.0,
            sums: [0.0; 5],
            line: None,
        }
    }

    /// Sample `index` was heard at `time` (seconds on a common base).
    pub fn observe(&mut self, index: f64, time: f64) {
        let Some((i0, t0)) = self.origin else {
            self.restart(index, time);
            return;
        };
        if let Some(predicted) = self.time_of(index)
            && (time - predicted).abs() > JUMP_S
        {
            // A discontinuity: the line starts again from here.
            self.restart(index, time);
            return;
        }
        let decay = 0.5f64.powf((time - self.last_time).max(0.0) / FIT_HALF_LIFE_S);
        self.last_time = self.last_time.max(time);
        let (i, t) = (index - i0, time - t0);
        for (sum, x) in self.sums.iter_mut().zip([1.0, t, i, t * t, t * i]) {
            *sum = *sum * decay + x;
        }
        let [n, st, si, stt, sti] = self.sums;
        let var = n * stt - st * st;
        if var <= f64::EPSILON * n * stt.max(1e-12) {
            return;
        }
        let bound = self.nominal * MAX_PPM * 1e-6;
        // Samples per second, its period held within `MAX_PPM` of nominal.
        let slope = (n * sti - st * si) / var;
        self.period = (1.0 / slope).clamp(self.nominal - bound, self.nominal + bound);
        let slope = 1.0 / self.period;
        self.line = Some(((si - slope * st) / n, slope));
    }

    fn restart(&mut self, index: f64, time: f64) {
        if self.origin.is_none() {
            self.first_time = time;
        }
        self.origin = Some((index, time));
        self.last_time = time;
        self.sums = [1.0, 0.0, 0.0, 0.0, 0.0];
        self.line = Some((0.0, 1.0 / self.period));
    }

    /// Whether a stamp has been seen.
    pub fn is_locked(&self) -> bool {
        self.origin.is_some()
    }

    /// Seconds of stamps seen.
    pub fn span(&self) -> f64 {
        self.last_time - self.first_time
    }

    /// Seconds per sample, as fitted.
    pub fn period(&self) -> f64 {
        self.period
    }

    /// When sample `index` is heard.
    pub fn time_of(&self, index: f64) -> Option<f64> {
        let ((i0, t0), (a, b)) = (self.origin?, self.line?);
        Some(t0 + (index - i0 - a) / b)
    }

    /// Which (fractional) sample is heard at `time`.
    pub fn index_at(&self, time: f64) -> Option<f64> {
        let ((i0, t0), (a, b)) = (self.origin?, self.line?);
        Some(i0 + a + b * (time - t0))
    }
}

/// One playback stream's reference, converted to the microphone's rate.
#[derive(Debug)]
struct ReferenceStream {
    clock: ClockFit,
    resampler: MonoResampler,
    /// Input samples seen (the stamps' index space).
    input_seen: u64,
    converted: Vec<f32>,
    history: VecDeque<f32>,
    /// Index (microphone-rate samples) of `history[0]`.
    first: u64,
    /// The reference position (fractional index) for the next microphone
    /// sample, and that sample's index.
    position: Option<(f64, u64)>,
}

impl ReferenceStream {
    fn sample(&self, i: i64) -> f32 {
        if i < self.first as i64 {
            return 0.0;
        }
        self.history
            .get((i - self.first as i64) as usize)
            .copied()
            .unwrap_or(0.0)
    }

    /// Catmull-Rom interpolation at fractional index `x`.
    fn at(&self, x: f64) -> f32 {
        let i = x.floor();
        let t = (x - i) as f32;
        let i = i as i64;
        let (p0, p1, p2, p3) = (
            self.sample(i - 1),
            self.sample(i),
            self.sample(i + 1),
            self.sample(i + 2),
        );
        p1 + 0.5
            * t
            * (p2 - p0
                + t * (2.0 * p0 - 5.0 * p1 + 4.0 * p2 - p3 + t * (3.0 * (p1 - p2) + p3 - p0)))
    }
}

/// Lines the reference up with the microphone (see the module docs).
#[derive(Debug)]
pub struct ReferenceAligner {
    rate: u32,
    base: Option<Instant>,
    capture: ClockFit,
    reference: Option<ReferenceStream>,
}

impl ReferenceAligner {
    /// An aligner for a microphone at `rate` Hz, with no reference yet.
    pub fn new(rate: u32) -> Self {
        Self {
            rate,
            base: None,
            capture: ClockFit::new(rate),
            reference: None,
        }
    }

    fn seconds(&mut self, at: Instant) -> f64 {
        let base = *self.base.get_or_insert(at);
        match at.checked_duration_since(base) {
            Some(d) => d.as_secs_f64(),
            None => -base.duration_since(at).as_secs_f64(),
        }
    }

    /// A new playback stream at `rate` Hz: its reference replaces the last.
    pub fn new_reference(&mut self, rate: u32) -> Result<(), AudioError> {
        self.reference = Some(ReferenceStream {
            clock: ClockFit::new(self.rate),
            resampler: MonoResampler::new(rate, self.rate)?,
            input_seen: 0,
            converted: Vec::with_capacity(self.rate as usize / 10),
            history: VecDeque::with_capacity((self.rate as f64 * HISTORY_S * 2.0) as usize),
            first: 0,
            position: None,
        });
        Ok(())
    }

    /// Played samples of the current reference stream, the first of them
    /// heard as `heard` says (its index in the playback stream).
    pub fn push_reference(&mut self, samples: &[f32], heard: Heard) -> Result<(), AudioError> {
        let time = self.seconds(heard.at);
        let rate = self.rate;
        let Some(r) = self.reference.as_mut() else {
            return Ok(());
        };
        let ratio = f64::from(rate) / f64::from(r.resampler.in_rate());
        // Samples the ring dropped: the next stamp says where the stream is.
        if heard.index > r.input_seen {
            let gap = heard.index - r.input_seen;
            let zeros = [0.0f32; 480];
            let mut left = gap.min(u64::from(r.resampler.in_rate()));
            while left > 0 {
                let n = left.min(480) as usize;
                r.converted.clear();
                r.resampler.process(&zeros[..n], &mut r.converted)?;
                r.history.extend(r.converted.iter().copied());
                left -= n as u64;
            }
            r.input_seen = heard.index;
        }
        let index = heard.index as f64 * ratio + r.resampler.delay_frames() as f64;
        r.clock.observe(index, time);
        r.converted.clear();
        r.resampler.process(samples, &mut r.converted)?;
        r.history.extend(r.converted.iter().copied());
        r.input_seen += samples.len() as u64;
        let keep = (f64::from(rate) * HISTORY_S) as i64;
        let behind = match r.position {
            Some((p, _)) => p as i64 - r.first as i64,
            None => r.history.len() as i64,
        };
        let drop = (behind - keep).clamp(0, r.history.len() as i64) as usize;
        r.history.drain(..drop);
        r.first += drop as u64;
        Ok(())
    }

    /// The loudest 10 ms of reference already played but due after the
    /// block last rendered, within `span` of it (mean square; 0 when none).
    /// A device's first latency reports can be off by more than the room's
    /// delay, and then the echo reaches the microphone before the reference
    /// the timestamps line up with it: what is coming shows that the far
    /// end is active all the same.
    pub fn peak_ahead(&self, span: Duration) -> f32 {
        let Some(r) = self.reference.as_ref() else {
            return 0.0;
        };
        let Some((pos, _)) = r.position else {
            return 0.0;
        };
        let block = (self.rate / 100).max(1) as usize;
        let start = (pos.max(r.first as f64) as u64).saturating_sub(r.first) as usize;
        let end =
            (start + (span.as_secs_f64() * f64::from(self.rate)) as usize).min(r.history.len());
        let mut peak = 0.0f32;
        let mut k = start;
        while k < end {
            let n = block.min(end - k);
            let power = r.history.range(k..k + n).map(|x| x * x).sum::<f32>() / n as f32;
            peak = peak.max(power);
            k += n;
        }
        peak
    }

    /// Microphone sample `index` was captured at `at`.
    pub fn observe_capture(&mut self, index: u64, at: Instant) {
        let time = self.seconds(at);
        self.capture.observe(index as f64, time);
    }

    /// Fills `out` with the reference for microphone samples
    /// `index .. index + out.len()`: what was heard [`LEAD`] after them
    /// (silence where nothing was played).
    pub fn render(&mut self, index: u64, out: &mut [f32]) {
        let rate = f64::from(self.rate);
        let lead = LEAD.as_secs_f64();
        let Some(r) = self.reference.as_mut() else {
            out.fill(0.0);
            return;
        };
        let target = self
            .capture
            .time_of(index as f64)
            .and_then(|t| r.clock.index_at(t + lead));
        let Some(target) = target else {
            out.fill(0.0);
            return;
        };
        let ratio = self.capture.period() / r.clock.period();
        let mut pos = match r.position {
            Some((p, at)) if at == index && (target - p).abs() < REANCHOR_S * rate => p,
            _ => target,
        };
        // The fits' early rates are their stamps' jitter, not the clocks:
        // trusted only as far as the stamps seen so far can tell.
        let trusted =
            (TRUST_PPM_PER_S * self.capture.span().min(r.clock.span())).min(MAX_PPM) * 1e-6;
        let ratio = 1.0 + (ratio - 1.0).clamp(-trusted, trusted);
        let steer = ((target - pos) / (STEER_S * rate)).clamp(-MAX_STEER, MAX_STEER);
        let step = ratio + steer;
        for (k, o) in out.iter_mut().enumerate() {
            *o = r.at(pos + k as f64 * step);
        }
        pos += out.len() as f64 * step;
        r.position = Some((pos, index + out.len() as u64));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(base: Instant, t: f64) -> Instant {
        base + Duration::from_secs_f64(t)
    }

    #[test]
    fn a_clock_fit_finds_the_rate_through_jitter() {
        let mut c = ClockFit::new(48_000);
        let mut noise = 1u32;
        // 60 s of 10 ms callbacks from a device 100 ppm fast, ±1 ms jitter.
        for k in 0..6000u32 {
            noise = noise.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let jitter = (f64::from(noise >> 16) / 65_536.0 - 0.5) * 0.002;
            let index = f64::from(k) * 480.0;
            c.observe(index, index / (48_000.0 * 1.0001) + jitter);
        }
        let ppm = (1.0 / (c.period() * 48_000.0) - 1.0) * 1e6;
        assert!((ppm - 100.0).abs() < 10.0, "{ppm} ppm");
    }

    #[test]
    fn what_is_played_but_not_yet_due_is_seen_ahead() {
        // The reference is heard from 0 s; a burst is heard at 0.2-0.25 s.
        // After rendering the microphone's first 50 ms, the burst is 150 ms
        // ahead: inside a 300 ms look, outside a 100 ms one.
        let base = Instant::now();
        let mut a = ReferenceAligner::new(48_000);
        a.new_reference(48_000).unwrap();
        let mut played = vec![0.0f32; 24_000];
        played[9_600..12_000].fill(0.5);
        for (k, chunk) in played.chunks(960).enumerate() {
            let heard = Heard {
                index: k as u64 * 960,
                at: ms(base, k as f64 * 0.02),
            };
            a.push_reference(chunk, heard).unwrap();
        }
        let mut block = [0.0f32; 480];
        for b in 0..5u64 {
            let index = b * 480;
            a.observe_capture(index + 479, ms(base, (index + 479) as f64 / 48_000.0));
            a.render(index, &mut block);
        }
        assert!(a.peak_ahead(Duration::from_millis(300)) > 0.2);
        assert!(a.peak_ahead(Duration::from_millis(100)) < 1e-6);
    }

    /// Where the clicks of a reference with one every 0.5 s land among the
    /// microphone's samples (less where each was played), over `seconds`
    /// of 20 ms playback and 10 ms capture callbacks: the playback clock
    /// `ppm` fast, every stamp off by up to ±`jitter_s` (uniform).
    fn click_offsets(seconds: u64, ppm: f64, jitter_s: f64) -> Vec<i64> {
        let base = Instant::now();
        let mut a = ReferenceAligner::new(48_000);
        a.new_reference(48_000).unwrap();
        let mut noise = 7u32;
        let mut jitter = move || {
            noise = noise.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (f64::from(noise >> 16) / 65_536.0 - 0.5) * 2.0 * jitter_s
        };
        let played_rate = 48_000.0 * (1.0 + ppm * 1e-6);
        let clicks = |k: u64| (k * 960..(k + 1) * 960).filter(|i| i % 24_000 == 0);
        let mut offsets = Vec::new();
        let mut block = [0.0f32; 480];
        let mut chunk = [0.0f32; 960];
        for b in 0..seconds * 100 {
            // Playback runs 200 ms ahead of the block rendered.
            for k in [2 * b, 2 * b + 1].into_iter().filter(|k| k % 2 == 0) {
                let k = k / 2 + 10;
                chunk.fill(0.0);
                for i in clicks(k) {
                    chunk[(i - k * 960) as usize] = 1.0;
                }
                let heard = Heard {
                    index: k * 960,
                    at: ms(base, (k * 960) as f64 / played_rate + jitter()),
                };
                a.push_reference(&chunk, heard).unwrap();
            }
            let index = b * 480;
            let end = index + 479;
            a.observe_capture(end, ms(base, end as f64 / 48_000.0 + jitter()));
            a.render(index, &mut block);
            if let Some(i) = block.iter().position(|x| *x > 0.5) {
                let heard_at = (index + i as u64) as f64 / 48_000.0;
                let nearest = (heard_at * played_rate / 24_000.0).round() * 24_000.0;
                offsets.push(((heard_at - nearest / played_rate) * 48_000.0).round() as i64);
            }
        }
        offsets
    }

    /// The clicks land where they were heard, less the lead: within
    /// `within` samples of it, and never moving faster than 50 ppm (12
    /// samples over 5 s at 48 kHz; the canceller's linear filter follows
    /// twice that, `tests/echo_paths.rs`).
    fn assert_steady(offsets: &[i64], within: i64) {
        let heard = -((LEAD.as_secs_f64() * 48_000.0).round() as i64);
        assert!(
            offsets.iter().all(|o| (o - heard).abs() <= within),
            "{offsets:?}"
        );
        let fastest = offsets.windows(11).map(|w| (w[10] - w[0]).abs()).max();
        assert!(fastest <= Some(12), "{offsets:?}");
    }

    #[test]
    fn stamps_that_jitter_do_not_move_the_reference() {
        // Both streams on one clock, every stamp off by up to ±5 ms (what
        // PulseAudio's first seconds look like): the path the canceller
        // sees stands still, within 2 ms of the stamps.
        let offsets = click_offsets(30, 0.0, 0.005);
        assert_eq!(offsets.len(), 60);
        assert_steady(&offsets, 96);
    }

    #[test]
    fn a_real_drift_between_the_clocks_is_followed() {
        // The playback clock 100 ppm fast (4.8 samples a second): left
        // alone, the clicks would move by 2.9 ms in a minute.
        let offsets = click_offsets(60, 100.0, 0.0005);
        assert_eq!(offsets.len(), 120);
        assert_steady(&offsets, 96);
        assert_steady(&offsets[offsets.len() - 11..], 12);
    }

    #[test]
    fn the_reference_is_handed_over_as_it_was_heard() {
        // Reference heard 45 ms after capture started; a click at its
        // sample 4800 (100 ms) is heard at 145 ms, so the microphone's
        // sample at 145 ms less the lead carries it.
        let base = Instant::now();
        let mut a = ReferenceAligner::new(48_000);
        a.new_reference(48_000).unwrap();
        let mut played = vec![0.0f32; 48_000];
        played[4800] = 1.0;
        for (k, chunk) in played.chunks(960).enumerate() {
            let heard = Heard {
                index: k as u64 * 960,
                at: ms(base, 0.045 + k as f64 * 0.02),
            };
            a.push_reference(chunk, heard).unwrap();
        }
        let mut found = None;
        let mut block = [0.0f32; 480];
        for b in 0..50u64 {
            let index = b * 480;
            a.observe_capture(index + 479, ms(base, (index + 479) as f64 / 48_000.0));
            a.render(index, &mut block);
            if let Some(i) = block.iter().position(|x| *x > 0.5) {
                found = Some(index + i as u64);
            }
        }
        let expected = ((0.145 - LEAD.as_secs_f64()) * 48_000.0).round() as u64;
        assert_eq!(found, Some(expected));
    }
}
