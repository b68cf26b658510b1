//! Everything a deployment can tune. `Config::new(addr, data_dir)` gives the
//! production defaults; tests shrink the timings.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use candor_protocol::DEFAULT_MAX_FRAME_BYTES;

/// Server configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to bind; port 0 lets the OS choose (see `RunningServer::addr`).
    pub addr: SocketAddr,
    /// Directory holding the SQLite database (`candor.db`).
    pub data_dir: PathBuf,
    /// Serve `POST /v1/auth/local` (password-less local profiles). Only the
    /// embedded offline mode turns this on: on a hosted server it would let
    /// anyone in.
    pub allow_local_profiles: bool,
    /// How long a bearer token stays valid.
    pub token_ttl: Duration,
    pub limits: Limits,
    pub practice: PracticeConfig,
    /// How often candidate audio is committed to disk (and then acknowledged).
    /// One commit serves every live session, so this bounds both the ack
    /// latency and the number of transactions per second.
    pub commit_interval: Duration,
}

impl Config {
    pub fn new(addr: SocketAddr, data_dir: impl Into<PathBuf>) -> Self {
        Self {
            addr,
            data_dir: data_dir.into(),
            allow_local_profiles: false,
            token_ttl: Duration::from_secs(30 * 24 * 3600),
            limits: Limits::default(),
            practice: PracticeConfig::default(),
            commit_interval: Duration::from_millis(100),
        }
    }
}

/// Limits enforced on session sockets (announced to clients in `ServerLimits`).
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_frame_bytes: usize,
    /// First message (`StartRequest`) must arrive within this.
    pub start_deadline: Duration,
    /// A socket that sends nothing for this long is dropped (the session stays
    /// resumable for `resume_grace`).
    pub idle_timeout: Duration,
    /// How long a session whose socket dropped can be resumed.
    pub resume_grace: Duration,
    /// Longest interview; it then ends with `TIME_LIMIT`.
    pub max_session: Duration,
    /// Live (or resumable) sessions one user may hold at once.
    pub max_sessions_per_user: usize,
    /// Live (or resumable) sessions the whole server holds at once.
    pub max_sessions: usize,
    /// Interviewer audio chunks kept for replay after a resume. At 20 ms per
    /// chunk, 3000 is one minute; chunks the client acknowledged are dropped
    /// earlier.
    pub replay_chunks: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            start_deadline: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(15),
            resume_grace: Duration::from_secs(60),
            max_session: Duration::from_secs(60 * 60),
            max_sessions_per_user: 2,
            max_sessions: 2000,
            replay_chunks: 3000,
        }
    }
}

/// Timings and voice settings of the offline practice interviewer.
#[derive(Debug, Clone)]
pub struct PracticeConfig {
    /// Serve sessions with the offline interviewer. When false the server
    /// answers `ENGINE_UNAVAILABLE` (no other engine is built in yet).
    pub enabled: bool,
    /// Silence after speech that ends an answer.
    pub answer_silence: Duration,
    /// Pause between the end of an answer and the interviewer's next turn.
    pub think_time: Duration,
    /// An answer with less speech than this gets a follow-up question.
    pub short_answer: Duration,
    /// Candidate speech needed to count as barging in on the interviewer.
    pub barge_in: Duration,
    /// If the candidate says nothing for this long after a question, move on.
    pub no_answer_timeout: Duration,
    /// Energy threshold of the voice activity detector, dBFS.
    pub vad_threshold_dbfs: f32,
    /// espeak-ng voice and words per minute.
    pub voice: String,
    pub words_per_minute: u32,
    /// The espeak-ng executable.
    pub espeak_path: PathBuf,
    /// Interviewer audio sample rate (Opus supports 8, 12, 16, 24, 48 kHz).
    pub output_rate_hz: u32,
}

impl Default for PracticeConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            answer_silence: Duration::from_millis(1500),
            think_time: Duration::from_millis(700),
            short_answer: Duration::from_secs(6),
            barge_in: Duration::from_millis(300),
            no_answer_timeout: Duration::from_secs(20),
            vad_threshold_dbfs: -42.0,
            voice: "en-us".into(),
            words_per_minute: 165,
            espeak_path: PathBuf::from("espeak-ng"),
            output_rate_hz: 24_000,
        }
    }
}
