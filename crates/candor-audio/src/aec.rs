//! Echo cancellation, noise suppression and high-pass filtering (WebRTC AEC3
//! through the pure-Rust `sonora` port).
//!
//! Without it the interviewer hears itself on laptop speakers. The canceller
//! is fed, in 10 ms blocks, what the playback path actually wrote to the
//! speaker (the far-end reference) and the microphone signal; it estimates the
//! echo path delay itself, so the only rule is that the reference must arrive
//! no later than the microphone block that contains its echo. The capture
//! hands it each reference block lined up with the microphone block it goes
//! with ([`crate::echo_align`]), a fixed lead ahead, which it is told as the
//! stream delay. It runs at the capture device's rate, before resampling, so
//! the echo path it models is the device's own. With headphones the user
//! turns it off. Its residual echo suppressor is tuned to let a candidate
//! who talks over the interviewer through ([`canceller_config`]).

use sonora::config::{
    EchoCanceller as EcConfig, EchoCanceller3Config, HighPassFilter, NoiseSuppression,
};
use sonora::{AudioProcessing, Config, StreamConfig};

use crate::AudioError;

/// Which voice processing stages run on the microphone signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoiceProcessing {
    /// Acoustic echo cancellation against the played audio.
    pub echo_cancellation: bool,
    /// Stationary noise suppression.
    pub noise_suppression: bool,
    /// High-pass filter (removes rumble and DC).
    pub high_pass: bool,
}

impl Default for VoiceProcessing {
    fn default() -> Self {
        Self {
            echo_cancellation: true,
            noise_suppression: true,
            high_pass: true,
        }
    }
}

impl VoiceProcessing {
    /// Everything off: the microphone signal passes unchanged (headphones,
    /// measurements).
    pub const OFF: Self = Self {
        echo_cancellation: false,
        noise_suppression: false,
        high_pass: false,
    };

    /// Whether any stage runs.
    pub fn any(&self) -> bool {
        self.echo_cancellation || self.noise_suppression || self.high_pass
    }
}

/// AEC3 as WebRTC ships it, with its suppressor switching to its near-end
/// tuning more readily, and that tuning stricter.
///
/// The suppressor has two tunings: a normal one and one for while the
/// near-end dominates. With the defaults it switches when the near-end is
/// 6 dB above its residual-echo estimate (over 12 blocks), and a candidate
/// 6 dB below the echo at the microphone (a laptop at 0 or +6 dB echo
/// return, reverberant and clipping) seldom is: they are ducked for most of
/// a barge-in. Here it switches once the near-end is above the estimate at
/// all; in exchange the near-end tuning passes a band whole only while its
/// estimated echo is at most half the near-end (WebRTC: 1.09 times) and
/// suppresses it above 0.6 times (1.1; high bands 0.05 and 0.1 instead of
/// 0.1 and 0.3), so the state entered on residual echo leaks little.
/// Measured over five laptop paths each at 0 and +6 dB
/// (`tests/echo_paths.rs`): a barge-in 6 dB below the echo is heard on 10
/// of 10 paths, against 6 of 10 with the defaults; with the easier switch
/// but WebRTC's near-end tuning, 9 of 10, and jittery device stamps then
/// leave 23.9 dB of ERLE instead of 29.9 (28.3 with the defaults). 9 dB
/// below the echo, a barge-in is heard on 1 path of 10. Residual echo taken
/// for speech on level alone stays within 0-15 % of echo-only frames as
/// with the defaults (`benches/echo_paths.rs`), and the near-end decision
/// ([`crate::double_talk`]) keeps it out of the candidate's speech.
fn canceller_config() -> EchoCanceller3Config {
    let mut c = EchoCanceller3Config::default();
    c.suppressor.dominant_nearend_detection.enr_threshold = 1.0;
    let nearend = &mut c.suppressor.nearend_tuning;
    nearend.mask_lf.enr_transparent = 0.5;
    nearend.mask_lf.enr_suppress = 0.6;
    nearend.mask_hf.enr_transparent = 0.05;
    nearend.mask_hf.enr_suppress = 0.1;
    c
}

/// The voice processor for one capture stream and one playback reference.
pub struct EchoCanceller {
    apm: AudioProcessing,
    capture_block: usize,
    render_block: usize,
    scratch: Vec<f32>,
}

impl std::fmt::Debug for EchoCanceller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EchoCanceller")
            .field("capture_block", &self.capture_block)
            .field("render_block", &self.render_block)
            .finish()
    }
}

impl EchoCanceller {
    /// A processor for mono capture at `capture_rate` and a mono far-end
    /// reference at `render_rate`.
    pub fn new(
        settings: VoiceProcessing,
        capture_rate: u32,
        render_rate: u32,
    ) -> Result<Self, AudioError> {
        for rate in [capture_rate, render_rate] {
            if !(8_000..=384_000).contains(&rate) {
                return Err(AudioError::EchoCanceller(format!(
                    "unsupported rate {rate}"
                )));
            }
        }
        let config = Config {
            echo_canceller: settings.echo_cancellation.then(|| EcConfig {
                enforce_high_pass_filtering: settings.high_pass,
                ..EcConfig::default()
            }),
            noise_suppression: settings.noise_suppression.then(NoiseSuppression::default),
            high_pass_filter: settings.high_pass.then(HighPassFilter::default),
            ..Config::default()
        };
        let apm = AudioProcessing::builder()
            .config(config)
            .echo_canceller3_config(canceller_config())
            .capture_config(StreamConfig::new(capture_rate, 1))
            .render_config(StreamConfig::new(render_rate, 1))
            .build();
        let capture_block = capture_rate as usize / 100;
        let render_block = render_rate as usize / 100;
        Ok(Self {
            apm,
            capture_block,
            render_block,
            scratch: vec![0.0; capture_block.max(render_block)],
        })
    }

    /// Tells the canceller how much earlier than its echo could begin each
    /// reference block arrives (WebRTC's stream delay: render time less
    /// analysis time, plus processing time less capture time).
    pub fn set_stream_delay(&mut self, delay: std::time::Duration) {
        // Out of 0..=500 ms it is clamped, and processing goes on.
        let _ = self
            .apm
            .set_stream_delay_ms(i32::try_from(delay.as_millis()).unwrap_or(i32::MAX));
    }

    /// Samples in one 10 ms capture block.
    pub fn capture_block(&self) -> usize {
        self.capture_block
    }

    /// Samples in one 10 ms reference block.
    pub fn render_block(&self) -> usize {
        self.render_block
    }

    /// Feeds one 10 ms block of what was played.
    pub fn process_render(&mut self, block: &[f32]) -> Result<(), AudioError> {
        let n = self.render_block;
        let (dst, _) = self.scratch.split_at_mut(n);
        self.apm
            .process_render_f32(&[&block[..n]], &mut [dst])
            .map_err(|e| AudioError::EchoCanceller(e.to_string()))
    }

    /// Processes one 10 ms microphone block in place.
    pub fn process_capture(&mut self, block: &mut [f32]) -> Result<(), AudioError> {
        let n = self.capture_block;
        let (dst, _) = self.scratch.split_at_mut(n);
        self.apm
            .process_capture_f32(&[&block[..n]], &mut [&mut *dst])
            .map_err(|e| AudioError::EchoCanceller(e.to_string()))?;
        block[..n].copy_from_slice(dst);
        Ok(())
    }
}
