//! The driver's audio side: opening the microphone and the speaker off the
//! driver task, forwarding the capture worker's frames and events to it, and
//! releasing the devices. Candidate frames go to the [`ClientSession`]
//! (muted: one frame of Opus silence instead, so timings stay true).
//!
//! [`ClientSession`]: crate::session::ClientSession

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use candor_audio::{
    AudioError, Capture, CaptureEvent, CaptureSettings, CaptureSink, EchoLink, EncodedFrame,
    Playback, PlaybackEvent, PlaybackSettings, VoiceProcessing,
};
use candor_lifecycle::{Event, InterviewPhase, MicProblem};
use candor_protocol::AudioCodec;
use tokio::sync::mpsc;

use super::{Driver, Internal};
use crate::ipc::{EngineEvent, NoticeLevel};
use crate::session::CapturedFrame;

/// The devices of the current interview.
pub(super) struct Audio {
    pub(super) capture: Option<Capture>,
    pub(super) playback: Option<Playback>,
    echo: Arc<EchoLink>,
    streaming: bool,
    pub(super) muted: bool,
    last_voice: bool,
    /// One 20 ms Opus frame of silence, sent while muted.
    silence: Bytes,
    /// Threads stopping streams: joining audio threads takes a few ms, so
    /// never on the driver's task, but shutdown waits for them (a WAV sink
    /// is only complete once its stream has stopped).
    stopping: Vec<std::thread::JoinHandle<()>>,
}

impl Audio {
    pub(super) fn new() -> Self {
        Self {
            capture: None,
            playback: None,
            echo: EchoLink::new(),
            streaming: false,
            muted: false,
            last_voice: false,
            silence: silence_packet(),
            stopping: Vec::new(),
        }
    }

    /// Stops streams on a thread of their own, remembered for
    /// [`Self::take_stopping`].
    fn stop_in_background(&mut self, stop: impl FnOnce() + Send + 'static) {
        self.stopping.retain(|t| !t.is_finished());
        self.stopping.push(std::thread::spawn(stop));
    }

    /// The threads still stopping streams, to wait for at shutdown.
    pub(super) fn take_stopping(&mut self) -> Vec<std::thread::JoinHandle<()>> {
        std::mem::take(&mut self.stopping)
    }
}

impl Driver {
    fn capture_settings(&self) -> CaptureSettings {
        CaptureSettings {
            processing: if self.config.echo_cancellation {
                VoiceProcessing::default()
            } else {
                VoiceProcessing::OFF
            },
            level_updates_per_second: self.config.level_updates_per_second,
            ..CaptureSettings::default()
        }
    }

    fn echo_link(&self) -> Option<Arc<EchoLink>> {
        self.config
            .echo_cancellation
            .then(|| self.audio.echo.clone())
    }

    /// Opens the microphone and waits for its first samples, off the driver
    /// (an OS permission prompt may hold it for seconds).
    pub(super) fn open_microphone(&mut self) {
        if let Some(old) = self.audio.capture.take() {
            self.audio.stop_in_background(move || old.stop());
        }
        let source = self.config.input.clone();
        let settings = self.capture_settings();
        let sink = EngineSink {
            internal: self.internal.clone(),
        };
        let echo = self.echo_link();
        let timeout = self.config.mic_timeout;
        let internal = self.internal.clone();
        tokio::task::spawn_blocking(move || {
            let result = Capture::start(&source, settings, sink, echo).and_then(|capture| {
                match capture.wait_started(timeout) {
                    Ok(_) => Ok(capture),
                    Err(e) => {
                        capture.stop();
                        Err(e)
                    }
                }
            });
            let _ = internal.send(Internal::MicReady(result));
        });
    }

    pub(super) fn on_mic_ready(&mut self, result: Result<Capture, AudioError>) {
        match result {
            Ok(capture) => {
                if self.machine.interview_phase() == InterviewPhase::RequestingPermissions {
                    self.audio.capture = Some(capture);
                    self.feed(Event::MicrophoneGranted);
                } else {
                    self.audio.stop_in_background(move || capture.stop());
                }
            }
            Err(e) => {
                let problem = if e.is_permission_denied() {
                    MicProblem::Denied
                } else if matches!(e, AudioError::NoDevice(..)) {
                    MicProblem::NoDevice
                } else {
                    MicProblem::Failed
                };
                self.feed(Event::MicrophoneUnavailable {
                    problem,
                    message: e.to_string(),
                });
            }
        }
    }

    /// The interview is live: candidate frames flow and the speaker opens in
    /// the format the server stated.
    pub(super) fn start_audio(&mut self) {
        self.audio.streaming = true;
        self.session.start_streaming(Instant::now());
        let settings = self.playback_settings();
        let sink = self.config.output.clone();
        let echo = self.echo_link();
        let internal = self.internal.clone();
        let events = {
            let internal = internal.clone();
            move |event: PlaybackEvent| {
                let _ = internal.send(Internal::Playback(event));
            }
        };
        tokio::task::spawn_blocking(move || {
            let _ = internal.send(Internal::PlaybackReady(Playback::start(
                &sink, settings, events, echo,
            )));
        });
    }

    fn playback_settings(&self) -> PlaybackSettings {
        let mut settings = PlaybackSettings::default();
        if let Some(config) = self.session.downlink() {
            settings.codec = match config.codec() {
                AudioCodec::Pcm16 => candor_audio::Codec::Pcm16,
                _ => candor_audio::Codec::Opus,
            };
            settings.stream_rate = config.sample_rate_hz;
        }
        settings
    }

    pub(super) fn on_playback_ready(&mut self, result: Result<Playback, AudioError>) {
        match result {
            Ok(playback) if self.audio.streaming => self.audio.playback = Some(playback),
            Ok(playback) => {
                self.audio.stop_in_background(move || playback.stop());
            }
            Err(e) if self.audio.streaming => self.feed(Event::AudioFailed {
                message: format!("could not open the speaker: {e}"),
            }),
            Err(_) => {}
        }
    }

    pub(super) fn release_audio(&mut self) {
        self.audio.streaming = false;
        self.session.stop_streaming();
        let capture = self.audio.capture.take();
        let playback = self.audio.playback.take();
        if capture.is_some() || playback.is_some() {
            self.audio.stop_in_background(move || {
                if let Some(c) = capture {
                    c.stop();
                }
                if let Some(p) = playback {
                    p.stop();
                }
            });
        }
    }

    pub(super) fn on_frame(&mut self, frame: EncodedFrame, left_worker: Instant) {
        if !self.audio.streaming {
            return; // captured before live (permission check) or after the end
        }
        self.audio.last_voice = frame.voice && !self.audio.muted;
        let (data, voice) = if self.audio.muted {
            (self.audio.silence.clone(), false)
        } else {
            (Bytes::from(frame.payload), frame.voice)
        };
        self.session.on_frame(CapturedFrame {
            data,
            voice,
            muted: self.audio.muted,
            captured_at: frame.captured_at,
            encoded_at: left_worker,
        });
    }

    pub(super) fn on_capture_event(&mut self, event: CaptureEvent) {
        match event {
            CaptureEvent::Level(level) => {
                if self.audio.streaming {
                    let level = if self.audio.muted { 0.0 } else { level };
                    self.emit(EngineEvent::Level {
                        level,
                        voice: self.audio.last_voice,
                    });
                }
            }
            CaptureEvent::DeviceLost(e) => self.notice(
                NoticeLevel::Warning,
                format!("The microphone was disconnected ({e}); switching to the default one."),
            ),
            CaptureEvent::Failed(e) => self.feed(Event::AudioFailed {
                message: format!("the microphone stopped working: {e}"),
            }),
            CaptureEvent::StrongEcho(strong) => {
                if self.audio.streaming {
                    self.emit(EngineEvent::Echo { strong });
                }
            }
            CaptureEvent::Echo(report) => {
                // Underruns move what was played against its stamps.
                let underruns = self
                    .audio
                    .playback
                    .as_ref()
                    .map_or(0, |p| p.stats().callback_underruns);
                tracing::debug!(
                    target: "candor_client::echo",
                    "{report}, playback underruns {underruns}"
                );
            }
            CaptureEvent::Started(info) => {
                let priority = candor_audio::priority::achieved();
                let rtkit = candor_audio::priority::rtkit_refusal();
                tracing::info!(
                    device = %info.name,
                    ?priority,
                    rtkit_refusal = rtkit,
                    "the microphone delivers audio"
                );
            }
            CaptureEvent::Ended => {}
        }
    }
}

impl Driver {
    /// The speaker's worker reports: a lost device is being replaced (the
    /// user is told), one that failed for good ends the interview's audio.
    pub(super) fn on_playback_event(&mut self, event: PlaybackEvent) {
        match event {
            PlaybackEvent::DeviceLost(e) => self.notice(
                NoticeLevel::Warning,
                format!("The speaker was disconnected ({e}); switching to the default one."),
            ),
            PlaybackEvent::Failed(e) if self.audio.streaming => self.feed(Event::AudioFailed {
                message: format!("the speaker stopped working: {e}"),
            }),
            PlaybackEvent::Failed(_) | PlaybackEvent::Started(_) => {}
        }
    }
}

/// Forwards the capture worker's output to the driver.
struct EngineSink {
    internal: mpsc::UnboundedSender<Internal>,
}

impl CaptureSink for EngineSink {
    fn frame(&mut self, frame: EncodedFrame) {
        let _ = self.internal.send(Internal::Frame(frame, Instant::now()));
    }

    fn event(&mut self, event: CaptureEvent) {
        let _ = self.internal.send(Internal::Capture(event));
    }
}

/// One 20 ms Opus frame of silence.
fn silence_packet() -> Bytes {
    let samples = [0f32; candor_audio::codec::CAPTURE_FRAME_SAMPLES];
    let mut encoder = candor_audio::codec::OpusEncoder::new(Default::default())
        .expect("an Opus encoder with default settings");
    Bytes::from(encoder.encode_vec(&samples).expect("encoding silence"))
}
