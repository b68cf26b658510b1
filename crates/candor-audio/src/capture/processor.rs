//! The worker's synchronous capture pipeline: echo cancellation in 10 ms
//! blocks at the device rate → resample to 16 kHz → 20 ms frames → Opus,
//! with level and voice activity per frame.
//!
//! [`CaptureProcessor`] is pure (no threads, no clock), so tests and the
//! benchmark drive it directly, faster than real time; the capture worker
//! feeds it what the callback queued, with the callback's timestamps, and
//! what the playback played, with when it was heard. Each 10 ms microphone
//! block goes to the canceller right after the reference heard over the
//! same span ([`crate::echo_align`]), whatever order the two arrived in.

use std::time::{Duration, Instant};

use super::callback::Stamp;
use super::report::{EchoReport, EchoTally};
use crate::aec::{EchoCanceller, VoiceProcessing};
use crate::codec::{CAPTURE_FRAME_SAMPLES, CAPTURE_RATE, EncoderSettings, MAX_PACKET, OpusEncoder};
use crate::delay_line::DelayLine;
use crate::denormals::FlushToZero;
use crate::double_talk::NearEndDetector;
use crate::echo_align::{LEAD, ReferenceAligner};
use crate::echo_delay::EchoDelayTracker;
use crate::echo_link::Heard;
use crate::error::AudioError;
use crate::meter::{LevelMeter, VoiceActivity, frame_level_db};
use crate::resample::MonoResampler;
use crate::sample::ChannelMode;
use crate::voice_detector::VoiceDetector;

/// Frames (20 ms) a heard voice carries over, so the gaps between words
/// stay part of the answer (the server's own gate decides frame by frame).
const VOICE_HOLD_FRAMES: u32 = 10;
/// How far ahead of the lined-up reference the near-end decision looks
/// for far-end activity (echo early against the timestamps).
const LOOK_AHEAD: Duration = Duration::from_millis(300);
/// The longest the reference is delayed (s).
const MAX_REFERENCE_DELAY_S: f64 = 0.6;

/// Settings of the capture pipeline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CaptureSettings {
    /// Echo cancellation, noise suppression, high-pass.
    pub processing: VoiceProcessing,
    /// Opus settings.
    pub encoder: EncoderSettings,
    /// How channels are reduced to mono.
    pub channel: ChannelMode,
    /// Upper bound of level updates per second.
    pub level_updates_per_second: u32,
}

impl Default for CaptureSettings {
    fn default() -> Self {
        Self {
            processing: VoiceProcessing::default(),
            encoder: EncoderSettings::default(),
            channel: ChannelMode::Mix,
            level_updates_per_second: 25,
        }
    }
}

/// One encoded 20 ms frame for the transport.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedFrame {
    /// Monotonic per capture session, starting at 0.
    pub seq: u64,
    /// When the frame's oldest sample was captured.
    pub captured_at: Instant,
    /// When the callback that completed the frame's audio ran.
    pub completed_at: Instant,
    /// The Opus packet.
    pub payload: Vec<u8>,
    /// Candidate speech in this frame: loud enough for the voice activity
    /// detector, in a stretch the neural detector hears as a voice (not a
    /// fan, typing or a hum; [`crate::voice_detector`]) *and*, with echo
    /// cancellation on, sound the far-end reference does not explain (see
    /// [`crate::double_talk`]).
    pub voice: bool,
    /// The frame's level in dBFS (after echo cancellation).
    pub level_db: f32,
}

/// What the processor produces.
#[derive(Debug, Clone, PartialEq)]
pub enum CaptureOutput {
    /// An encoded frame.
    Frame(EncodedFrame),
    /// A throttled input level in 0..=1 for the "glowing mic".
    Level(f32),
    /// Echo stays strong after cancellation (`true`) or no longer does:
    /// the speakers feed back into the microphone.
    StrongEcho(bool),
    /// A second of the echo path, with echo cancellation on.
    Echo(EchoReport),
}

/// The synchronous capture pipeline for one stream rate.
pub struct CaptureProcessor {
    rate: u32,
    settings: CaptureSettings,
    aec: Option<EchoCanceller>,
    aligner: ReferenceAligner,
    /// The echo delay as measured, independently of the canceller.
    echo_delay: EchoDelayTracker,
    /// The lined-up reference, delayed by `reference_delay` samples before
    /// the canceller gets it.
    reference_line: DelayLine,
    reference_delay: usize,
    /// The lined-up reference of the current block, and as delayed.
    lined_up: Vec<f32>,
    render_block: Vec<f32>,
    block: Vec<f32>,
    block_fill: usize,
    /// Input samples gone into blocks.
    blocked: u64,
    resampler: MonoResampler,
    out16: Vec<f32>,
    out16_base: u64,
    encoder: OpusEncoder,
    vad: VoiceActivity,
    /// The neural voice detector over the 16 kHz frames.
    voice: VoiceDetector,
    /// Frames left in which a voice heard recently still counts (word gaps).
    voice_hold: u32,
    near_end: Option<NearEndDetector>,
    /// The echo delay (behind the lined-up reference) the canceller
    /// settled on, once measured.
    settled_delay_s: Option<f64>,
    /// Near-end verdicts of the 10 ms blocks not yet framed, oldest first.
    near_blocks: std::collections::VecDeque<bool>,
    /// The verdict of the last block framed.
    last_near: bool,
    strong_echo: bool,
    /// The second of the echo path being tallied.
    tally: EchoTally,
    meter: LevelMeter,
    seq: u64,
    packet: Box<[u8; MAX_PACKET]>,
}

impl std::fmt::Debug for CaptureProcessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureProcessor")
            .field("rate", &self.rate)
            .field("seq", &self.seq)
            .finish()
    }
}

impl CaptureProcessor {
    /// A pipeline for mono input at `rate` Hz whose first frame gets `first_seq`.
    pub fn new(rate: u32, settings: CaptureSettings, first_seq: u64) -> Result<Self, AudioError> {
        let aec = if settings.processing.any() {
            let mut aec = EchoCanceller::new(settings.processing, rate, rate)?;
            aec.set_stream_delay(LEAD);
            Some(aec)
        } else {
            None
        };
        let block_len = rate as usize / 100;
        Ok(Self {
            rate,
            settings,
            aec,
            aligner: ReferenceAligner::new(rate),
            echo_delay: EchoDelayTracker::new(rate),
            reference_line: DelayLine::new(
                (MAX_REFERENCE_DELAY_S * f64::from(rate)) as usize,
                block_len,
            ),
            reference_delay: 0,
            lined_up: vec![0.0; block_len],
            render_block: vec![0.0; block_len],
            block: vec![0.0; block_len],
            block_fill: 0,
            blocked: 0,
            resampler: MonoResampler::new(rate, CAPTURE_RATE)?,
            out16: Vec::with_capacity(CAPTURE_FRAME_SAMPLES * 4),
            out16_base: 0,
            encoder: OpusEncoder::new(settings.encoder)?,
            vad: VoiceActivity::default(),
            voice: VoiceDetector::new(),
            voice_hold: 0,
            near_end: settings
                .processing
                .echo_cancellation
                .then(NearEndDetector::new),
            near_blocks: std::collections::VecDeque::with_capacity(64),
            settled_delay_s: None,
            last_near: false,
            strong_echo: false,
            tally: EchoTally::default(),
            meter: LevelMeter::new(settings.level_updates_per_second),
            seq: first_seq,
            packet: Box::new([0u8; MAX_PACKET]),
        })
    }

    /// Input rate in Hz.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// How many more input samples complete the next frame: the 10 ms
    /// blocks its missing 16 kHz samples take, less what the current block
    /// holds. Until they have come no frame or level leaves the processor
    /// (the echo canceller's findings per block wait at most a block), so a
    /// worker may sleep until then.
    pub fn input_until_frame(&self) -> usize {
        let per_block = CAPTURE_RATE as usize / 100;
        let missing = CAPTURE_FRAME_SAMPLES.saturating_sub(self.out16.len());
        (missing.div_ceil(per_block) * self.block.len()).saturating_sub(self.block_fill)
    }

    /// The next frame's sequence number.
    pub fn next_seq(&self) -> u64 {
        self.seq
    }

    /// The resampler's delay (part of the pipeline's algorithmic latency).
    pub fn resampler_delay(&self) -> Duration {
        self.resampler.delay()
    }

    fn cancels_echo(&self) -> bool {
        self.aec.is_some() && self.settings.processing.echo_cancellation
    }

    /// A new playback stream at `rate` Hz: the reference fed from now on is
    /// its audio.
    pub fn new_reference(&mut self, rate: u32) -> Result<(), AudioError> {
        if self.cancels_echo() {
            self.aligner.new_reference(rate)?;
        }
        Ok(())
    }

    /// Feeds played audio (the far-end reference) of the current playback
    /// stream ([`CaptureProcessor::new_reference`]), the first sample heard
    /// as `heard` says. It may come before or after the microphone audio
    /// that holds its echo, within a second.
    pub fn feed_reference(&mut self, samples: &[f32], heard: Heard) -> Result<(), AudioError> {
        if self.cancels_echo() {
            self.aligner.push_reference(samples, heard)?;
        }
        Ok(())
    }

    /// Processes mono microphone samples that end at `stamp` (the last one
    /// is input sample `stamp.end_index - 1`), emitting frames and levels.
    pub fn process(
        &mut self,
        mut input: &[f32],
        stamp: Stamp,
        out: &mut impl FnMut(CaptureOutput),
    ) -> Result<(), AudioError> {
        // The filters' tails after speech would otherwise decay through
        // subnormals, several times slower (see `crate::denormals`).
        let _flush = FlushToZero::new();
        let n = self.block.len();
        if self.cancels_echo() && stamp.end_index > 0 {
            self.aligner.observe_capture(stamp.end_index - 1, stamp.at);
        }
        while !input.is_empty() {
            let take = (n - self.block_fill).min(input.len());
            self.block[self.block_fill..self.block_fill + take].copy_from_slice(&input[..take]);
            self.block_fill += take;
            input = &input[take..];
            if self.block_fill == n {
                let mic_rms = crate::sample::rms(&self.block);
                let mic_db = crate::sample::to_dbfs(mic_rms);
                if self.settings.processing.echo_cancellation {
                    self.aligner.render(self.blocked, &mut self.lined_up);
                    self.echo_delay.push(&self.block, &self.lined_up);
                    if self.echo_delay.take_change() {
                        self.follow_echo_delay()?;
                    }
                    self.reference_line.push(&self.lined_up);
                    self.reference_line
                        .read(self.reference_delay, &mut self.render_block);
                    if let Some(aec) = self.aec.as_mut() {
                        aec.process_render(&self.render_block)?;
                    }
                    if let Some(d) = self.near_end.as_mut() {
                        d.reference(&self.render_block);
                        d.reference_ahead(self.aligner.peak_ahead(LOOK_AHEAD));
                    }
                }
                if let Some(aec) = self.aec.as_mut() {
                    aec.process_capture(&mut self.block)?;
                }
                self.blocked += n as u64;
                match self.near_end.as_mut() {
                    Some(d) => {
                        let v = d.capture(mic_db, &self.block);
                        // While the echo moves to a delay the canceller does
                        // not model yet, what leaks through is the far end's.
                        let moving = self.echo_delay.moving();
                        self.near_blocks.push_back(v.near_end && !moving);
                        if d.strong_echo() != self.strong_echo {
                            self.strong_echo = d.strong_echo();
                            out(CaptureOutput::StrongEcho(self.strong_echo));
                        }
                        self.tally.block(
                            mic_rms * mic_rms,
                            v.out_power,
                            v.far_active,
                            v.near_end,
                            moving,
                        );
                        if self.tally.is_full() {
                            out(CaptureOutput::Echo(self.tally.take(self.echo_state())));
                        }
                    }
                    None => self.near_blocks.push_back(true),
                }
                self.resampler.process(&self.block, &mut self.out16)?;
                self.block_fill = 0;
            }
        }
        let mut start = 0;
        while self.out16.len() - start >= CAPTURE_FRAME_SAMPLES {
            let frame = &self.out16[start..start + CAPTURE_FRAME_SAMPLES];
            let len = self.encoder.encode(frame, &mut self.packet[..])?;
            let level_db = frame_level_db(frame);
            let near = Self::near_end_of_frame(&mut self.near_blocks, &mut self.last_near);
            let loud = self.vad.update(level_db);
            if self.voice.hear(frame, loud) {
                self.voice_hold = VOICE_HOLD_FRAMES;
            } else {
                self.voice_hold = self.voice_hold.saturating_sub(1);
            }
            let voice = loud && near && self.voice_hold > 0;
            if voice {
                self.tally.voiced_frame();
            }
            let captured_at = self.time_of_output(self.out16_base, stamp);
            out(CaptureOutput::Frame(EncodedFrame {
                seq: self.seq,
                captured_at,
                completed_at: stamp.at,
                payload: self.packet[..len].to_vec(),
                voice,
                level_db,
            }));
            if let Some(level) = self.meter.update(crate::sample::rms(frame)) {
                out(CaptureOutput::Level(level));
            }
            self.seq += 1;
            self.out16_base += CAPTURE_FRAME_SAMPLES as u64;
            start += CAPTURE_FRAME_SAMPLES;
        }
        self.out16.drain(..start);
        Ok(())
    }

    /// The room's echo delay was first measured, or moved. The canceller
    /// settles on the first delay itself; when the room's delay then grows,
    /// the reference is delayed by as much, so the canceller sees the path
    /// it settled on and keeps cancelling. A delay shorter than the one it
    /// settled on cannot be made up (that reference is not played yet), so
    /// the canceller starts afresh and finds it, and the near-end decision
    /// relearns how much residual to expect meanwhile.
    fn follow_echo_delay(&mut self) -> Result<(), AudioError> {
        let Some(lag) = self.echo_delay.delay_s() else {
            return Ok(());
        };
        let rate = f64::from(self.rate);
        let Some(settled) = self.settled_delay_s else {
            self.settled_delay_s = Some(lag);
            return Ok(());
        };
        let grown = ((lag - settled) * rate).round();
        let max = self.reference_line.max_delay(self.lined_up.len());
        if grown >= 0.0 && grown as usize <= max {
            self.reference_delay = grown as usize;
            return Ok(());
        }
        self.reference_delay = 0;
        self.settled_delay_s = Some(lag);
        if let Some(aec) = self.aec.as_mut() {
            let mut fresh = EchoCanceller::new(self.settings.processing, self.rate, self.rate)?;
            fresh.set_stream_delay(LEAD);
            *aec = fresh;
        }
        if let Some(d) = self.near_end.as_mut() {
            d.relearn();
        }
        Ok(())
    }

    /// The echo path's state now, for a report.
    fn echo_state(&self) -> EchoReport {
        EchoReport::state(
            self.echo_delay.delay_s(),
            self.echo_delay.latest_s(),
            self.reference_delay as f64 / f64::from(self.rate),
            self.near_end
                .as_ref()
                .map_or(0.0, NearEndDetector::coupling_db),
            self.near_end
                .as_ref()
                .map_or(0.0, NearEndDetector::echo_return_db),
            self.strong_echo,
        )
    }

    /// Whether the two 10 ms blocks behind the next frame held near-end
    /// sound (the last verdict again if they are not there yet).
    fn near_end_of_frame(blocks: &mut std::collections::VecDeque<bool>, last: &mut bool) -> bool {
        let mut near = false;
        for _ in 0..2 {
            if let Some(v) = blocks.pop_front() {
                *last = v;
            }
            near |= *last;
        }
        near
    }

    /// When the input sample behind 16 kHz output sample `k` was captured.
    fn time_of_output(&self, k: u64, stamp: Stamp) -> Instant {
        let delay = self.resampler.delay_frames() as f64;
        let input_index =
            ((k as f64 - delay) * f64::from(self.rate) / f64::from(CAPTURE_RATE)).max(0.0);
        let behind = (stamp.end_index as f64 - 1.0 - input_index).max(0.0) / f64::from(self.rate);
        stamp
            .at
            .checked_sub(Duration::from_secs_f64(behind))
            .unwrap_or(stamp.at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fed in a PulseAudio source's ~4 ms fragments, a frame comes out
    /// exactly when `input_until_frame` said it would, at the rates devices
    /// run at: a worker sleeping that long misses no frame and wakes for
    /// none that is not there.
    #[test]
    fn input_until_frame_says_when_the_next_frame_comes() {
        for rate in [48_000, 44_100, 16_000] {
            let mut p = CaptureProcessor::new(rate, CaptureSettings::default(), 0).unwrap();
            let t0 = Instant::now();
            let fragment = rate as usize / 250;
            let mut fed = 0usize;
            let mut frames = 0;
            for k in 0..500 {
                let until = p.input_until_frame();
                let mut emitted = 0;
                let chunk: Vec<f32> = (0..fragment)
                    .map(|i| 0.1 * ((fed + i) as f32 * 0.05).sin())
                    .collect();
                fed += fragment;
                let stamp = Stamp {
                    end_index: fed as u64,
                    at: t0 + Duration::from_secs_f64(fed as f64 / f64::from(rate)),
                };
                p.process(&chunk, stamp, &mut |o| {
                    if let CaptureOutput::Frame(_) = o {
                        emitted += 1;
                    }
                })
                .unwrap();
                assert_eq!(
                    emitted > 0,
                    fragment >= until,
                    "{rate} Hz, fragment {k}: {until} samples to the next frame, {fragment} fed, {emitted} frames"
                );
                frames += emitted;
            }
            assert_eq!(frames, 500 * fragment * 50 / rate as usize, "{rate} Hz");
        }
    }
}
