//! Sample formats and channel handling.
//!
//! Devices deliver f32, i16, i32, u16… interleaved with any channel count; the
//! rest of Candor works on mono f32 in [-1, 1]. The conversion lives here, in
//! allocation-free functions over slices, because the real-time callbacks call
//! them directly.

/// A PCM sample type a device or file may use.
pub trait AudioSample: Copy + Send + 'static {
    /// The value as f32 in [-1, 1].
    fn to_f32(self) -> f32;
    /// The nearest value of this type for an f32 in [-1, 1] (clamped).
    fn from_f32(v: f32) -> Self;
}

impl AudioSample for f32 {
    #[inline]
    fn to_f32(self) -> f32 {
        self
    }
    #[inline]
    fn from_f32(v: f32) -> Self {
        v.clamp(-1.0, 1.0)
    }
}

impl AudioSample for f64 {
    #[inline]
    fn to_f32(self) -> f32 {
        self as f32
    }
    #[inline]
    fn from_f32(v: f32) -> Self {
        f64::from(v.clamp(-1.0, 1.0))
    }
}

macro_rules! signed_sample {
    ($t:ty, $scale:expr) => {
        impl AudioSample for $t {
            #[inline]
            fn to_f32(self) -> f32 {
                (self as f64 / $scale) as f32
            }
            #[inline]
            fn from_f32(v: f32) -> Self {
                let scaled = (f64::from(v.clamp(-1.0, 1.0)) * $scale).round();
                scaled.clamp(<$t>::MIN as f64, <$t>::MAX as f64) as $t
            }
        }
    };
}
signed_sample!(i8, 128.0);
signed_sample!(i16, 32768.0);
signed_sample!(i32, 2_147_483_648.0);

macro_rules! unsigned_sample {
    ($t:ty, $mid:expr) => {
        impl AudioSample for $t {
            #[inline]
            fn to_f32(self) -> f32 {
                ((self as f64 - $mid) / $mid) as f32
            }
            #[inline]
            fn from_f32(v: f32) -> Self {
                let scaled = (f64::from(v.clamp(-1.0, 1.0)) * $mid + $mid).round();
                scaled.clamp(0.0, <$t>::MAX as f64) as $t
            }
        }
    };
}
unsigned_sample!(u8, 128.0);
unsigned_sample!(u16, 32768.0);
unsigned_sample!(u32, 2_147_483_648.0);

/// How a multi-channel input becomes mono.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChannelMode {
    /// Average all channels.
    #[default]
    Mix,
    /// Take one channel (0-based); out-of-range picks the last one.
    Pick(u16),
}

/// Converts interleaved `input` with `channels` channels into mono f32,
/// writing into `out` (which must hold `input.len() / channels` samples).
/// Returns the number of mono samples written. Never allocates.
#[inline]
pub fn to_mono<T: AudioSample>(
    input: &[T],
    channels: usize,
    mode: ChannelMode,
    out: &mut [f32],
) -> usize {
    let channels = channels.max(1);
    let frames = (input.len() / channels).min(out.len());
    match mode {
        _ if channels == 1 => {
            for (o, s) in out[..frames].iter_mut().zip(input) {
                *o = s.to_f32();
            }
        }
        ChannelMode::Mix => {
            let scale = 1.0 / channels as f32;
            for (o, frame) in out[..frames].iter_mut().zip(input.chunks_exact(channels)) {
                let sum: f32 = frame.iter().map(|s| s.to_f32()).sum();
                *o = sum * scale;
            }
        }
        ChannelMode::Pick(c) => {
            let c = usize::from(c).min(channels - 1);
            for (o, frame) in out[..frames].iter_mut().zip(input.chunks_exact(channels)) {
                *o = frame[c].to_f32();
            }
        }
    }
    frames
}

/// Writes mono `input` to every channel of interleaved `out`.
/// Returns the number of frames written. Never allocates.
#[inline]
pub fn from_mono<T: AudioSample>(input: &[f32], channels: usize, out: &mut [T]) -> usize {
    let channels = channels.max(1);
    let frames = (out.len() / channels).min(input.len());
    for (frame, s) in out.chunks_exact_mut(channels).zip(&input[..frames]) {
        let v = T::from_f32(*s);
        frame.fill(v);
    }
    frames
}

/// Root mean square of a block.
pub fn rms(block: &[f32]) -> f32 {
    if block.is_empty() {
        return 0.0;
    }
    let sum: f64 = block.iter().map(|s| f64::from(*s) * f64::from(*s)).sum();
    (sum / block.len() as f64).sqrt() as f32
}

/// A linear amplitude in dBFS (floor at -120 dB).
pub fn to_dbfs(amplitude: f32) -> f32 {
    20.0 * amplitude.max(1e-6).log10()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_formats_round_trip() {
        for v in [-1.0f32, -0.5, 0.0, 0.25, 0.999] {
            assert!((i16::from_f32(v).to_f32() - v).abs() < 1e-4);
            assert!((u16::from_f32(v).to_f32() - v).abs() < 1e-4);
            assert!((i32::from_f32(v).to_f32() - v).abs() < 1e-6);
            assert!((u8::from_f32(v).to_f32() - v).abs() < 1e-2);
        }
        assert_eq!(i16::from_f32(2.0), i16::MAX);
        assert_eq!(u16::from_f32(-2.0), 0);
    }

    #[test]
    fn downmix_and_pick() {
        let stereo = [1000i16, 3000, -1000, -3000];
        let mut out = [0.0f32; 2];
        assert_eq!(to_mono(&stereo, 2, ChannelMode::Mix, &mut out), 2);
        assert!((out[0] - 2000.0 / 32768.0).abs() < 1e-6);
        assert_eq!(to_mono(&stereo, 2, ChannelMode::Pick(1), &mut out), 2);
        assert!((out[1] + 3000.0 / 32768.0).abs() < 1e-6);
        let mut back = [0i16; 4];
        assert_eq!(from_mono(&out, 2, &mut back), 2);
        assert_eq!(back, [3000, 3000, -3000, -3000]);
    }
}
