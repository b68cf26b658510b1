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
//!
//! The interview's end waits a little ([`LAST_WORDS_WAIT`] after the closing
//! remark) for the last answer's words, so the candidate sees them before
//! the session ends; a recognizer that takes longer cannot hold the session,
//! and the results still get the words (`take_late`).

mod core;
mod hearing;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use candor_api::{Role, Seniority, Speaker};
use candor_audio::Codec;
use candor_protocol::{AudioCodec, AudioConfig, EndReason};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use self::core::{Core, CoreState, Progress, Timings};
pub use self::hearing::SpeechModel;
use self::hearing::{Heard, Hearing};
use super::questions::{self, Question};
use super::{
    BoxFuture, CandidateAudio, Engine, EngineContext, EngineError, EngineEvent, EngineSession,
    EngineSnapshot, SessionClock,
};
use crate::config::PracticeConfig;
use crate::store::{InterviewRecord, SegmentKind};
use crate::voice::{Utterance, Voice, VoiceError};

/// How long the end of an interview waits for its last answers' words.
const FINISH_RECOGNITION: Duration = Duration::from_secs(10);

/// How long a completed interview's end (after the closing remark) waits
/// for the last answer's words before it ends without them.
const LAST_WORDS_WAIT: Duration = Duration::from_secs(2);

/// The offline practice interviewer.
#[derive(Debug)]
pub struct PracticeEngine {
    voice: Arc<Voice>,
    cfg: PracticeConfig,
    /// The speech model, when one is configured and loads.
    speech: SpeechModel,
}

impl PracticeEngine {
    /// A session of `core` (`saved`: the turn boundary it was restored at).
    /// What it may say next is synthesized ahead, in the background, as the
    /// interview gets to it ([`Core::upcoming`]), so a turn starts without a
    /// synthesis delay and the script's cost is spread over the interview.
    fn session(
        &self,
        ctx: EngineContext,
        core: Core,
        saved: Option<(u8, u64, u32, u32, usize)>,
    ) -> PracticeSession {
        let (ahead, lines) = watch::channel(Vec::new());
        tokio::spawn(synthesize_ahead(self.voice.clone(), core.codec(), lines));
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
            ending: None,
            saved,
            ahead,
            prepared: None,
        };
        session.synthesize_upcoming();
        session
    }

    /// Fails with a clear message on a speaking rate or output rate the voice
    /// cannot produce. A speech model that is configured but cannot be
    /// loaded is reported and left out: practice goes on without the
    /// candidate's words.
    pub fn new(cfg: PracticeConfig) -> Result<Self, EngineError> {
        let voice = Voice::new(cfg.words_per_minute, cfg.output_rate_hz)?;
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
        match &interview.retry_of {
            Some(first) => vec![retry_question(interview.role, &first.question)],
            None => questions::plan(
                interview.role,
                interview.seniority,
                interview.question_count,
                &interview.id,
            ),
        }
    }
}

/// The one question a retry asks, given the question as it was first
/// asked: the bank's question (with its follow-ups) when the bank has it,
/// else (the bank changed, or another interviewer asked it) the question as
/// asked, without this interviewer's lead-in, with no follow-ups.
fn retry_question(role: Role, asked: &str) -> Question {
    if let Some(q) = questions::find(role, asked) {
        return q.clone();
    }
    let text = self::core::without_lead_in(asked)
        .trim_end_matches('—')
        .trim();
    Question {
        text: if text.is_empty() { asked.trim() } else { text }.to_owned(),
        follow_ups: Vec::new(),
        levels: Seniority::ALL.to_vec(),
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
            let mut session = self.session(ctx, core, None);
            session.start_hearing();
            Ok(Box::new(session) as Box<dyn EngineSession>)
        })
    }

    fn restore(
        &self,
        ctx: EngineContext,
        state: String,
    ) -> BoxFuture<'_, Result<Box<dyn EngineSession>, EngineError>> {
        Box::pin(async move {
            let state: CoreState = super::saved_state(&state)?;
            let boundary = state.boundary();
            // The turn being said, synthesized again to go on where it was.
            let utt = match Core::speaking_text(&state) {
                Some(text) => Some(self.voice.say(text, ctx.output_codec()).await?),
                None => None,
            };
            let core = Core::restore(
                Timings::from(&self.cfg),
                self.plan(&ctx.interview),
                ctx.output_codec(),
                state,
                utt,
            );
            // This voice's cache may be cold (another instance started the
            // session): what comes next is synthesized ahead as at the start.
            let mut session = self.session(ctx, core, Some(boundary));
            // An answer under way is not heard from its middle: recognition
            // starts with the next one.
            if session.core.open_answer().is_none() {
                session.start_hearing();
            }
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
    /// The interview is complete: its end, held until the last answer's
    /// words come or the deadline passes.
    ending: Option<(EngineEvent, tokio::time::Instant)>,
    /// The turn boundary of the last [`EngineSession::snapshot`].
    saved: Option<(u8, u64, u32, u32, usize)>,
    /// What the interview may say next, for [`synthesize_ahead`] (which
    /// stops when the session is dropped).
    ahead: watch::Sender<Vec<String>>,
    /// The core's progress (and whether words are heard) when `ahead` was
    /// last given the upcoming lines.
    prepared: Option<(Progress, bool)>,
}

/// Synthesizes the lines `lines` holds, in order; a newer list replaces the
/// one under way (whatever they share is cached by then). Ends
/// when the session drops its sender or the voice fails (the session's own
/// request for that line then reports the failure).
async fn synthesize_ahead(
    voice: Arc<Voice>,
    codec: Codec,
    mut lines: watch::Receiver<Vec<String>>,
) {
    while lines.changed().await.is_ok() {
        let upcoming = lines.borrow_and_update().clone();
        for text in upcoming {
            if lines.has_changed().unwrap_or(true) {
                break;
            }
            if voice.say(&text, codec).await.is_err() {
                return;
            }
        }
    }
}

impl PracticeSession {
    /// Hands what the interview may say next to [`synthesize_ahead`] when the
    /// core has moved on since the last time.
    fn synthesize_upcoming(&mut self) {
        let key = (self.core.progress(), self.hearing.is_some());
        if self.prepared == Some(key) {
            return;
        }
        self.prepared = Some(key);
        // No receiver: the voice failed, and the next turn will say so.
        let _ = self.ahead.send(self.core.upcoming(key.1));
    }

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
                (
                    e @ EngineEvent::Ended {
                        reason: EndReason::InterviewComplete,
                        ..
                    },
                    Some(h),
                ) if h.holds_finals() && self.ending.is_none() => {
                    self.ending = Some((e, tokio::time::Instant::now() + LAST_WORDS_WAIT));
                }
                (e, _) => return Some(e),
            }
        }
        None
    }

    /// The held end of the interview, once the last answer's words came or
    /// waiting for them is over.
    fn release_end(&mut self) -> Option<EngineEvent> {
        let (_, deadline) = self.ending.as_ref()?;
        let waiting = self.hearing.as_ref().is_some_and(Hearing::holds_finals);
        if waiting && tokio::time::Instant::now() < *deadline {
            return None;
        }
        if waiting {
            tracing::warn!(
                "the last answer's words were not recognised in time: the results will have them"
            );
        }
        self.ending.take().map(|(e, _)| e)
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
            Heard::Tail {
                segment,
                text,
                through_ms,
            } => self.core.on_tail(segment, text, through_ms),
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

    fn snapshot(&mut self, force: bool) -> Option<EngineSnapshot> {
        if self.ending.is_some() || !self.ready.is_empty() {
            return None;
        }
        let state = self.core.snapshot_state()?;
        let boundary = state.boundary();
        if !force && self.saved == Some(boundary) {
            return None;
        }
        match serde_json::to_string(&state) {
            Ok(json) => {
                self.saved = Some(boundary);
                // The voice says a text the same way every time.
                Some(EngineSnapshot {
                    state: json,
                    holds_audio_through: None,
                    says_again: true,
                })
            }
            Err(e) => {
                tracing::error!(error = %e, "the interview's state could not be saved");
                None
            }
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
                if let Some(e) = self.release_end() {
                    return e;
                }
                let now = self.clock.now_ms();
                if self.synth.is_none() {
                    self.core.poll(now);
                    self.synthesize_upcoming();
                    if let Some(text) = self.core.take_synth_request() {
                        let voice = self.voice.clone();
                        let codec = self.core.codec();
                        self.synth =
                            Some(tokio::spawn(async move { voice.say(&text, codec).await }));
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
                let end_by = self.ending.as_ref().map(|(_, deadline)| *deadline);
                let Self { synth, hearing, .. } = self;
                tokio::select! {
                    // Awaiting `&mut JoinHandle` is cancel-safe: the synthesis
                    // keeps running and is picked up on the next call.
                    res = async { synth.as_mut().expect("guarded").await }, if synth.is_some() => {
                        self.synth = None;
                        match res {
                            Ok(Ok(utt)) => {
                                self.core.begin(utt, self.clock.now_ms());
                                self.synthesize_upcoming();
                            }
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
                    _ = async { tokio::time::sleep_until(end_by.expect("guarded")).await }, if end_by.is_some() => {}
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candor_api::{InterviewStatus, Role, Seniority};
    use candor_protocol::InterviewerActivity;
    use candor_speech::{SpeechError, Transcriber};
    use std::sync::{Condvar, Mutex};

    /// A recognizer that hears "We shipped it on time." once its gate opens:
    /// until then every turn waits, as under a recognizer slower than the
    /// interviewer's closing remark.
    #[derive(Clone, Default)]
    struct Gated(Arc<(Mutex<bool>, Condvar)>);

    impl Gated {
        fn open(&self) {
            *self.0.0.lock().unwrap() = true;
            self.0.1.notify_all();
        }
    }

    impl Transcriber for Gated {
        fn transcribe(&mut self, _: &[f32]) -> Result<String, SpeechError> {
            let (open, wake) = &*self.0;
            let _open = wake
                .wait_while(open.lock().unwrap(), |open| !*open)
                .unwrap();
            Ok("We shipped it on time.".into())
        }
    }

    /// A one-question software engineering interview.
    fn session_interview() -> InterviewRecord {
        InterviewRecord {
            id: "i1".into(),
            user_id: "u1".into(),
            role: Role::SoftwareEngineer,
            seniority: Seniority::Mid,
            job_description: None,
            cv_text: None,
            question_count: 1,
            status: InterviewStatus::Created,
            created_at_ms: 0,
            updated_at_ms: 0,
            retry_of: None,
        }
    }

    /// A one-question interview, spoken fast, hearing with `transcriber`.
    fn session(transcriber: Gated) -> PracticeSession {
        let cfg = PracticeConfig {
            answer_silence: Duration::from_millis(400),
            finished_silence: Duration::from_millis(200),
            think_time: Duration::from_millis(100),
            // No follow-up: the answer is the last one.
            short_answer: Duration::ZERO,
            words_per_minute: 450,
            ..PracticeConfig::default()
        };
        let interview = session_interview();
        let plan = questions::plan(interview.role, interview.seniority, 1, &interview.id);
        let voice = Voice::new(cfg.words_per_minute, cfg.output_rate_hz).expect("a valid voice");
        PracticeSession {
            core: Core::new(Timings::from(&cfg), &interview, plan, Codec::Pcm16),
            voice: Arc::new(voice),
            clock: SessionClock::start(),
            synth: None,
            speech: SpeechModel::default(),
            session_id: "s1".into(),
            hearing: Some(Hearing::start(transcriber, "s1").expect("the worker starts")),
            hearing_failed: false,
            ready: VecDeque::new(),
            ending: None,
            saved: None,
            // Nothing synthesized ahead: every turn waits for its voice.
            ahead: watch::channel(Vec::new()).0,
            prepared: None,
        }
    }

    /// What the client saw, in order: "closing" (the closing remark's final
    /// line), "answer" (the answer's final line, with its words or not) and
    /// "ended".
    #[derive(Debug, PartialEq)]
    enum Seen {
        Closing,
        Answer(String),
        Ended,
    }

    /// Runs the interview: the candidate answers the question with 600 ms of
    /// voice; `on_closing` runs when the closing remark has been said.
    async fn run(session: &mut PracticeSession, mut on_closing: impl FnMut()) -> Vec<Seen> {
        let mut seen = Vec::new();
        let mut next_chunk = 0u64;
        let mut seq = 0;
        let mut answer_from: Option<u64> = None;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            assert!(tokio::time::Instant::now() < deadline, "{seen:?}");
            while next_chunk + 20 <= session.clock.now_ms() {
                let voiced = answer_from.is_some_and(|a| (a..a + 600).contains(&next_chunk));
                let pcm = vec![if voiced { 0.1 } else { 0.0 }; 320];
                seq += 1;
                session.push_audio(CandidateAudio {
                    seq,
                    at_ms: next_chunk,
                    encoded: &[],
                    pcm_16k: &pcm,
                    voiced,
                    speaking: voiced,
                    muted: false,
                    duration_ms: 20,
                });
                next_chunk += 20;
            }
            let Ok(event) =
                tokio::time::timeout(Duration::from_millis(20), session.next_event()).await
            else {
                continue;
            };
            match event {
                EngineEvent::State {
                    activity: InterviewerActivity::Listening,
                    ..
                } if answer_from.is_none() => answer_from = Some(next_chunk + 100),
                EngineEvent::Transcript(t) if t.is_final && t.kind == SegmentKind::Closing => {
                    seen.push(Seen::Closing);
                    on_closing();
                }
                EngineEvent::Transcript(t) if t.is_final && t.speaker == Speaker::Candidate => {
                    seen.push(Seen::Answer(t.text));
                }
                EngineEvent::Ended { .. } => {
                    seen.push(Seen::Ended);
                    return seen;
                }
                _ => {}
            }
        }
    }

    /// A retry of `asked`, the question as it was first asked.
    fn retry_of(asked: &str) -> InterviewRecord {
        InterviewRecord {
            id: "r1".into(),
            user_id: "u1".into(),
            role: Role::ProductManager,
            seniority: Seniority::Junior,
            job_description: None,
            cv_text: None,
            question_count: 1,
            status: InterviewStatus::Created,
            created_at_ms: 0,
            updated_at_ms: 0,
            retry_of: Some(crate::store::RetryOfRecord {
                interview_id: "i1".into(),
                question_index: 2,
                question: asked.into(),
            }),
        }
    }

    #[test]
    fn a_retry_plans_the_one_question_it_answers_again() {
        let engine = PracticeEngine::new(PracticeConfig::default()).unwrap();
        // A question of the bank keeps its follow-ups, whatever its level.
        let senior = questions::bank(Role::ProductManager)
            .iter()
            .find(|q| !q.levels.contains(&Seniority::Junior))
            .expect("a question a junior is not asked");
        let retry = retry_of(&format!("Let's begin. {}", senior.text));
        assert_eq!(engine.plan(&retry), std::slice::from_ref(senior));
        assert_eq!(engine.planned_questions(&retry), 1);
        // So does a behavioural one.
        let behavioural = &questions::bank(Role::Behavioural)[0];
        assert_eq!(
            engine.plan(&retry_of(&behavioural.text)),
            std::slice::from_ref(behavioural)
        );
        // A question the banks no longer have: its words, no follow-up.
        let gone = retry_of("Here is the last question. What would you do on day one?");
        assert_eq!(
            engine.plan(&gone),
            [Question {
                text: "What would you do on day one?".into(),
                follow_ups: Vec::new(),
                levels: Seniority::ALL.to_vec(),
            }]
        );
        // Without the link, the interview's own plan.
        let first = InterviewRecord {
            retry_of: None,
            question_count: 4,
            ..retry_of("")
        };
        assert_eq!(engine.planned_questions(&first), 4);
    }

    /// Waits (at most 30 s) until `voice` holds every line of `lines`.
    async fn synthesized(voice: &Voice, lines: &[String]) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while !lines.iter().all(|l| voice.is_cached(l, Codec::Opus)) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "not synthesized ahead: {lines:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Runs `session` (at most 30 s) until the interviewer's activity
    /// becomes `activity` on question `index`.
    async fn next_state(session: &mut PracticeSession, activity: InterviewerActivity, index: u32) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let event = tokio::time::timeout_at(deadline, session.next_event())
                .await
                .unwrap_or_else(|_| panic!("{activity:?} on question {index}"));
            if let EngineEvent::State {
                activity: a,
                question_index,
                ..
            } = event
                && a == activity
                && question_index == index
            {
                return;
            }
        }
    }

    #[tokio::test]
    async fn what_the_interview_says_next_is_synthesized_ahead_and_nothing_further() {
        let cfg = PracticeConfig {
            words_per_minute: 450,
            ..PracticeConfig::default()
        };
        let engine = PracticeEngine::new(cfg.clone()).expect("the engine");
        let interview = InterviewRecord {
            question_count: 4,
            ..session_interview()
        };
        let plan = engine.plan(&interview);
        let ctx = EngineContext {
            session_id: "s1".into(),
            output: engine.output_config(&[]).expect("Opus"),
            interview: interview.clone(),
            clock: SessionClock::start(),
        };
        let core = Core::new(Timings::from(&cfg), &interview, plan.clone(), Codec::Opus);
        let mut session = engine.session(ctx, core, None);

        // Before anything is asked for: the greeting and the first question.
        let first = session.core.upcoming(false);
        assert_eq!(first.len(), 2, "{first:?}");
        synthesized(&engine.voice, &first).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let second = &plan[1].text;
        assert!(
            !engine.voice.is_cached(second, Codec::Opus),
            "the second question waits for the first"
        );

        // While the first question is being asked, still nothing further.
        next_state(&mut session, InterviewerActivity::Speaking, 1).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!engine.voice.is_cached(second, Codec::Opus));

        // Once it has been said: what its answer may bring, and the second
        // question, but not the third.
        next_state(&mut session, InterviewerActivity::Listening, 1).await;
        let next = session.core.upcoming(false);
        assert!(next.contains(second), "{next:?}");
        synthesized(&engine.voice, &next).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(!engine.voice.is_cached(&plan[2].text, Codec::Opus));
    }

    #[tokio::test]
    async fn the_interview_ends_after_the_last_answers_words_when_they_come_late() {
        // Recognition is still busy with the last answer when the closing
        // remark ends; its words come a moment later.
        let gate = Gated::default();
        let mut session = session(gate.clone());
        let seen = run(&mut session, || gate.open()).await;
        assert_eq!(
            seen,
            [
                Seen::Closing,
                Seen::Answer("We shipped it on time.".into()),
                Seen::Ended
            ]
        );
    }

    #[tokio::test]
    async fn a_stuck_recognizer_does_not_hold_the_end_of_the_interview() {
        let gate = Gated::default();
        let mut session = session(gate.clone());
        let seen = run(&mut session, || {}).await;
        // The session ends without the words; the results get them later.
        assert_eq!(seen, [Seen::Closing, Seen::Ended]);
        gate.open();
    }
}
