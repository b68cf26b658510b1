//! Echo cancellation, noise suppression and high-pass filtering, at 16 kHz.
//!
//! Without it the interviewer hears itself on laptop speakers. The canceller
//! is WebRTC's AEC3 (the pure-Rust `sonora-aec3` port), driven block by block
//! here rather than through `sonora`'s audio processing module, because the
//! module runs AEC3 only in its default configuration, and that
//! configuration cannot keep a candidate who talks over loud speakers:
//!
//! - its linear filter spans 52 ms (13 blocks of 4 ms). A laptop in a room
//!   rings for 0.3–0.5 s, so on a loud reverberant path the linear stage
//!   removes only 6–8 dB and the residual echo suppressor does the rest; a
//!   suppressor doing that much work cannot tell the candidate from the
//!   echo and mutes both (of 119 frames of an answer over a 0 dB echo,
//!   13–34 came out above the speech threshold, at 16 and at 48 kHz alike);
//! - with a 96 ms filter ([`FILTER_BLOCKS`]), a quicker decision that the
//!   near end dominates and more transparent masks while it does, the echo
//!   removed on the 0 dB laptop paths of `tests/echo_paths.rs` rises from
//!   29–31 dB to 52–54 dB, and about half the frames of an answer over that
//!   echo are kept.
//!
//! The canceller runs on the 16 kHz signal the encoder takes (AEC3 works on
//! the 0–8 kHz band only anyway), on the microphone and on the far-end
//! reference, both resampled alike by the capture so they stay lined up.
//! It is fed, in 10 ms blocks, what the playback path actually wrote to the
//! speaker and the microphone signal; it estimates the echo path delay
//! itself, so the only rule is that the reference must arrive no later than
//! the microphone block that contains its echo ([`crate::echo_align`]), which
//! it is told as the stream delay. AEC3 works in 4 ms blocks: the output is
//! [`EchoCanceller::latency`] (8 ms) behind the input. With headphones the user
//! turns it off.

use std::time::Duration;

use sonora::config::NoiseSuppression;
use sonora::high_pass_filter::HighPassFilter;
use sonora::{AudioProcessing, Config, StreamConfig};
use sonora_aec3::block::Block;
use sonora_aec3::block_processor::BlockProcessor;
use sonora_aec3::config::EchoCanceller3Config;

use crate::AudioError;
use crate::codec::CAPTURE_RATE;

/// Samples in one 10 ms block at [`CAPTURE_RATE`].
pub const BLOCK: usize = CAPTURE_RATE as usize / 100;
/// Samples in one AEC3 block (4 ms).
const AEC_BLOCK: usize = 64;
/// How far the output is behind the input (8 ms): a block waiting to be
/// whole, and a block in the suppressor's overlap-add.
const LATENCY: usize = 2 * AEC_BLOCK;
/// Length of the linear echo filter in AEC3 blocks (96 ms; AEC3's own
/// default is 13, 52 ms). Longer filters model more of a room's tail but
/// converge more slowly: at 40 blocks (160 ms) a plain 40 ms path kept
/// 23 dB of echo where 24 blocks remove 55 dB (`tests/echo_cancellation.rs`).
pub const FILTER_BLOCKS: usize = 24;
/// AEC3 works on the 16-bit scale.
const SCALE: f32 = 32_768.0;
/// A microphone sample at or beyond this (16-bit scale) is saturated.
const SATURATED: f32 = 32_700.0;

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

/// AEC3's configuration for laptop speakers (see the module comment).
pub fn aec3_config() -> EchoCanceller3Config {
    let mut c = EchoCanceller3Config::default();

    for length in [
        &mut c.filter.refined.length_blocks,
        &mut c.filter.coarse.length_blocks,
        &mut c.filter.refined_initial.length_blocks,
        &mut c.filter.coarse_initial.length_blocks,
    ] {
        *length = FILTER_BLOCKS;
    }
    // Decide sooner that the near end dominates (4 blocks instead of 12, at
    // 10 dB SNR instead of 30), and let it through more freely then.
    let dominant = &mut c.suppressor.dominant_nearend_detection;
    dominant.enr_threshold = 0.1;
    dominant.snr_threshold = 10.0;
    dominant.trigger_threshold = 4;
    let nearend = &mut c.suppressor.nearend_tuning;
    nearend.mask_lf.enr_transparent = 2.0;
    nearend.mask_lf.enr_suppress = 2.5;
    nearend.mask_hf.enr_transparent = 0.5;
    nearend.mask_hf.enr_suppress = 1.0;
    c
}

/// AEC3 with its 4 ms blocking: 10 ms blocks in, 10 ms blocks out,
/// [`LATENCY`] samples late.
struct Aec3 {
    processor: BlockProcessor,
    render: Block,
    capture: Block,
    /// Reference samples not yet a whole AEC3 block.
    render_pending: [f32; AEC_BLOCK],
    render_fill: usize,
    /// Microphone samples not yet a whole AEC3 block.
    capture_pending: [f32; AEC_BLOCK],
    capture_fill: usize,
    /// Processed samples not yet handed out (at most a block and a 10 ms
    /// block).
    out: [f32; AEC_BLOCK + BLOCK],
    out_fill: usize,
}

impl Aec3 {
    fn new() -> Self {
        let mut config = aec3_config();
        let valid = config.validate();
        debug_assert!(valid, "AEC3 adjusted Candor's configuration");
        Self {
            processor: BlockProcessor::new(&config, CAPTURE_RATE as usize, 1, 1),
            render: Block::new(1, 1),
            capture: Block::new(1, 1),
            render_pending: [0.0; AEC_BLOCK],
            render_fill: 0,
            capture_pending: [0.0; AEC_BLOCK],
            capture_fill: 0,
            // The output starts one AEC3 block of silence behind.
            out: [0.0; AEC_BLOCK + BLOCK],
            out_fill: AEC_BLOCK,
        }
    }

    fn render(&mut self, block: &[f32]) {
        for &x in block {
            self.render_pending[self.render_fill] = x * SCALE;
            self.render_fill += 1;
            if self.render_fill == AEC_BLOCK {
                self.render
                    .view_mut(0, 0)
                    .copy_from_slice(&self.render_pending);
                self.processor.buffer_render(&self.render);
                self.render_fill = 0;
            }
        }
    }

    fn capture(&mut self, block: &mut [f32]) {
        for &x in block.iter() {
            self.capture_pending[self.capture_fill] = x * SCALE;
            self.capture_fill += 1;
            if self.capture_fill == AEC_BLOCK {
                let saturated = self.capture_pending.iter().any(|v| v.abs() >= SATURATED);
                self.capture
                    .view_mut(0, 0)
                    .copy_from_slice(&self.capture_pending);
                self.processor
                    .process_capture(false, saturated, None, &mut self.capture);
                let dst = &mut self.out[self.out_fill..self.out_fill + AEC_BLOCK];
                for (d, s) in dst.iter_mut().zip(self.capture.view(0, 0)) {
                    *d = s / SCALE;
                }
                self.out_fill += AEC_BLOCK;
                self.capture_fill = 0;
            }
        }
        let n = block.len();
        block.copy_from_slice(&self.out[..n]);
        self.out.copy_within(n..self.out_fill, 0);
        self.out_fill -= n;
    }
}

/// The voice processor for one capture stream and one playback reference,
/// both mono at [`CAPTURE_RATE`], in blocks of [`BLOCK`] samples.
pub struct EchoCanceller {
    high_pass: Option<HighPassFilter>,
    /// The high-pass filter's block (it takes one `Vec` per channel).
    high_pass_block: Vec<Vec<f32>>,
    aec: Option<Box<Aec3>>,
    noise: Option<AudioProcessing>,
    scratch: [f32; BLOCK],
}

impl std::fmt::Debug for EchoCanceller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EchoCanceller")
            .field("high_pass", &self.high_pass.is_some())
            .field("echo_cancellation", &self.aec.is_some())
            .field("noise_suppression", &self.noise.is_some())
            .finish()
    }
}

impl EchoCanceller {
    /// A processor running the stages `settings` asks for.
    pub fn new(settings: VoiceProcessing) -> Self {
        let noise = settings.noise_suppression.then(|| {
            AudioProcessing::builder()
                .config(Config {
                    noise_suppression: Some(NoiseSuppression::default()),
                    ..Config::default()
                })
                .capture_config(StreamConfig::new(CAPTURE_RATE, 1))
                .render_config(StreamConfig::new(CAPTURE_RATE, 1))
                .build()
        });
        Self {
            high_pass: settings
                .high_pass
                .then(|| HighPassFilter::new(CAPTURE_RATE as i32, 1)),
            high_pass_block: vec![vec![0.0; BLOCK]],
            aec: settings.echo_cancellation.then(|| Box::new(Aec3::new())),
            noise,
            scratch: [0.0; BLOCK],
        }
    }

    /// Tells the canceller how much earlier than its echo could begin each
    /// reference block arrives (WebRTC's stream delay: render time less
    /// analysis time, plus processing time less capture time).
    pub fn set_stream_delay(&mut self, delay: Duration) {
        if let Some(aec) = self.aec.as_mut() {
            // AEC3 clamps what it cannot use.
            let ms = i32::try_from(delay.as_millis()).unwrap_or(i32::MAX);
            aec.processor.set_audio_buffer_delay(ms);
        }
    }

    /// How far behind its input the output is.
    pub fn latency(&self) -> Duration {
        if self.aec.is_some() {
            Duration::from_secs_f64(LATENCY as f64 / f64::from(CAPTURE_RATE))
        } else {
            Duration::ZERO
        }
    }

    /// [`EchoCanceller::latency`] in samples.
    pub fn latency_samples(&self) -> usize {
        if self.aec.is_some() { LATENCY } else { 0 }
    }

    /// Feeds one 10 ms block of what was played.
    pub fn process_render(&mut self, block: &[f32]) -> Result<(), AudioError> {
        check(block.len())?;
        if let Some(aec) = self.aec.as_mut() {
            aec.render(block);
        }
        Ok(())
    }

    /// Processes one 10 ms microphone block in place.
    pub fn process_capture(&mut self, block: &mut [f32]) -> Result<(), AudioError> {
        check(block.len())?;
        if let Some(hpf) = self.high_pass.as_mut() {
            self.high_pass_block[0].copy_from_slice(block);
            hpf.process_channels(&mut self.high_pass_block);
            block.copy_from_slice(&self.high_pass_block[0]);
        }
        if let Some(aec) = self.aec.as_mut() {
            aec.capture(block);
        }
        if let Some(ns) = self.noise.as_mut() {
            ns.process_capture_f32(&[&*block], &mut [&mut self.scratch[..]])
                .map_err(|e| AudioError::EchoCanceller(e.to_string()))?;
            block.copy_from_slice(&self.scratch);
        }
        Ok(())
    }
}

fn check(len: usize) -> Result<(), AudioError> {
    if len == BLOCK {
        Ok(())
    } else {
        Err(AudioError::EchoCanceller(format!(
            "a block is {BLOCK} samples, not {len}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(n: usize, hz: f32, amp: f32) -> Vec<f32> {
        (0..n)
            .map(|i| amp * (i as f32 * hz * std::f32::consts::TAU / CAPTURE_RATE as f32).sin())
            .collect()
    }

    #[test]
    fn with_only_the_canceller_a_signal_without_echo_comes_out_late_by_its_latency() {
        let settings = VoiceProcessing {
            echo_cancellation: true,
            ..VoiceProcessing::OFF
        };
        let mut ec = EchoCanceller::new(settings);
        let input = tone(BLOCK * 50, 440.0, 0.3);
        let mut out = input.clone();
        let silence = [0.0f32; BLOCK];
        for b in out.chunks_exact_mut(BLOCK) {
            ec.process_render(&silence).unwrap();
            ec.process_capture(b).unwrap();
        }
        let lag = ec.latency_samples();
        assert_eq!(lag, 2 * AEC_BLOCK);
        // With nothing played there is nothing to cancel: the tone passes.
        let tail = BLOCK * 40;
        let err: f32 = out[tail..]
            .iter()
            .zip(&input[tail - lag..])
            .map(|(o, i)| (o - i).abs())
            .fold(0.0, f32::max);
        assert!(err < 0.02, "the tone changed by up to {err}");
    }

    #[test]
    fn all_off_passes_the_signal_unchanged() {
        let mut ec = EchoCanceller::new(VoiceProcessing::OFF);
        assert_eq!(ec.latency(), Duration::ZERO);
        let input = tone(BLOCK, 300.0, 0.5);
        let mut out = input.clone();
        ec.process_capture(&mut out).unwrap();
        assert_eq!(out, input);
    }

    #[test]
    fn a_block_of_the_wrong_length_is_refused() {
        let mut ec = EchoCanceller::new(VoiceProcessing::default());
        assert!(ec.process_render(&[0.0; 480]).is_err());
        assert!(ec.process_capture(&mut [0.0; 100]).is_err());
    }

    #[test]
    fn the_configuration_is_one_aec3_accepts_as_it_is() {
        // validate() adjusts and reports settings out of range.
        assert!(aec3_config().validate());
    }
}
