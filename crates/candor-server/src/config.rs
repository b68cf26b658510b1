//! Everything a deployment can tune. `Config::new(addr, data_dir)` gives the
//! production defaults (SQLite in `data_dir`; `database` selects
//! PostgreSQL); tests shrink the timings. [`GeminiConfig::from_env`]
//! reads the Gemini settings (`GEMINI_API_KEY`, `CANDOR_GEMINI_*`).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use candor_protocol::DEFAULT_MAX_FRAME_BYTES;

/// Server configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to bind; port 0 lets the OS choose (see `RunningServer::addr`).
    pub addr: SocketAddr,
    /// Directory holding the SQLite database (`candor.db`); unused with
    /// `database`.
    pub data_dir: PathBuf,
    /// A PostgreSQL database to keep everything in instead of SQLite
    /// (`--database`, `CANDOR_DATABASE_URL`). None: SQLite in `data_dir`.
    pub database: Option<DatabaseUrl>,
    /// Serve `POST /v1/auth/local` (password-less local profiles). Only the
    /// embedded offline mode turns this on: on a hosted server it would let
    /// anyone in. The server refuses to start with it on a non-loopback
    /// address, and then refuses requests whose `Host` is not a loopback
    /// name or that carry a browser's `Origin` (see [`crate::local_lock`]).
    pub allow_local_profiles: bool,
    /// The embedded backend's per-launch secret: when set, every request
    /// (the session socket and local sign-in included) must carry it in the
    /// [`LAUNCH_SECRET_HEADER`] header, and its `Host` must be the bound
    /// loopback address and port. [`Config::embedded`] sets a fresh one.
    pub launch_secret: Option<LaunchSecret>,
    /// How long a bearer token stays valid.
    pub token_ttl: Duration,
    pub limits: Limits,
    /// Sign-in and registration throttling.
    pub auth_limits: AuthLimits,
    /// Behind a reverse proxy (TLS termination): take the client's address
    /// from the last `X-Forwarded-For` entry, which the proxy appends. Only
    /// set this when every connection comes through that proxy, or clients
    /// could claim any address.
    pub trust_forwarded_for: bool,
    pub practice: PracticeConfig,
    /// The Gemini Live interviewer and AI feedback; used when it has an API key.
    pub gemini: GeminiConfig,
    /// How often candidate audio is committed to disk (and then acknowledged).
    /// One commit serves every live session, so this bounds both the ack
    /// latency and the number of transactions per second.
    pub commit_interval: Duration,
    /// The SQLite store's page cache, per connection, in KiB
    /// ([`crate::SqliteStore::open_with_cache`]; unused with `database`).
    pub sqlite_cache_kib: u32,
}

impl Config {
    pub fn new(addr: SocketAddr, data_dir: impl Into<PathBuf>) -> Self {
        Self {
            addr,
            data_dir: data_dir.into(),
            database: None,
            allow_local_profiles: false,
            launch_secret: None,
            token_ttl: Duration::from_secs(30 * 24 * 3600),
            limits: Limits::default(),
            auth_limits: AuthLimits::default(),
            trust_forwarded_for: false,
            practice: PracticeConfig::default(),
            gemini: GeminiConfig::default(),
            commit_interval: Duration::from_millis(100),
            sqlite_cache_kib: crate::SqliteStore::SERVER_CACHE_KIB,
        }
    }
}

impl Config {
    /// The embedded backend of one app launch: loopback, any free port,
    /// local profiles, a fresh [`LaunchSecret`] that only the process
    /// starting it knows, and SQLite's own default page cache (2 MiB a
    /// connection): it records one interview at a time, and a server's
    /// cache would keep a long interview's audio in the app's memory.
    pub fn embedded(data_dir: impl Into<PathBuf>) -> Self {
        let mut c = Self::new(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), data_dir);
        c.allow_local_profiles = true;
        c.launch_secret = Some(LaunchSecret::generate());
        c.sqlite_cache_kib = 2 * 1024;
        c
    }
}

impl Config {
    /// Limits a hosted deployment overrides through the environment (the
    /// `candor-server` binary and `candor serve` read them):
    ///
    /// | variable | sets |
    /// |---|---|
    /// | `CANDOR_TRUST_FORWARDED_FOR` | `1`: client addresses from `X-Forwarded-For` (behind a proxy) |
    /// | `CANDOR_MAX_CONNECTIONS`, `CANDOR_MAX_CONNECTIONS_PER_IP` | open connections |
    /// | `CANDOR_MAX_SESSIONS`, `CANDOR_MAX_SESSIONS_PER_IP`, `CANDOR_MAX_SESSIONS_PER_USER` | live sessions |
    /// | `CANDOR_MAX_SESSION_MINUTES` | an interview's wall-clock limit |
    /// | `CANDOR_MAX_INTERVIEWS_PER_USER` | interviews a user may create |
    /// | `CANDOR_MAX_AUDIO_MIB_PER_USER`, `CANDOR_MAX_AUDIO_MIB_PER_SESSION` | stored candidate audio |
    /// | `CANDOR_SIGN_IN_BURST_PER_IP`, `CANDOR_SIGN_IN_BURST_PER_ACCOUNT` | sign-in attempts before throttling |
    /// | `CANDOR_DRAIN_SECONDS` | how long a stopping server drains its sessions ([`Limits::drain_deadline`]) |
    /// | `CANDOR_SESSION_LEASE_MS` | how long a crashed instance's sessions stay out of reach ([`Limits::session_lease`], at least 300) |
    pub fn limits_from_vars(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), String> {
        fn num<T: std::str::FromStr>(
            var: &impl Fn(&str) -> Option<String>,
            name: &str,
        ) -> Result<Option<T>, String> {
            match var(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
            {
                None => Ok(None),
                Some(v) => v
                    .parse()
                    .map(Some)
                    .map_err(|_| format!("{name}={v:?} is not a number")),
            }
        }
        const MIB: u64 = 1024 * 1024;
        let l = &mut self.limits;
        if let Some(v) = var("CANDOR_TRUST_FORWARDED_FOR") {
            self.trust_forwarded_for = matches!(v.trim(), "1" | "true" | "yes");
        }
        if let Some(n) = num(&var, "CANDOR_MAX_CONNECTIONS")? {
            l.max_connections = n;
        }
        if let Some(n) = num(&var, "CANDOR_MAX_CONNECTIONS_PER_IP")? {
            l.max_connections_per_ip = n;
        }
        if let Some(n) = num(&var, "CANDOR_MAX_SESSIONS")? {
            l.max_sessions = n;
        }
        if let Some(n) = num(&var, "CANDOR_MAX_SESSIONS_PER_IP")? {
            l.max_sessions_per_ip = n;
        }
        if let Some(n) = num(&var, "CANDOR_MAX_SESSIONS_PER_USER")? {
            l.max_sessions_per_user = n;
        }
        if let Some(n) = num::<u64>(&var, "CANDOR_MAX_SESSION_MINUTES")? {
            l.max_session = Duration::from_secs(n * 60);
        }
        if let Some(n) = num(&var, "CANDOR_MAX_INTERVIEWS_PER_USER")? {
            l.max_interviews_per_user = n;
        }
        if let Some(n) = num::<u64>(&var, "CANDOR_MAX_AUDIO_MIB_PER_USER")? {
            l.max_audio_bytes_per_user = n * MIB;
        }
        if let Some(n) = num::<u64>(&var, "CANDOR_MAX_AUDIO_MIB_PER_SESSION")? {
            l.max_session_audio_bytes = n * MIB;
        }
        if let Some(n) = num::<u64>(&var, "CANDOR_DRAIN_SECONDS")? {
            l.drain_deadline = Duration::from_secs(n);
        }
        if let Some(n) = num::<u64>(&var, "CANDOR_SESSION_LEASE_MS")? {
            // Renewed every third of it: much shorter and an instance's
            // ordinary pauses would make it let its sessions go.
            if n < 300 {
                return Err(format!(
                    "CANDOR_SESSION_LEASE_MS={n} is too short (at least 300)"
                ));
            }
            l.session_lease = Duration::from_millis(n);
        }
        if let Some(n) = num(&var, "CANDOR_SIGN_IN_BURST_PER_IP")? {
            self.auth_limits.ip_burst = n;
        }
        if let Some(n) = num(&var, "CANDOR_SIGN_IN_BURST_PER_ACCOUNT")? {
            self.auth_limits.account_burst = n;
        }
        Ok(())
    }
}

/// A PostgreSQL connection URL (`postgres://user:password@host:port/db`,
/// `postgresql://…`). Its `Debug` output is redacted: it may hold a password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// The environment variable a hosted server reads it from.
    pub const VAR: &'static str = "CANDOR_DATABASE_URL";

    /// Accepts a `postgres://` or `postgresql://` URL (blank: none).
    pub fn parse(url: &str) -> Result<Option<Self>, String> {
        let url = url.trim();
        if url.is_empty() {
            return Ok(None);
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Some(Self(url.to_owned())))
        } else {
            Err("the database must be a postgres:// or postgresql:// URL (without one the server keeps SQLite in its data directory)".into())
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DatabaseUrl(<redacted>)")
    }
}

/// The header an embedded backend's client sends its [`LaunchSecret`] in.
pub const LAUNCH_SECRET_HEADER: &str = "x-candor-launch-secret";

/// A random secret for one launch of an embedded backend (256 bits). Its
/// `Debug` output is redacted; it travels only in [`LAUNCH_SECRET_HEADER`].
#[derive(Clone, PartialEq, Eq)]
pub struct LaunchSecret(String);

impl LaunchSecret {
    pub fn generate() -> Self {
        Self(crate::auth::new_token())
    }

    /// The secret a previous server on the same port published
    /// ([`crate::local_lock::read_published`]).
    pub(crate) fn from_published(secret: String) -> Self {
        Self(secret)
    }

    /// The header value a client sends.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `presented` is this secret (constant time in its content).
    pub fn matches(&self, presented: &[u8]) -> bool {
        let mine = self.0.as_bytes();
        mine.len() == presented.len()
            && mine
                .iter()
                .zip(presented)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

impl std::fmt::Debug for LaunchSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LaunchSecret(<redacted>)")
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
    /// How far the candidate's audio may run ahead of the wall clock since
    /// the session started: audio captured just before the `StartRequest`
    /// and capture-clock drift (0.1 % is 3.6 s an hour). Audio sent faster
    /// than real time is cut off once this lead is used up.
    pub media_lead: Duration,
    /// Candidate audio bytes one session may send (a PCM16 hour is 110 MiB,
    /// an Opus hour a tenth of that).
    pub max_session_audio_bytes: u64,
    /// Candidate audio one user may have stored over all their sessions; a
    /// session that would pass it is refused (or cut) with
    /// `RESOURCE_EXHAUSTED`.
    pub max_audio_bytes_per_user: u64,
    /// Interviews one user may create.
    pub max_interviews_per_user: u64,
    /// Live (or resumable) sessions from one client address.
    pub max_sessions_per_ip: usize,
    /// Open connections (HTTP and WebSocket) in total, and from one client
    /// address (not applied with `Config::trust_forwarded_for`: behind a
    /// proxy every connection comes from the proxy).
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
    /// A request's headers must arrive within this (idle keep-alive
    /// connections are closed after it too).
    pub header_read_timeout: Duration,
    /// A request's body must arrive within this.
    pub body_read_timeout: Duration,
    /// On SIGTERM or SIGINT, how long the server drains — live sessions
    /// are told `GoAway` and move elsewhere — before it stops (see
    /// `crate::drain`). Keep it below the supervisor's kill timeout
    /// (Kubernetes' `terminationGracePeriodSeconds`, 30 s by default;
    /// systemd's `TimeoutStopSec`, 90 s).
    pub drain_deadline: Duration,
    /// How long a session stays this instance's after its last lease
    /// renewal (see `crate::ownership`): after a crash, how long until
    /// another instance may take its sessions over. Renewed every third of
    /// it.
    pub session_lease: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            start_deadline: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(15),
            resume_grace: Duration::from_secs(60),
            max_session: Duration::from_secs(60 * 60),
            max_sessions_per_user: 2,
            max_sessions: 2000,
            replay_chunks: 3000,
            media_lead: Duration::from_secs(10),
            max_session_audio_bytes: 128 * 1024 * 1024,
            max_audio_bytes_per_user: 2 * 1024 * 1024 * 1024,
            max_interviews_per_user: 1000,
            max_sessions_per_ip: 8,
            max_connections: 10_000,
            max_connections_per_ip: 64,
            header_read_timeout: Duration::from_secs(5),
            body_read_timeout: Duration::from_secs(10),
            drain_deadline: Duration::from_secs(25),
            session_lease: Duration::from_secs(2),
        }
    }
}

/// Throttling of sign-in and registration, the requests that cost a
/// password hash. Over a limit the answer is 429 with `Retry-After`.
#[derive(Debug, Clone)]
pub struct AuthLimits {
    /// Attempts one client address may make at once, then one per
    /// `ip_interval`.
    pub ip_burst: u32,
    pub ip_interval: Duration,
    /// Sign-in attempts for one account at once, then one per
    /// `account_interval`, whoever makes them.
    pub account_burst: u32,
    pub account_interval: Duration,
    /// Wrong passwords in a row after which an account locks: 1 s after the
    /// next one, doubling with each further one up to `lockout_max`. A
    /// right password clears the count.
    pub lockout_after: u32,
    pub lockout_max: Duration,
    /// Password hashes computed at once (each is ~19 MiB of memory and a
    /// core for tens of ms); default half the cores, at least one.
    pub hash_concurrency: usize,
    /// Requests waiting for a hash slot; more are answered 429 at once.
    pub hash_queue: usize,
}

impl Default for AuthLimits {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            ip_burst: 20,
            ip_interval: Duration::from_secs(3),
            account_burst: 10,
            account_interval: Duration::from_secs(30),
            lockout_after: 5,
            lockout_max: Duration::from_secs(15 * 60),
            hash_concurrency: (cores / 2).max(1),
            hash_queue: 64,
        }
    }
}

/// Timings and voice settings of the offline practice interviewer.
#[derive(Debug, Clone)]
pub struct PracticeConfig {
    /// Serve sessions with the offline interviewer. When false the server
    /// answers `ENGINE_UNAVAILABLE` (no other engine is built in yet).
    pub enabled: bool,
    /// Silence after the last voiced chunk that ends an answer.
    pub answer_silence: Duration,
    /// Silence that ends an answer whose recognised words read as a finished
    /// thought (`content::sounds_finished`); shorter than `answer_silence`,
    /// which still guards a thinking pause in the middle of a sentence.
    pub finished_silence: Duration,
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
    /// The interviewer's speaking rate (`candor_voice::WORDS_PER_MINUTE_RANGE`).
    pub words_per_minute: u32,
    /// Interviewer audio sample rate (Opus supports 8, 12, 16, 24, 48 kHz).
    pub output_rate_hz: u32,
    /// A Whisper model directory (CTranslate2 format, see `candor-speech`)
    /// for recognising the candidate's words; without one the transcript
    /// holds answer lengths only.
    pub speech_model: Option<PathBuf>,
}

impl Default for PracticeConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            answer_silence: Duration::from_millis(1700),
            finished_silence: Duration::from_millis(600),
            think_time: Duration::from_millis(250),
            short_answer: Duration::from_secs(6),
            barge_in: Duration::from_millis(300),
            no_answer_timeout: Duration::from_secs(20),
            vad_threshold_dbfs: -42.0,
            words_per_minute: 165,
            output_rate_hz: 24_000,
            speech_model: None,
        }
    }
}

/// A Gemini API key. Its `Debug` output is redacted; it only ever appears in
/// the request URL, which is never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// None for an empty (or all-blank) key.
    pub fn new(key: impl Into<String>) -> Option<Self> {
        let key = key.into().trim().to_owned();
        (!key.is_empty()).then_some(Self(key))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// The Gemini Live interviewer and the AI feedback request.
#[derive(Debug, Clone)]
pub struct GeminiConfig {
    /// With a key the server interviews through the Gemini Live API and asks
    /// Gemini for feedback; without one it runs the offline interviewer.
    pub api_key: Option<ApiKey>,
    /// Live model (`CANDOR_GEMINI_MODEL`), without the `models/` prefix.
    pub model: String,
    /// Prebuilt voice of the interviewer (`CANDOR_GEMINI_VOICE`).
    pub voice: String,
    /// Model of the feedback request (`CANDOR_GEMINI_FEEDBACK_MODEL`).
    pub feedback_model: String,
    /// API origin (`CANDOR_GEMINI_BASE_URL`), `https://` or `http://`; the
    /// Live WebSocket uses the matching `wss://` / `ws://` scheme.
    pub base_url: String,
    /// Opening the WebSocket, and the `setupComplete` answer to `setup`.
    pub connect_timeout: Duration,
    /// A WebSocket ping is sent after this long without any upstream message.
    pub keepalive_interval: Duration,
    /// The connection counts as dead only when nothing at all (pong or data)
    /// arrived for this long; the API answers pings slowly under load.
    pub keepalive_timeout: Duration,
    /// Reconnect attempts (with resumption) after a dropped connection before
    /// the interview ends with `ENGINE_FAILURE`.
    pub reconnect_attempts: u32,
    /// First reconnect delay; doubles per attempt.
    pub reconnect_backoff: Duration,
    /// Whole feedback request, including the model's thinking.
    pub feedback_timeout: Duration,
}

impl Default for GeminiConfig {
    fn default() -> Self {
        Self {
            api_key: None,
            model: crate::engine::gemini::DEFAULT_LIVE_MODEL.into(),
            voice: "Charon".into(),
            feedback_model: crate::engine::gemini::DEFAULT_FEEDBACK_MODEL.into(),
            base_url: "https://generativelanguage.googleapis.com".into(),
            connect_timeout: Duration::from_secs(10),
            keepalive_interval: Duration::from_secs(15),
            keepalive_timeout: Duration::from_secs(60),
            reconnect_attempts: 5,
            reconnect_backoff: Duration::from_millis(250),
            feedback_timeout: Duration::from_secs(90),
        }
    }
}

impl GeminiConfig {
    /// The defaults overridden by `GEMINI_API_KEY`, `CANDOR_GEMINI_MODEL`,
    /// `CANDOR_GEMINI_VOICE`, `CANDOR_GEMINI_FEEDBACK_MODEL` and
    /// `CANDOR_GEMINI_BASE_URL` (empty variables are ignored).
    pub fn from_env() -> Self {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// As [`from_env`](Self::from_env), reading variables through `var`.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        let mut c = Self::default();
        let get = |name: &str| {
            var(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        c.api_key = get("GEMINI_API_KEY").and_then(ApiKey::new);
        if let Some(v) = get("CANDOR_GEMINI_MODEL") {
            c.model = v.trim_start_matches("models/").to_owned();
        }
        if let Some(v) = get("CANDOR_GEMINI_VOICE") {
            c.voice = v;
        }
        if let Some(v) = get("CANDOR_GEMINI_FEEDBACK_MODEL") {
            c.feedback_model = v.trim_start_matches("models/").to_owned();
        }
        if let Some(v) = get("CANDOR_GEMINI_BASE_URL") {
            c.base_url = v.trim_end_matches('/').to_owned();
        }
        c
    }

    pub fn enabled(&self) -> bool {
        self.api_key.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_from_variables() {
        let mut c = Config::new("127.0.0.1:0".parse().unwrap(), "/tmp/x");
        c.limits_from_vars(|n| match n {
            "CANDOR_TRUST_FORWARDED_FOR" => Some("1".into()),
            "CANDOR_MAX_SESSIONS_PER_IP" => Some(" 3 ".into()),
            "CANDOR_MAX_AUDIO_MIB_PER_USER" => Some("10".into()),
            "CANDOR_MAX_SESSION_MINUTES" => Some("30".into()),
            "CANDOR_SESSION_LEASE_MS" => Some("2000".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.limits.session_lease, Duration::from_secs(2));
        assert!(c.trust_forwarded_for);
        assert_eq!(c.limits.max_sessions_per_ip, 3);
        assert_eq!(c.limits.max_audio_bytes_per_user, 10 * 1024 * 1024);
        assert_eq!(c.limits.max_session, Duration::from_secs(1800));
        let err = c
            .limits_from_vars(|n| (n == "CANDOR_MAX_CONNECTIONS").then(|| "many".into()))
            .unwrap_err();
        assert!(err.contains("CANDOR_MAX_CONNECTIONS"), "{err}");
        let err = c
            .limits_from_vars(|n| (n == "CANDOR_SESSION_LEASE_MS").then(|| "100".into()))
            .unwrap_err();
        assert!(err.contains("at least 300"), "{err}");
        assert_eq!(c.limits.session_lease, Duration::from_secs(2), "unchanged");
    }

    #[test]
    fn database_urls_are_postgres_and_redacted() {
        let url = DatabaseUrl::parse(" postgres://candor:hunter2@127.0.0.1:5432/candor ")
            .unwrap()
            .unwrap();
        assert_eq!(
            url.expose(),
            "postgres://candor:hunter2@127.0.0.1:5432/candor"
        );
        assert!(!format!("{url:?}").contains("hunter2"));
        assert!(
            DatabaseUrl::parse("postgresql://db.internal/candor")
                .unwrap()
                .is_some()
        );
        assert_eq!(DatabaseUrl::parse("  ").unwrap(), None);
        let err = DatabaseUrl::parse("/var/lib/candor/candor.db").unwrap_err();
        assert!(err.contains("postgres://"), "{err}");
    }

    #[test]
    fn gemini_settings_from_variables() {
        let c = GeminiConfig::from_vars(|n| match n {
            "GEMINI_API_KEY" => Some(" secret-key ".into()),
            "CANDOR_GEMINI_MODEL" => Some("models/some-live-model".into()),
            "CANDOR_GEMINI_BASE_URL" => Some("http://127.0.0.1:9/".into()),
            "CANDOR_GEMINI_VOICE" => Some(String::new()),
            _ => None,
        });
        assert_eq!(c.api_key.as_ref().map(ApiKey::expose), Some("secret-key"));
        assert_eq!(c.model, "some-live-model");
        assert_eq!(c.base_url, "http://127.0.0.1:9");
        assert_eq!(c.voice, GeminiConfig::default().voice);
        assert!(
            !format!("{c:?}").contains("secret-key"),
            "the key is redacted"
        );
        assert!(!GeminiConfig::from_vars(|_| Some("  ".into())).enabled());
    }
}
