//! A simulated loudspeaker → room → microphone path, for the tests and the
//! benchmark that hold the echo canceller and the near-end speech decision
//! to laptop-speaker conditions.
//!
//! Real paths are not the fixed 40 ms delay a canceller passes easily: the
//! delay changes (device buffers, a loopback's rate adaptation), the capture
//! and playback clocks drift apart, the loudspeaker clips softly when loud,
//! the room reverberates, and the echo can reach the microphone at or above
//! the level that was played. [`EchoPath`] models each of those on one
//! sample stream: it is told each sample as the loudspeaker plays it and
//! returns what the microphone hears at the same moment on its own clock.
//! Deterministic (a fixed-seed generator), allocation-free after creation,
//! and cheap enough for debug-build tests (sparse early reflections and a
//! Schroeder reverberator instead of a long convolution).

/// How one simulated path behaves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EchoPathSpec {
    /// Acoustic + unreported device delay at the start, in ms.
    pub delay_ms: f64,
    /// The delay it changes to (equal to `delay_ms`: fixed), as a device
    /// buffer or a loopback's latency would change.
    pub delay_end_ms: f64,
    /// When (microphone time, s) the delay starts to change.
    pub change_at_s: f64,
    /// How long the change takes (s); the path is resampled meanwhile.
    pub glide_s: f64,
    /// Level of the echo at the microphone relative to what was played,
    /// in dB: the whole of it (direct sound, early reflections,
    /// reverberation), for sounds the loudspeaker does not clip (0 dB: as
    /// loud as the played signal).
    pub gain_db: f64,
    /// The microphone clock's offset from the loudspeaker clock, in parts
    /// per million (positive: the microphone runs fast).
    pub drift_ppm: f64,
    /// Reverberation time (−60 dB) of the room in seconds; 0 for none.
    pub rt60_s: f64,
    /// Drive of the loudspeaker's soft clipping, `tanh(drive·x) / drive`:
    /// unity gain for quiet sounds, peaks compressed towards `1 / drive`;
    /// 0 for a linear loudspeaker.
    pub clip_drive: f64,
    /// Level of the microphone's own noise, dBFS (e.g. −70).
    pub noise_dbfs: f64,
}

impl Default for EchoPathSpec {
    fn default() -> Self {
        Self {
            delay_ms: 40.0,
            delay_end_ms: 40.0,
            change_at_s: 5.0,
            glide_s: 0.2,
            gain_db: -12.0,
            drift_ppm: 0.0,
            rt60_s: 0.0,
            clip_drive: 0.0,
            noise_dbfs: -75.0,
        }
    }
}

/// A small fixed-seed generator (xorshift), so runs repeat exactly.
#[derive(Debug, Clone)]
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }
}

/// One feedback comb filter of the reverberator.
#[derive(Debug, Clone)]
struct Comb {
    buf: Vec<f64>,
    at: usize,
    feedback: f64,
}

impl Comb {
    fn run(&mut self, x: f64) -> f64 {
        let y = self.buf[self.at];
        self.buf[self.at] = x + y * self.feedback;
        self.at = (self.at + 1) % self.buf.len();
        y
    }
}

/// One all-pass diffuser of the reverberator.
#[derive(Debug, Clone)]
struct AllPass {
    buf: Vec<f64>,
    at: usize,
}

impl AllPass {
    fn run(&mut self, x: f64) -> f64 {
        let b = self.buf[self.at];
        let y = -0.5 * x + b;
        self.buf[self.at] = x + 0.5 * b;
        self.at = (self.at + 1) % self.buf.len();
        y
    }
}

/// The energy of the room's response to a unit impulse: the direct sound,
/// the early reflections and the reverberator's tail (run on copies, from
/// rest, until it has decayed by 90 dB). The path's gain is divided by its
/// root, so `gain_db` is the level of the whole echo.
fn room_energy(
    reflections: &[(f64, f64)],
    combs: &[Comb],
    allpasses: &[AllPass],
    reverb_gain: f64,
    rate: f64,
) -> f64 {
    let early: f64 = 1.0 + reflections.iter().map(|(_, l)| l * l).sum::<f64>();
    if reverb_gain == 0.0 {
        return early;
    }
    let mut combs = combs.to_vec();
    let mut allpasses = allpasses.to_vec();
    for c in &mut combs {
        c.buf.fill(0.0);
    }
    for a in &mut allpasses {
        a.buf.fill(0.0);
    }
    // The slowest comb decays 60 dB in RT60; run 1.5 RT60 and at least 0.1 s.
    let slowest = combs.iter().map(|c| c.feedback).fold(0.0, f64::max);
    let longest = combs.iter().map(|c| c.buf.len()).max().unwrap_or(1);
    let passes = if slowest > 0.0 {
        (-4.5 / slowest.log10()).ceil()
    } else {
        1.0
    };
    let samples = ((passes as usize + 1) * longest).max((0.1 * rate) as usize);
    let mut tail = 0.0;
    for n in 0..samples {
        let x = if n == 0 { 1.0 } else { 0.0 };
        let mut wet: f64 = combs.iter_mut().map(|c| c.run(x)).sum();
        for a in &mut allpasses {
            wet = a.run(wet);
        }
        tail += (wet * reverb_gain).powi(2);
    }
    early + tail
}

/// The simulated path (see the module docs).
#[derive(Debug, Clone)]
pub struct EchoPath {
    spec: EchoPathSpec,
    rate: f64,
    /// What the loudspeaker played, as a ring (long enough for the largest
    /// delay and the early reflections).
    played: Vec<f64>,
    written: u64,
    /// Microphone samples produced.
    heard: u64,
    gain: f64,
    reflections: [(f64, f64); 6],
    combs: Vec<Comb>,
    allpasses: Vec<AllPass>,
    reverb_gain: f64,
    noise: Noise,
    noise_gain: f64,
}

impl EchoPath {
    /// A path at `rate` Hz.
    pub fn new(spec: EchoPathSpec, rate: u32) -> Self {
        let r = f64::from(rate);
        let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
        // Early reflections 3–25 ms after the direct sound, −6 to −14 dB.
        let mut reflections = [(0.0, 0.0); 6];
        for (k, refl) in reflections.iter_mut().enumerate() {
            let ms = 3.0 + 22.0 * (k as f64 + 0.5 + 0.4 * noise.next()) / 6.0;
            let level = 0.5 * 10f64.powf(-(k as f64) * 1.5 / 20.0) * noise.next().signum();
            *refl = (ms * r / 1000.0, level);
        }
        let combs: Vec<Comb> = [29.7, 37.1, 41.1, 43.7]
            .iter()
            .map(|ms| {
                let len = (ms * r / 1000.0) as usize;
                // Each pass through the comb loses 60 dB × len / RT60.
                let feedback = if spec.rt60_s > 0.0 {
                    10f64.powf(-3.0 * len as f64 / (r * spec.rt60_s))
                } else {
                    0.0
                };
                Comb {
                    buf: vec![0.0; len],
                    at: 0,
                    feedback,
                }
            })
            .collect();
        let allpasses: Vec<AllPass> = [5.0, 1.7]
            .iter()
            .map(|ms| AllPass {
                buf: vec![0.0; (ms * r / 1000.0) as usize],
                at: 0,
            })
            .collect();
        let reverb_gain = if spec.rt60_s > 0.0 { 0.12 } else { 0.0 };
        let room = room_energy(&reflections, &combs, &allpasses, reverb_gain, r);
        let max_delay = spec.delay_ms.max(spec.delay_end_ms) + 40.0;
        Self {
            spec,
            rate: r,
            played: vec![0.0; ((max_delay * r / 1000.0) as usize + 4).next_power_of_two()],
            written: 0,
            heard: 0,
            gain: 10f64.powf(spec.gain_db / 20.0) / room.sqrt(),
            reflections,
            combs,
            allpasses,
            reverb_gain,
            noise,
            noise_gain: 10f64.powf(spec.noise_dbfs / 20.0) * 3f64.sqrt(),
        }
    }

    /// The delay of the direct sound at microphone time `t` seconds.
    fn delay_s(&self, t: f64) -> f64 {
        let s = &self.spec;
        let k = if s.glide_s > 0.0 {
            ((t - s.change_at_s) / s.glide_s).clamp(0.0, 1.0)
        } else {
            f64::from(u8::from(t >= s.change_at_s))
        };
        (s.delay_ms + (s.delay_end_ms - s.delay_ms) * k) / 1000.0
    }

    /// The loudspeaker played `x` (its next sample).
    pub fn play(&mut self, x: f32) {
        let mut y = f64::from(x);
        if self.spec.clip_drive > 0.0 {
            let d = self.spec.clip_drive;
            y = (y * d).tanh() / d;
        }
        let mask = self.played.len() - 1;
        self.played[self.written as usize & mask] = y;
        self.written += 1;
    }

    /// Loudspeaker samples played so far.
    pub fn played(&self) -> u64 {
        self.written
    }

    /// The loudspeaker sample index the microphone's next sample hears
    /// directly (fractional; may be ahead of what was played).
    pub fn next_source_position(&self) -> f64 {
        let t_mic = self.heard as f64 / self.rate;
        // On the loudspeaker's clock, the microphone's sample n falls at
        // n / (1 + drift).
        let t_spk = t_mic / (1.0 + self.spec.drift_ppm * 1e-6);
        (t_spk - self.delay_s(t_mic)) * self.rate
    }

    fn played_at(&self, pos: f64) -> f64 {
        if pos < 0.0 {
            return 0.0;
        }
        let i = pos.floor();
        let frac = pos - i;
        let i = i as u64;
        if i + 1 >= self.written || self.written - i > self.played.len() as u64 - 2 {
            return 0.0;
        }
        let mask = self.played.len() - 1;
        let a = self.played[i as usize & mask];
        let b = self.played[(i + 1) as usize & mask];
        a + (b - a) * frac
    }

    /// What the microphone hears next: the echo of what was played by now
    /// (plus the microphone's noise). Call it no faster than the
    /// loudspeaker plays, i.e. after [`EchoPath::play`] for the samples it
    /// needs ([`EchoPath::next_source_position`]).
    pub fn hear(&mut self) -> f32 {
        let pos = self.next_source_position();
        let mut direct = self.played_at(pos);
        for (offset, level) in self.reflections {
            direct += level * self.played_at(pos - offset);
        }
        let mut wet = 0.0;
        if self.reverb_gain > 0.0 {
            let x = self.played_at(pos - 0.008 * self.rate);
            let mut sum = 0.0;
            for c in &mut self.combs {
                sum += c.run(x);
            }
            wet = sum;
            for a in &mut self.allpasses {
                wet = a.run(wet);
            }
            wet *= self.reverb_gain;
        }
        self.heard += 1;
        let noise = self.noise.next() * self.noise_gain;
        (self.gain * (direct + wet) + noise) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rms(x: &[f32]) -> f64 {
        (x.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
    }

    #[test]
    fn a_plain_path_delays_and_scales() {
        let spec = EchoPathSpec {
            delay_ms: 10.0,
            delay_end_ms: 10.0,
            gain_db: -6.0,
            noise_dbfs: -200.0,
            ..EchoPathSpec::default()
        };
        let mut p = EchoPath::new(spec, 1000);
        let mut heard = Vec::new();
        for i in 0..100 {
            p.play(if i == 20 { 1.0 } else { 0.0 });
            heard.push(p.hear());
        }
        // The direct sound 10 samples (10 ms) later, at half the amplitude
        // of the whole echo (it and the early reflections).
        let room = 1.0 + p.reflections.iter().map(|(_, l)| l * l).sum::<f64>();
        let direct = 0.501 / room.sqrt();
        assert!(
            (f64::from(heard[30]) - direct).abs() < 0.01,
            "{}",
            heard[30]
        );
        assert!(heard[..29].iter().all(|s| s.abs() < 1e-6));
    }

    #[test]
    fn the_echo_is_as_loud_as_its_level_says() {
        // Quiet white noise (the loudspeaker does not clip it) through a
        // laptop's reverberant, clipping path: the echo's power at the
        // microphone, reflections and reverberation included, is the
        // path's level relative to what was played.
        for gain_db in [-12.0, 0.0, 6.0] {
            for (rt60_s, clip_drive) in [(0.0, 0.0), (0.35, 2.0)] {
                let spec = EchoPathSpec {
                    delay_ms: 40.0,
                    delay_end_ms: 40.0,
                    gain_db,
                    rt60_s,
                    clip_drive,
                    noise_dbfs: -200.0,
                    ..EchoPathSpec::default()
                };
                let rate = 16_000;
                let mut p = EchoPath::new(spec, rate);
                let mut noise = Noise(7);
                let (mut played, mut heard) = (Vec::new(), Vec::new());
                for _ in 0..4 * rate {
                    let x = (noise.next() * 0.03) as f32;
                    p.play(x);
                    played.push(x);
                    heard.push(p.hear());
                }
                // After the first second the reverberation has built up.
                let s = rate as usize;
                let level = 20.0 * (rms(&heard[s..]) / rms(&played[s..])).log10();
                assert!(
                    (level - gain_db).abs() < 1.0,
                    "{gain_db} dB, RT60 {rt60_s}: heard at {level:.1} dB"
                );
            }
        }
    }

    #[test]
    fn a_loud_sound_is_compressed_by_the_loudspeaker() {
        let spec = EchoPathSpec {
            delay_ms: 1.0,
            delay_end_ms: 1.0,
            gain_db: 0.0,
            clip_drive: 2.0,
            noise_dbfs: -200.0,
            ..EchoPathSpec::default()
        };
        let mut p = EchoPath::new(spec, 1000);
        // A quiet sample passes at unity gain; a full-scale one is held
        // to tanh(2) / 2 of it.
        p.play(0.01);
        p.play(1.0);
        p.play(0.0);
        let (quiet, loud) = (p.played_at(0.0), p.played_at(1.0));
        assert!((quiet - 0.01).abs() < 1e-5, "{quiet}");
        assert!((loud - 2f64.tanh() / 2.0).abs() < 1e-9, "{loud}");
    }

    #[test]
    fn reverberation_prolongs_the_echo() {
        let spec = EchoPathSpec {
            rt60_s: 0.4,
            noise_dbfs: -200.0,
            gain_db: 0.0,
            ..EchoPathSpec::default()
        };
        let rate = 16_000;
        let mut p = EchoPath::new(spec, rate);
        let mut heard = Vec::new();
        for i in 0..rate as usize {
            p.play(if i < 1600 { 0.5 } else { 0.0 });
            heard.push(p.hear());
        }
        // 150–250 ms after the end of the burst the tail is still there;
        // 300 ms later it has decayed by more than 20 dB (RT60 0.4 s).
        let tail = rms(&heard[1600 + 2400..1600 + 4000]);
        let later = rms(&heard[1600 + 7200..1600 + 8800]);
        let burst = rms(&heard[800..1600]);
        assert!(tail > burst * 1e-3, "{tail} vs {burst}");
        assert!(later < tail * 0.1, "{later} vs {tail}");
    }
}
