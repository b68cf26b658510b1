//! The interviewer behind a session: the [`Engine`] trait, the offline
//! practice interviewer and the Gemini Live bridge that implement it.
//!
//! An engine knows nothing of sockets, sequence numbers, acknowledgements or
//! storage: the session layer feeds it candidate audio (already in order,
//! exactly once, decoded to 16 kHz PCM with a voice-activity flag, and still
//! available in its original encoding for engines that forward it upstream)
//! and turns its [`EngineEvent`]s into protocol messages. A Gemini Live engine
//! plugs in here: forward `encoded` or `pcm_16k` upstream, map its audio,
//! transcriptions, `interrupted` and turn-complete back to events.

pub mod gemini;
pub mod practice;
pub mod questions;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use candor_api::Speaker;
use candor_audio::Codec;
use candor_protocol::{AudioCodec, AudioConfig, EndReason, InterviewerActivity};
use thiserror::Error;
use tokio::time::Instant;

use crate::store::{InterviewRecord, SegmentKind};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

#[derive(Debug, Error)]
pub enum EngineError {
    #[error("the interview engine is unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Voice(#[from] crate::voice::VoiceError),
    /// An upstream service refused or failed; carries the code, message and
    /// retryability the client is told.
    #[error("{}", .0.message)]
    Upstream(candor_protocol::Error),
}

impl EngineError {
    /// The `Error` a client gets when its session cannot start.
    pub fn to_protocol(&self) -> candor_protocol::Error {
        match self {
            EngineError::Upstream(e) => e.clone(),
            e => candor_protocol::Error::new(
                candor_protocol::ErrorCode::EngineUnavailable,
                e.to_string(),
            ),
        }
    }
}

/// A kind of interviewer.
pub trait Engine: Send + Sync + 'static {
    /// Reported to the client in `StartResponse.engine`.
    fn name(&self) -> &'static str;

    /// The audio the engine will send, given the codecs the client can play
    /// (empty: Opus then PCM16). None if it can produce none of them.
    fn output_config(&self, accepted: &[AudioCodec]) -> Option<AudioConfig>;

    /// How many questions it will ask (0 if open-ended).
    fn planned_questions(&self, interview: &InterviewRecord) -> u32;

    /// Starts one interview.
    fn start(
        &self,
        ctx: EngineContext,
    ) -> BoxFuture<'_, Result<Box<dyn EngineSession>, EngineError>>;

    /// Continues an interview another process ran, from the state its
    /// [`EngineSession::snapshot`] gave (`ctx.clock` reads where it was
    /// taken). An engine that cannot says so.
    fn restore(
        &self,
        ctx: EngineContext,
        state: String,
    ) -> BoxFuture<'_, Result<Box<dyn EngineSession>, EngineError>> {
        let _ = (ctx, state);
        Box::pin(async {
            Err(EngineError::Unavailable(
                "this interviewer cannot continue a session another server ran".into(),
            ))
        })
    }
}

/// Reads a state an [`EngineSession::snapshot`] saved.
pub(crate) fn saved_state<T: serde::de::DeserializeOwned>(state: &str) -> Result<T, EngineError> {
    serde_json::from_str(state).map_err(|e| {
        EngineError::Unavailable(format!("the session's saved state is unreadable: {e}"))
    })
}

/// What an engine session is started with.
#[derive(Debug, Clone)]
pub struct EngineContext {
    pub session_id: Arc<str>,
    pub interview: InterviewRecord,
    /// What the engine must send (one of its `output_config` answers).
    pub output: AudioConfig,
    /// The session clock: milliseconds of conversation, paused while the
    /// client is disconnected.
    pub clock: SessionClock,
}

impl EngineContext {
    /// The codec of [`output`](Self::output).
    pub fn output_codec(&self) -> Codec {
        crate::voice::codec_of(self.output.codec).unwrap_or(Codec::Opus)
    }
}

/// One candidate audio chunk.
#[derive(Debug, Clone, Copy)]
pub struct CandidateAudio<'a> {
    pub seq: u64,
    /// Where the chunk starts on the session timeline: placed by the
    /// audio's own clock (`session::media`), not by when it arrived, so a
    /// backlog replayed after a cut is the seconds of speech it was.
    pub at_ms: u64,
    /// As the client sent it (`StartRequest.audio_config`).
    pub encoded: &'a [u8],
    /// Decoded, 16 kHz mono, in [-1, 1].
    pub pcm_16k: &'a [f32],
    /// The chunk holds the candidate's voice (`voice::Listener`).
    pub voiced: bool,
    /// Speech is ongoing after this chunk (onset and hangover applied).
    pub speaking: bool,
    /// The candidate muted the microphone: the chunk is silence, and a run
    /// of them is an audio stream that stopped.
    pub muted: bool,
    pub duration_ms: u32,
}

/// Something the engine wants the client to see or hear.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineEvent {
    /// One chunk of interviewer audio, due at `due_ms` on the session clock.
    Audio {
        data: Bytes,
        due_ms: u64,
    },
    Transcript(TranscriptEvent),
    State {
        activity: InterviewerActivity,
        question_index: u32,
        question_count: u32,
    },
    /// The candidate barged in: the current interviewer turn was cut short.
    Interrupted,
    /// The interview is over.
    Ended {
        reason: EndReason,
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct TranscriptEvent {
    pub speaker: Speaker,
    pub segment_id: u64,
    pub text: String,
    pub is_final: bool,
    pub start_ms: u64,
    pub end_ms: u64,
    pub kind: SegmentKind,
    pub question_index: u32,
    pub interrupted: bool,
}

/// One running interview.
pub trait EngineSession: Send {
    /// Candidate audio, in order, exactly once.
    fn push_audio(&mut self, audio: CandidateAudio<'_>);

    /// The user ended the interview: stop producing output.
    fn end(&mut self);

    /// After [`end`](Self::end): what the engine still owes the record, such
    /// as the settled transcript of an answer the end cut short. Delivered
    /// before `SessionEnded`.
    fn take_remaining(&mut self) -> Vec<EngineEvent> {
        Vec::new()
    }

    /// After [`take_remaining`](Self::take_remaining), once the client has
    /// been told the session ended: what only arrives later, such as the
    /// recognised words of the last answer. Stored before results are
    /// computed; may take a few seconds.
    fn take_late(&mut self) -> BoxFuture<'_, Vec<EngineEvent>> {
        Box::pin(async { Vec::new() })
    }

    /// The client's socket dropped; the session waits for a resume and stops
    /// polling `next_event` (the session clock is paused). An upstream engine
    /// may pause its own stream here.
    fn paused(&mut self) {}

    /// The client resumed after `paused`.
    fn resumed(&mut self) {}

    /// The engine's state, for [`Engine::restore`] in another process: at
    /// a turn boundary not given before, or (`force`) whenever it can be
    /// taken. None when nothing new is due or it cannot be taken now (an
    /// event is still waiting to be delivered), or the engine keeps none.
    fn snapshot(&mut self, force: bool) -> Option<EngineSnapshot> {
        let _ = force;
        None
    }

    /// After [`Engine::restore`], before any new audio: a candidate chunk
    /// heard before the snapshot was taken that its state does not hold
    /// ([`EngineSnapshot::holds_audio_through`]), in order. An engine whose
    /// state lives upstream forwards it again; its own timings already
    /// account for it.
    fn hear_again(&mut self, seq: u64, pcm_16k: &[f32]) {
        let _ = (seq, pcm_16k);
    }

    /// The next event. Must be cancel-safe: the session polls it inside
    /// `select!` and drops the future whenever something else happens first.
    /// The session stops polling while the client is disconnected.
    fn next_event(&mut self) -> BoxFuture<'_, EngineEvent>;
}

/// What [`EngineSession::snapshot`] gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineSnapshot {
    /// The engine's state, as [`Engine::restore`] takes it.
    pub state: String,
    /// The state holds the candidate's audio up to this seq: the chunks
    /// heard after it (up to the snapshot) are given to the restored engine
    /// again ([`EngineSession::hear_again`]). None: it holds all it heard.
    pub holds_audio_through: Option<u64>,
    /// Restored from this state, the engine says again, frame for frame
    /// and at the same times, the audio it sent after the snapshot (a turn
    /// under way goes on from the saved frame). Otherwise whatever it says
    /// next is new.
    pub says_again: bool,
}

/// A session's conversation clock: real time minus the time the client was
/// disconnected, so an engine never "hears" a network cut as silence.
#[derive(Debug, Clone)]
pub struct SessionClock {
    inner: Arc<Mutex<ClockState>>,
}

#[derive(Debug)]
struct ClockState {
    origin: Instant,
    paused_total: Duration,
    paused_at: Option<Instant>,
    /// How far the clock was moved forward to keep up with the candidate's
    /// audio (a backlog replayed after a cut is time that passed).
    advanced: Duration,
}

impl ClockState {
    fn running_since(&self) -> Instant {
        self.origin + self.paused_total
    }
}

impl SessionClock {
    /// A clock that reads `ms` and stands still until [`resume`](Self::resume)d:
    /// a session continued from where another process left it.
    pub fn paused_at(ms: u64) -> Self {
        let clock = Self::start();
        clock.advance_to(ms);
        clock.pause();
        clock
    }

    pub fn start() -> Self {
        Self {
            inner: Arc::new(Mutex::new(ClockState {
                origin: Instant::now(),
                paused_total: Duration::ZERO,
                paused_at: None,
                advanced: Duration::ZERO,
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ClockState> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Milliseconds of conversation so far.
    pub fn now_ms(&self) -> u64 {
        let s = self.lock();
        let now = s.paused_at.unwrap_or_else(Instant::now);
        (now.saturating_duration_since(s.running_since()) + s.advanced).as_millis() as u64
    }

    /// Moves the clock forward to `ms` if it reads less: the candidate's
    /// audio says that much conversation has happened.
    pub fn advance_to(&self, ms: u64) {
        let mut s = self.lock();
        let now = s.paused_at.unwrap_or_else(Instant::now);
        let reads = now.saturating_duration_since(s.running_since()) + s.advanced;
        let target = Duration::from_millis(ms);
        if target > reads {
            s.advanced += target - reads;
        }
    }

    /// The real instant at which the clock reads `ms` (if it keeps running).
    pub fn instant_at(&self, ms: u64) -> Instant {
        let s = self.lock();
        let shift = s
            .paused_at
            .map(|p| Instant::now().saturating_duration_since(p))
            .unwrap_or_default();
        let at = s.running_since() + shift + Duration::from_millis(ms);
        at.checked_sub(s.advanced).unwrap_or_else(Instant::now)
    }

    pub fn pause(&self) {
        let mut s = self.lock();
        if s.paused_at.is_none() {
            s.paused_at = Some(Instant::now());
        }
    }

    pub fn resume(&self) {
        let mut s = self.lock();
        if let Some(p) = s.paused_at.take() {
            s.paused_total += Instant::now().saturating_duration_since(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn clock_stops_while_paused() {
        let clock = SessionClock::start();
        tokio::time::advance(Duration::from_millis(500)).await;
        assert_eq!(clock.now_ms(), 500);
        clock.pause();
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(clock.now_ms(), 500);
        clock.resume();
        tokio::time::advance(Duration::from_millis(100)).await;
        assert_eq!(clock.now_ms(), 600);
        assert_eq!(clock.instant_at(600), Instant::now());
    }

    #[tokio::test(start_paused = true)]
    async fn clock_moves_forward_to_the_audio_but_never_back() {
        let clock = SessionClock::start();
        tokio::time::advance(Duration::from_millis(200)).await;
        clock.advance_to(3_200);
        assert_eq!(clock.now_ms(), 3_200);
        assert_eq!(clock.instant_at(3_200), Instant::now());
        clock.advance_to(1_000);
        assert_eq!(clock.now_ms(), 3_200, "never backwards");
        tokio::time::advance(Duration::from_millis(100)).await;
        assert_eq!(clock.now_ms(), 3_300);
        assert_eq!(
            clock.instant_at(3_400),
            Instant::now() + Duration::from_millis(100)
        );
    }
}
