//! The server's metrics: counters, gauges and latency histograms of the
//! live-session path and the store, kept in one [`Metrics`] per server.
//!
//! Two readers: operators scrape them in the Prometheus text format
//! (`GET /metrics`, [`Metrics::render`]; the series are registered in a
//! registry of the server's own, so several servers in one process — tests,
//! the app's embedded backend — never mix their counts), and the load
//! benchmarks read the fine-grained in-process [`Histogram`]s for exact
//! quantiles. Everything on the frame path is lock-free.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

/// A latency histogram: 10 µs buckets below 1 ms, 100 µs buckets up to 100 ms.
#[derive(Debug)]
pub struct Histogram {
    buckets: Vec<AtomicU64>,
}

const FINE: u64 = 100; // 0..1 ms in 10 µs steps
const COARSE: u64 = 990; // 1..100 ms in 100 µs steps

impl Default for Histogram {
    fn default() -> Self {
        Self {
            buckets: (0..=(FINE + COARSE)).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl Histogram {
    pub fn record(&self, d: Duration) {
        let us = d.as_micros() as u64;
        let i = if us < 1000 {
            us / 10
        } else {
            (FINE + (us - 1000) / 100).min(FINE + COARSE)
        };
        self.buckets[i as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum()
    }

    /// Upper edge of the bucket holding quantile `q` (0..=1); 100 ms means "≥ 100 ms".
    pub fn quantile(&self, q: f64) -> Duration {
        let total = self.count();
        if total == 0 {
            return Duration::ZERO;
        }
        let target = ((total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, b) in self.buckets.iter().enumerate() {
            seen += b.load(Ordering::Relaxed);
            if seen >= target {
                let i = i as u64;
                let us = if i < FINE {
                    (i + 1) * 10
                } else {
                    1000 + (i - FINE + 1) * 100
                };
                return Duration::from_micros(us);
            }
        }
        Duration::from_millis(100)
    }

    pub fn reset(&self) {
        for b in &self.buckets {
            b.store(0, Ordering::Relaxed);
        }
    }
}

/// Why a session's previous socket went away, as counted when a client
/// resumes it (`candor_resumes_total{cause}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResumeCause {
    /// The client closed its socket (a reconnect it chose, e.g. a network
    /// change).
    ClientClosed,
    /// The connection failed (reset, broken pipe, protocol error).
    ConnectionError,
    /// Nothing arrived within the idle timeout; the server dropped it.
    IdleTimeout,
    /// A send to the client failed or stalled; the server dropped it.
    SendFailed,
    /// A new socket resumed while the old one still looked alive.
    Replaced,
}

impl ResumeCause {
    pub const ALL: [ResumeCause; 5] = [
        ResumeCause::ClientClosed,
        ResumeCause::ConnectionError,
        ResumeCause::IdleTimeout,
        ResumeCause::SendFailed,
        ResumeCause::Replaced,
    ];

    /// The `cause` label.
    pub fn as_str(self) -> &'static str {
        match self {
            ResumeCause::ClientClosed => "client_closed",
            ResumeCause::ConnectionError => "connection_error",
            ResumeCause::IdleTimeout => "idle_timeout",
            ResumeCause::SendFailed => "send_failed",
            ResumeCause::Replaced => "replaced",
        }
    }
}

/// Where an engine failed (`candor_engine_errors_total{stage}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineStage {
    /// The engine could not start a session.
    Start,
    /// A running session ended with an engine failure.
    Session,
}

impl EngineStage {
    fn as_str(self) -> &'static str {
        match self {
            EngineStage::Start => "start",
            EngineStage::Session => "session",
        }
    }
}

/// Histogram buckets (seconds) of frame handling: 25 µs to 100 ms.
const FRAME_BUCKETS: [f64; 12] = [
    0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1,
];
/// Histogram buckets (seconds) of store calls and interviewer send lateness:
/// 100 µs to 1 s.
const SLOW_BUCKETS: [f64; 12] = [
    0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];

/// Server-wide metrics. See the module docs.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Time from a candidate frame arriving to it being decoded, analysed,
    /// handed to the engine and queued for storage (fine, for benchmarks;
    /// exported as `candor_frame_handling_seconds`).
    pub frame_handling: Histogram,
    /// The same for Opus frames only (what the app sends; PCM16 uploads,
    /// e.g. tools and tests, cost no decoding and would hide its cost).
    pub frame_handling_opus: Histogram,
    /// How late interviewer frames reach the socket relative to their
    /// real-time schedule (fine, for benchmarks; exported as
    /// `candor_send_lateness_seconds`).
    pub send_lateness: Histogram,
    /// Candidate frames accepted (`candor_frames_in_total`).
    pub frames_in: IntCounter,
    /// Candidate frames received twice and dropped (a replay after a resume
    /// that overlapped what was stored): `candor_frames_duplicate_total`.
    pub duplicates_dropped: IntCounter,
    /// Interviewer frames sent (`candor_frames_out_total`).
    pub frames_out: IntCounter,
    /// Sessions held by this server, attached or waiting for a resume
    /// (`candor_sessions_live`).
    pub sessions_live: IntGauge,
    pub sessions_started: IntCounter,
    frame_seconds: prometheus::Histogram,
    lateness_seconds: prometheus::Histogram,
    resumes: IntCounterVec,
    handed_over: IntCounter,
    go_aways: IntCounter,
    refused: IntCounterVec,
    engine_errors: IntCounterVec,
    store_seconds: HistogramVec,
    draining: IntGauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn counter(registry: &Registry, name: &str, help: &str) -> IntCounter {
    let c = IntCounter::new(name, help).expect("valid metric");
    registry
        .register(Box::new(c.clone()))
        .expect("unique metric");
    c
}

fn counter_vec(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    registry
        .register(Box::new(c.clone()))
        .expect("unique metric");
    c
}

fn gauge(registry: &Registry, name: &str, help: &str) -> IntGauge {
    let g = IntGauge::new(name, help).expect("valid metric");
    registry
        .register(Box::new(g.clone()))
        .expect("unique metric");
    g
}

fn histogram(
    registry: &Registry,
    name: &str,
    help: &str,
    buckets: &[f64],
) -> prometheus::Histogram {
    let h =
        prometheus::Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets.to_vec()))
            .expect("valid metric");
    registry
        .register(Box::new(h.clone()))
        .expect("unique metric");
    h
}

impl Metrics {
    pub fn new() -> Self {
        let r = Registry::new();
        let resumes = counter_vec(
            &r,
            "candor_resumes_total",
            "Sessions resumed on this server, by why the previous socket went away.",
            &["cause"],
        );
        for cause in ResumeCause::ALL {
            resumes.with_label_values(&[cause.as_str()]);
        }
        let refused = counter_vec(
            &r,
            "candor_sessions_refused_total",
            "Session sockets and StartRequests refused, by reason.",
            &["reason"],
        );
        refused.with_label_values(&["draining"]);
        let engine_errors = counter_vec(
            &r,
            "candor_engine_errors_total",
            "Interviewer engine failures, by engine and stage (start, session).",
            &["engine", "stage"],
        );
        let store_seconds = HistogramVec::new(
            HistogramOpts::new(
                "candor_store_seconds",
                "Time one call to the store takes, by operation.",
            )
            .buckets(SLOW_BUCKETS.to_vec()),
            &["op"],
        )
        .expect("valid metric");
        r.register(Box::new(store_seconds.clone()))
            .expect("unique metric");
        Self {
            frame_handling: Histogram::default(),
            frame_handling_opus: Histogram::default(),
            send_lateness: Histogram::default(),
            frames_in: counter(
                &r,
                "candor_frames_in_total",
                "Candidate audio frames accepted.",
            ),
            duplicates_dropped: counter(
                &r,
                "candor_frames_duplicate_total",
                "Candidate audio frames received again after a resume and dropped.",
            ),
            frames_out: counter(
                &r,
                "candor_frames_out_total",
                "Interviewer audio frames sent.",
            ),
            sessions_live: gauge(
                &r,
                "candor_sessions_live",
                "Sessions this server holds (attached, or waiting for a resume).",
            ),
            sessions_started: counter(
                &r,
                "candor_sessions_started_total",
                "Sessions started on this server.",
            ),
            frame_seconds: histogram(
                &r,
                "candor_frame_handling_seconds",
                "Time from a candidate frame arriving to it being decoded, analysed, given to the engine and queued for storage.",
                &FRAME_BUCKETS,
            ),
            lateness_seconds: histogram(
                &r,
                "candor_send_lateness_seconds",
                "How late interviewer frames reach the socket against their real-time schedule.",
                &SLOW_BUCKETS,
            ),
            resumes,
            handed_over: counter(
                &r,
                "candor_sessions_handed_over_total",
                "Sessions this server let go while draining, for another server to resume (their results are not computed here).",
            ),
            go_aways: counter(
                &r,
                "candor_go_away_sent_total",
                "GoAway messages sent to clients while draining.",
            ),
            refused,
            engine_errors,
            store_seconds,
            draining: gauge(
                &r,
                "candor_draining",
                "1 while the server drains (refuses new sessions), else 0.",
            ),
            registry: r,
        }
    }

    /// One candidate frame of `codec` handled in `elapsed`.
    pub fn record_frame(&self, codec: candor_audio::Codec, elapsed: Duration) {
        self.frame_handling.record(elapsed);
        if codec == candor_audio::Codec::Opus {
            self.frame_handling_opus.record(elapsed);
        }
        self.frame_seconds.observe(elapsed.as_secs_f64());
    }

    /// One interviewer frame reached the socket `late` after its schedule.
    pub fn record_send(&self, late: Duration) {
        self.send_lateness.record(late);
        self.lateness_seconds.observe(late.as_secs_f64());
        self.frames_out.inc();
    }

    pub fn record_resume(&self, cause: ResumeCause) {
        self.resumes.with_label_values(&[cause.as_str()]).inc();
    }

    /// Resumes counted for `cause` so far.
    pub fn resumes(&self, cause: ResumeCause) -> u64 {
        self.resumes.with_label_values(&[cause.as_str()]).get()
    }

    pub fn record_handover(&self) {
        self.handed_over.inc();
    }

    /// Sessions handed over so far.
    pub fn handed_over(&self) -> u64 {
        self.handed_over.get()
    }

    pub fn record_go_away(&self) {
        self.go_aways.inc();
    }

    /// A session socket or `StartRequest` refused for `reason`.
    pub fn record_refusal(&self, reason: &'static str) {
        self.refused.with_label_values(&[reason]).inc();
    }

    /// Makes the engine's error series visible (at zero) before any error.
    pub fn engine_in_use(&self, engine: &str) {
        for stage in [EngineStage::Start, EngineStage::Session] {
            self.engine_errors
                .with_label_values(&[engine, stage.as_str()]);
        }
    }

    pub fn record_engine_error(&self, engine: &str, stage: EngineStage) {
        self.engine_errors
            .with_label_values(&[engine, stage.as_str()])
            .inc();
    }

    /// One store call `op` took `elapsed`.
    pub fn record_store(&self, op: &'static str, elapsed: Duration) {
        self.store_seconds
            .with_label_values(&[op])
            .observe(elapsed.as_secs_f64());
    }

    pub fn set_draining(&self, draining: bool) {
        self.draining.set(i64::from(draining));
    }

    /// Every series in the Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::error!(error = %e, "cannot encode the metrics");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

/// The content type of [`Metrics::render`].
pub const TEXT_FORMAT: &str = prometheus::TEXT_FORMAT;
