//! The offline practice interviewer: asks questions from the bank with a real
//! (synthesized) voice and takes turns by the candidate's voice activity.
//!
//! - `core`: [`Core`], the whole conversation logic, sans-IO: it is fed
//!   candidate voice activity and the clock, and it produces events and "say
//!   this" requests.
//! - `hearing`: the candidate's words, recognised on the device
//!   (`candor-speech`) off the audio path, when a speech model is installed.
//! - here: [`PracticeEngine`] (the engine: voice, question plan, the loaded
//!   speech model) and [`PracticeSession`], which wraps the core with the
//!   clock, timers, the synthesizer and recognition.
//!
//! Without a speech model the candidate's words are unknown offline, so the
//! transcript says so (`[answer, 42 s]`) instead of inventing text.

mod core;
mod hearing;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use candor_api::Speaker;

use candor_protocol::{AudioCodec, AudioConfig};
use tokio::task::JoinHandle;

pub use self::core::{Core, Timings};
pub use self::hearing::SpeechModel;
use self::hearing::{Heard, Hearing};
use super::questions::{self, Question};
use super::{
    BoxFuture, CandidateAudio, Engine, EngineContext, EngineError, EngineEvent, EngineSession,
    SessionClock,
};
use crate::config::PracticeConfig;
use crate::store::{InterviewRecord, SegmentKind};
use crate::voice::{self, Utterance, Voice, VoiceError};

/// How long the end of an interview waits for its last answers' words.
const FINISH_RECOGNITION: Duration = Duration::from_secs(10);

/// The offline practice interviewer.
#[derive(Debug)]
pub struct PracticeEngine {
    voice: Arc<Voice>,
    cfg: PracticeConfig,
    /// The speech model, when one is configured and loads.
    speech: SpeechModel,
}

impl PracticeEngine {
    /// Fails with a clear message when espeak-ng is missing. A speech model
    /// that is configured but cannot be loaded is reported and left out:
    /// practice goes on without the candidate's words.
    pub fn new(cfg: PracticeConfig) -> Result<Self, EngineError> {
        voice::check_espeak(&cfg.espeak_path)?;
        let voice = Voice::new(
            cfg.espeak_path.clone(),
            cfg.voice.clone(),
            cfg.words_per_minute,
            cfg.output_rate_hz,
        )?;
        let speech = SpeechModel::default();
        match &cfg.speech_model {
            None => tracing::info!(
                "no speech model configured: offline practice will not transcribe the candidate"
            ),
            Some(dir) => match speech.load(dir) {
                Ok(()) => tracing::info!(model = %dir.display(), "speech model loaded"),
                Err(e) => {
                    tracing::warn!(model = %dir.display(), error = %e, "speech model unusable: offline practice will not transcribe the candidate")
                }
            },
        }
        Ok(Self {
            voice: Arc::new(voice),
            cfg,
            speech,
        })
    }

    /// The speech model in use, to replace or remove while the server runs.
    pub fn speech_model(&self) -> SpeechModel {
        self.speech.clone()
    }

    fn plan(&self, interview: &InterviewRecord) -> Vec<Question> {
        questions::plan(
            interview.role,
            interview.seniority,
            interview.question_count,
            &interview.id,
        )
    }
}

impl Engine for PracticeEngine {
    fn name(&self) -> &'static str {
        "practice"
    }

    fn output_config(&self, accepted: &[AudioCodec]) -> Option<AudioConfig> {
        let codec = if accepted.is_empty() || accepted.contains(&AudioCodec::Opus) {
            AudioCodec::Opus
        } else if accepted.contains(&AudioCodec::Pcm16) {
            AudioCodec::Pcm16
        } else {
            return None;
        };
        Some(AudioConfig {
            codec: codec as i32,
            sample_rate_hz: self.voice.rate_hz(),
            channels: 1,
            frame_duration_ms: self.voice.frame_ms(),
        })
    }

    fn planned_questions(&self, interview: &InterviewRecord) -> u32 {
        self.plan(interview).len() as u32
    }

    fn start(
        &self,
        ctx: EngineContext,
    ) -> BoxFuture<'_, Result<Box<dyn EngineSession>, EngineError>> {
        Box::pin(async move {
            let plan = self.plan(&ctx.interview);
            let core = Core::new(
                Timings::from(&self.cfg),
                &ctx.interview,
                plan,
                ctx.output_codec(),
            );
            // Synthesize the whole script in the background, in speaking order,
            // so later turns start without a synthesis delay.
            let voice = self.voice.clone();
            let script = core.script();
            tokio::spawn(async move {
                for text in script {
                    if voice.say(&text).await.is_err() {
                        break;
                    }
                }
            });
            let mut session = PracticeSession {
                core,
                voice: self.voice.clone(),
                clock: ctx.clock,
                synth: None,
                speech: self.speech.clone(),
                session_id: ctx.session_id.clone(),
                hearing: None,
                hearing_failed: false,
                ready: VecDeque::new(),
            };
            session.start_hearing();
            Ok(Box::new(session) as Box<dyn EngineSession>)
        })
    }
}

/// [`Core`] driven by the session clock and the synthesizer.
#[derive(Debug)]
pub struct PracticeSession {
    core: Core,
    voice: Arc<Voice>,
    clock: SessionClock,
    synth: Option<JoinHandle<Result<Arc<Utterance>, VoiceError>>>,
    /// The server's speech model slot: a model that finishes loading (or is
    /// installed) after the session started is picked up between answers.
    speech: SpeechModel,
    session_id: Arc<str>,
    /// Recognition of the candidate's words, when a speech model is loaded.
    hearing: Option<Hearing>,
    /// Recognition could not start; not tried again in this session.
    hearing_failed: bool,
    /// Events ready for the session (recognised words).
    ready: VecDeque<EngineEvent>,
}

impl PracticeSession {
    /// Starts recognising the candidate's words if a model is loaded now.
    /// Called at the start and between answers, so an answer is transcribed
    /// whole or not at all.
    fn start_hearing(&mut self) {
        if self.hearing.is_some() || self.hearing_failed {
            return;
        }
        let Some(model) = self.speech.current() else {
            return;
        };
        match Hearing::start(model, &self.session_id) {
            Ok(h) => self.hearing = Some(h),
            Err(e) => {
                tracing::warn!(error = %e, "speech recognition did not start");
                self.hearing_failed = true;
            }
        }
    }

    /// The next event ready now: recognised words first, then the core's —
    /// an answer's final transcript waits for its words when recognition runs.
    fn next_ready(&mut self) -> Option<EngineEvent> {
        if let Some(e) = self.ready.pop_front() {
            return Some(e);
        }
        while let Some(e) = self.core.pop_event() {
            match (e, self.hearing.as_mut()) {
                (EngineEvent::Transcript(t), Some(h))
                    if t.is_final
                        && t.speaker == Speaker::Candidate
                        && t.kind == SegmentKind::Answer =>
                {
                    if let Some(t) = h.settle(t) {
                        return Some(EngineEvent::Transcript(t));
                    }
                }
                (e, _) => return Some(e),
            }
        }
        None
    }

    fn on_heard(&mut self, heard: Heard) {
        match heard {
            Heard::Partial {
                segment,
                text,
                through_ms,
                event,
            } => {
                self.core.on_words(segment, text, through_ms);
                self.ready.push_back(EngineEvent::Transcript(event));
            }
            Heard::Final(event) => self.ready.push_back(EngineEvent::Transcript(event)),
        }
    }
}

impl Drop for PracticeSession {
    fn drop(&mut self) {
        if let Some(h) = self.synth.take() {
            h.abort();
        }
    }
}

impl EngineSession for PracticeSession {
    fn push_audio(&mut self, audio: CandidateAudio<'_>) {
        // Deadlines that fall before this chunk come first (a replayed
        // backlog is heard in the order it was spoken).
        self.core.poll(audio.at_ms);
        if self.hearing.is_none() && self.core.open_answer().is_none() {
            self.start_hearing();
        }
        self.core.on_audio(
            audio.at_ms,
            audio.voiced,
            audio.speaking,
            audio.duration_ms as u64,
        );
        if let Some(h) = self.hearing.as_mut() {
            h.on_audio(
                self.core.open_answer(),
                audio.pcm_16k,
                audio.at_ms,
                u64::from(audio.duration_ms),
                audio.voiced,
            );
        }
    }

    fn end(&mut self) {
        self.core.end();
        if let Some(h) = self.synth.take() {
            h.abort();
        }
    }

    fn take_remaining(&mut self) -> Vec<EngineEvent> {
        std::iter::from_fn(|| self.next_ready()).collect()
    }

    fn take_late(&mut self) -> BoxFuture<'_, Vec<EngineEvent>> {
        Box::pin(async move {
            match self.hearing.as_mut() {
                Some(h) => h
                    .finish(FINISH_RECOGNITION)
                    .await
                    .into_iter()
                    .map(EngineEvent::Transcript)
                    .collect(),
                None => Vec::new(),
            }
        })
    }

    fn next_event(&mut self) -> BoxFuture<'_, EngineEvent> {
        Box::pin(async move {
            loop {
                if let Some(e) = self.next_ready() {
                    return e;
                }
                let now = self.clock.now_ms();
                if self.synth.is_none() {
                    self.core.poll(now);
                    if let Some(text) = self.core.take_synth_request() {
                        let voice = self.voice.clone();
                        self.synth = Some(tokio::spawn(async move { voice.say(&text).await }));
                    }
                    if let Some(e) = self.next_ready() {
                        return e;
                    }
                }
                // While synthesizing the core has no deadline of its own.
                let wake = match self.core.next_deadline() {
                    _ if self.synth.is_some() => None,
                    Some(ms) if ms > now => Some(self.clock.instant_at(ms)),
                    Some(_) => Some(tokio::time::Instant::now() + Duration::from_millis(1)),
                    None => None,
                };
                let Self { synth, hearing, .. } = self;
                tokio::select! {
                    // Awaiting `&mut JoinHandle` is cancel-safe: the synthesis
                    // keeps running and is picked up on the next call.
                    res = async { synth.as_mut().expect("guarded").await }, if synth.is_some() => {
                        self.synth = None;
                        match res {
                            Ok(Ok(utt)) => self.core.begin(utt, self.clock.now_ms()),
                            Ok(Err(e)) => self.core.fail(format!("speech synthesis failed: {e}")),
                            Err(e) => self.core.fail(format!("speech synthesis failed: {e}")),
                        }
                    }
                    heard = async { hearing.as_mut().expect("guarded").next().await }, if hearing.is_some() => {
                        match heard {
                            Some(h) => self.on_heard(h),
                            None => {
                                tracing::warn!("speech recognition stopped; the interview goes on without words");
                                self.hearing = None;
                            }
                        }
                    }
                    _ = async { tokio::time::sleep_until(wake.expect("guarded")).await }, if wake.is_some() => {}
                }
            }
        })
    }
}
