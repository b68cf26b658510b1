//! The offline practice interviewer: asks questions from the bank with a real
//! (synthesized) voice and takes turns by the candidate's voice activity.
//!
//! - `core`: [`Core`], the whole conversation logic, sans-IO: it is fed
//!   candidate voice activity and the clock, and it produces events and "say
//!   this" requests.
//! - here: [`PracticeEngine`] (the engine: voice, question plan) and
//!   [`PracticeSession`], which wraps the core with the clock, timers and the
//!   synthesizer.
//!
//! Without speech recognition the candidate's words are unknown offline, so
//! the transcript says so (`[answer, 42 s]`) instead of inventing text.

mod core;

use std::sync::Arc;
use std::time::Duration;

use candor_protocol::{AudioCodec, AudioConfig};
use tokio::task::JoinHandle;

pub use self::core::{Core, Timings};
use super::questions::{self, Question};
use super::{
    BoxFuture, CandidateAudio, Engine, EngineContext, EngineError, EngineEvent, EngineSession,
    SessionClock,
};
use crate::config::PracticeConfig;
use crate::store::InterviewRecord;
use crate::voice::{self, Utterance, Voice, VoiceError};

/// The offline practice interviewer.
#[derive(Debug)]
pub struct PracticeEngine {
    voice: Arc<Voice>,
    cfg: PracticeConfig,
}

impl PracticeEngine {
    /// Fails with a clear message when espeak-ng is missing.
    pub fn new(cfg: PracticeConfig) -> Result<Self, EngineError> {
        voice::check_espeak(&cfg.espeak_path)?;
        let voice = Voice::new(
            cfg.espeak_path.clone(),
            cfg.voice.clone(),
            cfg.words_per_minute,
            cfg.output_rate_hz,
        )?;
        Ok(Self {
            voice: Arc::new(voice),
            cfg,
        })
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
            Ok(Box::new(PracticeSession {
                core,
                voice: self.voice.clone(),
                clock: ctx.clock,
                synth: None,
            }) as Box<dyn EngineSession>)
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
        self.core.on_audio(
            audio.at_ms,
            audio.voiced,
            audio.speaking,
            audio.duration_ms as u64,
        );
    }

    fn end(&mut self) {
        self.core.end();
        if let Some(h) = self.synth.take() {
            h.abort();
        }
    }

    fn take_remaining(&mut self) -> Vec<EngineEvent> {
        std::iter::from_fn(|| self.core.pop_event()).collect()
    }

    fn next_event(&mut self) -> BoxFuture<'_, EngineEvent> {
        Box::pin(async move {
            loop {
                if let Some(e) = self.core.pop_event() {
                    return e;
                }
                if let Some(h) = self.synth.as_mut() {
                    // Awaiting `&mut JoinHandle` is cancel-safe: the synthesis
                    // keeps running and is picked up on the next call.
                    let res = h.await;
                    self.synth = None;
                    match res {
                        Ok(Ok(utt)) => self.core.begin(utt, self.clock.now_ms()),
                        Ok(Err(e)) => self.core.fail(format!("speech synthesis failed: {e}")),
                        Err(e) => self.core.fail(format!("speech synthesis failed: {e}")),
                    }
                    continue;
                }
                let now = self.clock.now_ms();
                self.core.poll(now);
                if let Some(text) = self.core.take_synth_request() {
                    let voice = self.voice.clone();
                    self.synth = Some(tokio::spawn(async move { voice.say(&text).await }));
                    continue;
                }
                if let Some(e) = self.core.pop_event() {
                    return e;
                }
                match self.core.next_deadline() {
                    Some(ms) if ms > now => {
                        tokio::time::sleep_until(self.clock.instant_at(ms)).await
                    }
                    Some(_) => tokio::time::sleep(Duration::from_millis(1)).await,
                    None => std::future::pending::<()>().await,
                }
            }
        })
    }
}
