//! Load benchmark: N simulated candidates against one server — or several
//! instances on one PostgreSQL — all in this process on 127.0.0.1, each
//! streaming 20 ms Opus frames at real-time pace (speech when the
//! interviewer listens, silence otherwise) and playing the interviewer's
//! audio.
//!
//! ```text
//! cargo bench -p candor-server --bench load -- --sessions 500 --seconds 20 [--warmup 15] [--ramp-ms 3000]
//! scripts/with-postgres cargo bench -p candor-server --bench load -- --sessions 150 --instances 2
//! ```
//!
//! Reports sessions held, process CPU and RSS (clients included: they run in
//! the same process), server-side frame handling latency, how late
//! interviewer frames leave the server and reach the clients, and lost frames
//! both ways.
//!
//! The store is SQLite in a temporary directory, or PostgreSQL with
//! `--database postgres://…` (default: `CANDOR_TEST_POSTGRES_URL` when set,
//! as under `scripts/with-postgres`; `--database sqlite` forces SQLite): a
//! fresh schema per run, dropped after it. `--instances K` starts K servers
//! in this process on that one database, each on its own port and runtime
//! (as K processes would be), and deals the clients out round-robin (no load
//! balancer). With K > 1 the same load is first run against one instance —
//! the baseline, in its own fresh schema — and a table prints each figure
//! for both and the ratio K/1, including the CPU of the local `postgres`
//! processes (`--no-compare` skips the baseline; `--compare` alone means
//! `--instances 2`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use candor_protocol::{
    AudioAck, AudioChunk, AudioConfig, ClientToServerMessage, Codec, EndRequest,
    InterviewerActivity, ServerPayload, StartRequest,
};
use candor_server::config::DatabaseUrl;
use candor_server::metrics::Histogram;
use candor_server::{Config, RunningServer, Server};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// The variable `scripts/with-postgres` sets to its throw-away cluster.
const POSTGRES_VAR: &str = "CANDOR_TEST_POSTGRES_URL";

struct Args {
    sessions: usize,
    seconds: u64,
    ramp_ms: u64,
    /// Seconds after the ramp before measuring: the interviewer's phrases are
    /// synthesized once (espeak-ng + Opus) the first time any session needs
    /// them; steady state is after that.
    warmup_s: u64,
    /// PostgreSQL (an admin URL: each run makes a fresh schema in it); None:
    /// SQLite in a temporary directory.
    database: Option<DatabaseUrl>,
    /// Server instances on the one store, clients dealt out round-robin.
    instances: usize,
    /// Run with one instance first (the baseline) and compare.
    compare: bool,
}

fn args() -> Args {
    let mut a = Args {
        sessions: 500,
        seconds: 20,
        ramp_ms: 3000,
        warmup_s: 15,
        database: None,
        instances: 1,
        compare: false,
    };
    let mut database = std::env::var(POSTGRES_VAR).ok();
    let (mut compare, mut no_compare) = (false, false);
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut num = |name: &str| -> u64 {
            it.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name} needs a number"))
        };
        match arg.as_str() {
            "--sessions" | "-n" => a.sessions = num("--sessions") as usize,
            "--seconds" | "-d" => a.seconds = num("--seconds"),
            "--ramp-ms" => a.ramp_ms = num("--ramp-ms"),
            "--warmup" => a.warmup_s = num("--warmup"),
            "--instances" => a.instances = (num("--instances") as usize).max(1),
            "--compare" => compare = true,
            "--no-compare" => no_compare = true,
            "--database" => {
                database = Some(
                    it.next()
                        .expect("--database needs a postgres:// URL (or `sqlite`)"),
                )
            }
            _ => {} // cargo bench passes --bench
        }
    }
    a.database = match database.as_deref().map(str::trim) {
        None | Some("sqlite") => None,
        Some(url) => DatabaseUrl::parse(url).unwrap_or_else(|e| panic!("--database: {e}")),
    };
    if compare && a.instances == 1 {
        a.instances = 2;
    }
    a.compare = a.instances > 1 && (compare || !no_compare);
    assert!(
        a.instances == 1 || a.database.is_some(),
        "several instances share one PostgreSQL: pass --database postgres://… or run under scripts/with-postgres ({POSTGRES_VAR})"
    );
    a
}

/// utime + stime of this process, in seconds.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields after the command: state is [0], utime [11], stime [12].
    (ticks(11) + ticks(12)) / 100.0
}

/// CPU seconds of every process on this machine whose command is
/// `postgres` (the postmaster, its backends and background workers): their
/// utime and stime, and their cutime and cstime, where backends that closed
/// meanwhile are counted once their parent has reaped them. None: no such
/// process here (a remote database).
fn postgres_cpu_seconds() -> Option<f64> {
    let mut found = false;
    let mut ticks = 0.0;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let name = entry.file_name();
        if !name
            .to_str()
            .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue; // it ended
        };
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        if head.split_once('(').map(|(_, comm)| comm) != Some("postgres") {
            continue;
        }
        found = true;
        let f: Vec<&str> = rest.split_whitespace().collect();
        // utime [11], stime [12], cutime [13], cstime [14].
        ticks += (11..=14)
            .filter_map(|i| f.get(i)?.parse::<f64>().ok())
            .sum::<f64>();
    }
    found.then_some(ticks / 100.0)
}

/// Busy and total jiffies of the whole machine (from /proc/stat).
fn machine_jiffies() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let f: Vec<f64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: f64 = f.iter().sum();
    let idle = f.get(3).copied().unwrap_or(0.0) + f.get(4).copied().unwrap_or(0.0);
    (total - idle, total)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn status_kib(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// A [`Histogram`]'s contents as (bucket upper edge, count), ascending, so
/// that several instances' histograms can be merged. Read through its
/// quantiles: with n samples, `quantile((r - 0.5) / n)` is the upper edge
/// of the bucket holding the sample of rank r, so each bucket's last rank
/// is found by a binary search. (Frames recorded meanwhile shift it by a
/// few samples.)
#[derive(Default)]
struct Dist(Vec<(Duration, u64)>);

impl Dist {
    fn of(h: &Histogram) -> Self {
        let n = h.count();
        let edge = |r: u64| h.quantile((r as f64 - 0.5) / n as f64);
        let mut buckets = Vec::new();
        let mut r = 1;
        while r <= n {
            let e = edge(r);
            let (mut lo, mut hi) = (r, n);
            while lo < hi {
                let mid = lo + (hi - lo).div_ceil(2);
                if edge(mid) <= e {
                    lo = mid
                } else {
                    hi = mid - 1
                }
            }
            buckets.push((e, lo - r + 1));
            r = lo + 1;
        }
        Self(buckets)
    }

    fn merge(dists: impl IntoIterator<Item = Dist>) -> Self {
        let mut all: Vec<(Duration, u64)> = dists.into_iter().flat_map(|d| d.0).collect();
        all.sort_by_key(|&(e, _)| e);
        let mut merged: Vec<(Duration, u64)> = Vec::new();
        for (e, c) in all {
            match merged.last_mut() {
                Some((last, n)) if *last == e => *n += c,
                _ => merged.push((e, c)),
            }
        }
        Self(merged)
    }

    fn count(&self) -> u64 {
        self.0.iter().map(|&(_, c)| c).sum()
    }

    /// As [`Histogram::quantile`].
    fn quantile(&self, q: f64) -> Duration {
        let total = self.count();
        if total == 0 {
            return Duration::ZERO;
        }
        let target = ((total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for &(e, c) in &self.0 {
            seen += c;
            if seen >= target {
                return e;
            }
        }
        Duration::from_millis(100)
    }
}

#[derive(Default)]
struct Totals {
    /// Sessions the server started (`StartResponse`).
    started: AtomicU64,
    sent: AtomicU64,
    stored: AtomicU64,
    audio_in: AtomicU64,
    audio_gaps: AtomicU64,
    ended_ok: AtomicU64,
    failed: AtomicU64,
    /// Client-side: arrival time minus schedule, relative to the best frame
    /// of the session (so clock offsets cancel).
    delivery: Histogram,
}

fn speech_frames(text: &str) -> Vec<Bytes> {
    let out = std::process::Command::new("espeak-ng")
        .args(["--stdout", "-s", "165", text])
        .output()
        .expect("espeak-ng runs");
    let (rate, samples) = candor_audio::clip::read_wav(&out.stdout).expect("wav");
    let samples = candor_audio::clip::resample(&samples, rate, 16_000).expect("resample");
    candor_server::voice::encode_clip(candor_audio::Codec::Opus, 16_000, &samples).expect("opus")
}

/// One simulated candidate: one task, one socket, a 20 ms send clock. It
/// speaks (a recorded answer) each time the interviewer starts listening and
/// sends silence otherwise, like a real client that streams continuously.
async fn client(
    addr: std::net::SocketAddr,
    token: String,
    interview_id: String,
    speech: Arc<Vec<Bytes>>,
    silence: Bytes,
    stop_at: tokio::time::Instant,
    totals: Arc<Totals>,
) -> Result<(), String> {
    let config = WebSocketConfig::default().read_buffer_size(2 * 1024);
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(
        format!("ws://{addr}/v1/session"),
        Some(config),
        false,
    )
    .await
    .map_err(|e| e.to_string())?;
    let codec = Codec::default();
    let enc = |m: ClientToServerMessage| Message::Binary(codec.encode(&m).unwrap().into());
    let start = StartRequest {
        auth_token: token,
        interview_id,
        audio_config: Some(AudioConfig::opus_16k_mono()),
        resume: None,
        client_info: "candor-load".into(),
        accepted_codecs: vec![],
    };
    ws.send(enc(start.into()))
        .await
        .map_err(|e| e.to_string())?;

    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut seq = 0u64;
    let mut clip: Option<usize> = None;
    let mut listening = false;
    let mut t0: Option<Instant> = None;
    let mut best: Option<i128> = None;
    let mut last_server_seq = 0;
    let mut ending = false;
    let end_deadline = stop_at + Duration::from_secs(30);
    let stored = loop {
        tokio::select! {
            _ = tick.tick(), if !ending => {
                if tokio::time::Instant::now() >= stop_at {
                    ending = true;
                    totals.sent.fetch_add(seq, Ordering::Relaxed);
                    ws.send(enc(EndRequest {}.into())).await.map_err(|e| e.to_string())?;
                    continue;
                }
                if clip.is_none() && std::mem::take(&mut listening) {
                    clip = Some(0);
                }
                let data = match clip {
                    Some(i) if i < speech.len() => {
                        clip = Some(i + 1);
                        speech[i].clone()
                    }
                    _ => {
                        clip = None;
                        silence.clone()
                    }
                };
                seq += 1;
                let chunk = AudioChunk {
                    seq,
                    data,
                    timestamp_us: (seq - 1) * 20_000,
                    voice_activity: clip.is_some(),
                    muted: false,
                };
                ws.send(enc(chunk.into())).await.map_err(|e| e.to_string())?;
            }
            _ = tokio::time::sleep_until(end_deadline), if ending => {
                return Err("no SessionEnded".into());
            }
            msg = ws.next() => {
                let Some(Ok(msg)) = msg else {
                    return Err("socket closed before SessionEnded".into());
                };
                let Message::Binary(b) = msg else { continue };
                let Ok(m) = codec.decode_server(&b) else { continue };
                match m.payload {
                    Some(ServerPayload::StartResponse(_)) => {
                        totals.started.fetch_add(1, Ordering::Relaxed);
                    }
                    Some(ServerPayload::AudioChunk(c)) => {
                        let now = Instant::now();
                        totals.audio_in.fetch_add(1, Ordering::Relaxed);
                        if c.seq != last_server_seq + 1 {
                            totals
                                .audio_gaps
                                .fetch_add(c.seq - last_server_seq - 1, Ordering::Relaxed);
                        }
                        last_server_seq = c.seq;
                        // Acknowledge played audio every 10 frames, as the app does.
                        if c.seq % 10 == 0 {
                            ws.send(enc(AudioAck { seq: c.seq }.into()))
                                .await
                                .map_err(|e| e.to_string())?;
                        }
                        // Arrival against the frame's scheduled time, relative
                        // to the most punctual frame so far (clock offsets cancel).
                        let t0 = *t0.get_or_insert(now);
                        let offset =
                            now.duration_since(t0).as_micros() as i128 - c.timestamp_us as i128;
                        let b = best.map_or(offset, |b| b.min(offset));
                        best = Some(b);
                        totals.delivery.record(Duration::from_micros((offset - b) as u64));
                    }
                    Some(ServerPayload::InterviewerState(s))
                        if s.activity == InterviewerActivity::Listening as i32 =>
                    {
                        listening = true;
                    }
                    Some(ServerPayload::SessionEnded(e)) => break e.last_client_seq,
                    Some(ServerPayload::Error(e)) => return Err(e.to_string()),
                    _ => {}
                }
            }
        }
    };
    totals.stored.fetch_add(stored, Ordering::Relaxed);
    totals.ended_ok.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// CPU seconds of this process's threads whose name starts with `prefix`.
fn thread_cpu_seconds(prefix: &str) -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("stat")).ok())
        .filter_map(|stat| {
            let (head, rest) = stat.rsplit_once(')')?;
            let name = head.split_once('(')?.1;
            if !name.starts_with(prefix) {
                return None;
            }
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some((f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?) / 100.0)
        })
        .sum()
}

/// A fresh schema in the PostgreSQL at the admin URL, for one run, dropped
/// with everything in it when the run ends (as the store conformance tests
/// do): runs never see each other's data.
struct Schema {
    admin: DatabaseUrl,
    name: String,
    /// The servers' URL: connections whose `search_path` is the schema.
    url: DatabaseUrl,
}

impl Schema {
    fn create(admin: &DatabaseUrl, run: usize) -> Self {
        let name = format!("bench_load_{}_{run}", std::process::id());
        let mut client = postgres::Client::connect(admin.expose(), postgres::NoTls)
            .expect("connect to PostgreSQL");
        client
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
            ))
            .expect("create the run's schema");
        let sep = if admin.expose().contains('?') {
            '&'
        } else {
            '?'
        };
        let url = format!("{}{sep}options=-csearch_path%3D{name}", admin.expose());
        Self {
            admin: admin.clone(),
            name,
            url: DatabaseUrl::parse(&url).unwrap().unwrap(),
        }
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(self.admin.expose(), postgres::NoTls) {
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}

/// The candidates' audio, made once for every run.
struct Load {
    speech: Arc<Vec<Bytes>>,
    silence: Bytes,
}

/// One run's figures over its measurement window.
struct Report {
    instances: usize,
    started: u64,
    held_min: usize,
    held_max: usize,
    ended_ok: u64,
    failed: u64,
    /// % of one core: the whole process, and the servers (the process less
    /// the simulated clients' threads).
    process_cpu: f64,
    server_cpu: f64,
    /// % of all cores.
    machine_busy: f64,
    /// % of one core, the local `postgres` processes (None: none here).
    postgres_cpu: Option<f64>,
    loadavg: String,
    rss_mib: u64,
    hwm_mib: u64,
    frame_handling: Dist,
    send_lateness: Dist,
    delivery: (Duration, Duration),
    /// Per instance: sessions held at the end of the window, frame
    /// handling p99, frames handled.
    per_instance: Vec<(usize, Duration, u64)>,
    sent: u64,
    stored: u64,
    audio_in: u64,
    audio_gaps: u64,
}

fn main() {
    // The servers' warnings (a lease lost, a session let go) on stderr:
    // they explain failed sessions. RUST_LOG overrides.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let a = args();
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .thread_name("bench-client")
        .enable_all()
        .build()
        .expect("client runtime");
    let load = Load {
        speech: Arc::new(speech_frames(
            "In my last role I led the migration of our billing system to a new database, \
             and we moved every service without downtime.",
        )),
        silence: candor_server::voice::encode_clip(candor_audio::Codec::Opus, 16_000, &[0.0; 320])
            .unwrap()
            .remove(0),
    };

    println!(
        "candor load: {} sessions, {} s measured after a {} ms ramp and {} s warm-up, {} core(s)",
        a.sessions,
        a.seconds,
        a.ramp_ms,
        a.warmup_s,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    match &a.database {
        None => println!("store: SQLite in a temporary directory"),
        Some(_) => println!("store: PostgreSQL, a fresh schema per run (dropped after it)"),
    }
    if a.instances > 1 {
        println!(
            "{} server instances in this process on the one database, each on its own port and runtime; \
             clients dealt out round-robin over their ports (no load balancer){}",
            a.instances,
            if a.compare {
                "; baseline: the same load on 1 instance first, in this run"
            } else {
                ""
            }
        );
    }
    let runs: Vec<usize> = if a.compare {
        vec![1, a.instances]
    } else {
        vec![a.instances]
    };
    let mut reports = Vec::new();
    for (i, &instances) in runs.iter().enumerate() {
        if runs.len() > 1 {
            println!(
                "\n== {instances} instance{} ==",
                if instances == 1 { "" } else { "s" }
            );
        }
        let report = run_with(&a, instances, i, &client_rt, &load);
        report.print(a.sessions);
        reports.push(report);
    }
    if let [base, many] = &reports[..] {
        compare(a.sessions, base, many);
    }
}

/// Starts `instances` servers on a fresh store, runs the load against them
/// and stops them.
fn run_with(
    a: &Args,
    instances: usize,
    run_no: usize,
    client_rt: &tokio::runtime::Runtime,
    load: &Load,
) -> Report {
    let schema = a
        .database
        .as_ref()
        .map(|admin| Schema::create(admin, run_no));
    let dir = tempfile::tempdir().expect("tempdir");
    // Each server gets its own runtime (and named threads), as in a real
    // deployment where each instance is a process, so their CPU can be told
    // apart from the simulated clients'.
    let runtimes: Vec<tokio::runtime::Runtime> = (0..instances)
        .map(|_| {
            tokio::runtime::Builder::new_multi_thread()
                .thread_name("candor-server")
                .enable_all()
                .build()
                .expect("server runtime")
        })
        .collect();
    // One after the other: the first one migrates the schema.
    let servers: Vec<RunningServer> = runtimes
        .iter()
        .map(|rt| {
            let mut config = Config::new("127.0.0.1:0".parse().unwrap(), dir.path());
            config.database = schema.as_ref().map(|s| s.url.clone());
            config.allow_local_profiles = true;
            config.limits.max_sessions_per_user = a.sessions;
            config.limits.max_sessions = a.sessions + 10;
            // Every simulated candidate comes from 127.0.0.1.
            config.limits.max_sessions_per_ip = a.sessions + 10;
            config.limits.max_connections_per_ip = config.limits.max_connections;
            rt.block_on(Server::start(config)).expect("server starts")
        })
        .collect();
    let report = client_rt.block_on(run(a, &servers, load));
    for (rt, server) in runtimes.iter().zip(servers) {
        rt.block_on(server.shutdown());
    }
    drop(runtimes);
    drop(schema);
    report
}

async fn run(a: &Args, servers: &[RunningServer], load: &Load) -> Report {
    let addrs: Vec<std::net::SocketAddr> = servers.iter().map(|s| s.addr()).collect();
    let http = candor_http::client_builder()
        .build()
        .expect("an HTTP client");
    // One sign-in, at the first instance: the token is in the shared store.
    let auth: serde_json::Value = http
        .post(format!("http://{}/v1/auth/local", addrs[0]))
        .json(&serde_json::json!({"profile": "load"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = auth["token"].as_str().unwrap().to_owned();
    // Session i is created, and runs, at instance i mod K.
    let mut interviews = Vec::new();
    for i in 0..a.sessions {
        let addr = addrs[i % addrs.len()];
        let iv: serde_json::Value = http
            .post(format!("http://{addr}/v1/interviews"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"role": "software_engineer", "seniority": "mid", "question_count": 12}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        interviews.push((addr, iv["id"].as_str().unwrap().to_owned()));
    }

    let totals = Arc::new(Totals::default());
    let t_start = tokio::time::Instant::now();
    let steady_at = t_start + Duration::from_millis(a.ramp_ms) + Duration::from_secs(a.warmup_s);
    let stop_at = steady_at + Duration::from_secs(a.seconds);
    let mut tasks = Vec::new();
    let instances = addrs.len();
    for (i, (addr, id)) in interviews.into_iter().enumerate() {
        let delay = Duration::from_millis(a.ramp_ms * i as u64 / a.sessions.max(1) as u64);
        let (token, speech, silence, totals) = (
            token.clone(),
            load.speech.clone(),
            load.silence.clone(),
            totals.clone(),
        );
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep_until(t_start + delay).await;
            let r = client(addr, token, id, speech, silence, stop_at, totals.clone()).await;
            if let Err(e) = &r {
                totals.failed.fetch_add(1, Ordering::Relaxed);
                let at = t_start.elapsed().as_secs_f64();
                if instances > 1 {
                    println!(
                        "session failed (instance {}, {at:.1} s after the ramp began): {e}",
                        i % instances + 1
                    );
                } else {
                    println!("session failed ({at:.1} s after the ramp began): {e}");
                }
            }
        }));
    }

    // Steady state: measure from here.
    tokio::time::sleep_until(steady_at).await;
    for s in servers {
        s.metrics().frame_handling.reset();
        s.metrics().send_lateness.reset();
    }
    totals.delivery.reset();
    let cpu0 = cpu_seconds();
    let client_cpu0 = thread_cpu_seconds("bench-client");
    let pg_cpu0 = postgres_cpu_seconds();
    let (busy0, total0) = machine_jiffies();
    let wall0 = Instant::now();
    let mut held_min = usize::MAX;
    let mut held_max = 0;
    while tokio::time::Instant::now() + Duration::from_millis(500) < stop_at {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let n = servers.iter().map(|s| s.live_sessions()).sum();
        held_min = held_min.min(n);
        held_max = held_max.max(n);
    }
    let wall = wall0.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    let client_cpu = thread_cpu_seconds("bench-client") - client_cpu0;
    let postgres_cpu = pg_cpu0
        .zip(postgres_cpu_seconds())
        .map(|(c0, c1)| (c1 - c0) / wall * 100.0);
    let (busy1, total1) = machine_jiffies();
    let machine_busy = (busy1 - busy0) / (total1 - total0).max(1.0) * 100.0;
    let rss = status_kib("VmRSS:");
    let (mut handling, mut lateness, mut per_instance) = (Vec::new(), Vec::new(), Vec::new());
    for s in servers {
        let m = s.metrics();
        let h = Dist::of(&m.frame_handling);
        per_instance.push((s.live_sessions(), h.quantile(0.99), h.count()));
        handling.push(h);
        lateness.push(Dist::of(&m.send_lateness));
    }
    let delivery = (
        totals.delivery.quantile(0.5),
        totals.delivery.quantile(0.99),
    );

    for t in tasks {
        let _ = t.await;
    }
    Report {
        instances: servers.len(),
        started: totals.started.load(Ordering::Relaxed),
        held_min,
        held_max,
        ended_ok: totals.ended_ok.load(Ordering::Relaxed),
        failed: totals.failed.load(Ordering::Relaxed),
        process_cpu: cpu / wall * 100.0,
        server_cpu: (cpu - client_cpu) / wall * 100.0,
        machine_busy,
        postgres_cpu,
        loadavg: loadavg(),
        rss_mib: rss / 1024,
        hwm_mib: status_kib("VmHWM:") / 1024,
        frame_handling: Dist::merge(handling),
        send_lateness: Dist::merge(lateness),
        delivery,
        per_instance,
        sent: totals.sent.load(Ordering::Relaxed),
        stored: totals.stored.load(Ordering::Relaxed),
        audio_in: totals.audio_in.load(Ordering::Relaxed),
        audio_gaps: totals.audio_gaps.load(Ordering::Relaxed),
    }
}

impl Report {
    fn print(&self, sessions: usize) {
        println!(
            "sessions held (steady state): min {}, max {} of {sessions} ({} started)",
            self.held_min, self.held_max, self.started
        );
        println!(
            "sessions ended cleanly: {}, failed: {}",
            self.ended_ok, self.failed
        );
        println!(
            "CPU: server{} {:.0}% of one core (the process less its client threads), whole process with clients {:.0}%; RSS {} MiB (peak {} MiB)",
            if self.instances > 1 { "s" } else { "" },
            self.server_cpu,
            self.process_cpu,
            self.rss_mib,
            self.hwm_mib
        );
        println!(
            "machine: {:.0}% of all cores busy (this process included), load average {}",
            self.machine_busy, self.loadavg
        );
        if let Some(pg) = self.postgres_cpu {
            println!("postgres processes: {pg:.0}% of one core");
        }
        let (fh, sl) = (&self.frame_handling, &self.send_lateness);
        println!(
            "server frame handling (candidate frame in → decoded, VAD, engine, queued for disk): p50 {} p99 {} over {} frames",
            ms(fh.quantile(0.5)),
            ms(fh.quantile(0.99)),
            fh.count()
        );
        if self.instances > 1 {
            for (i, (held, p99, n)) in self.per_instance.iter().enumerate() {
                println!(
                    "  instance {}: {held} sessions held at the end, frame handling p99 {} over {n} frames",
                    i + 1,
                    ms(*p99)
                );
            }
        }
        println!(
            "interviewer frames out, lateness at the server socket vs schedule: p50 {} p99 {} over {} frames",
            ms(sl.quantile(0.5)),
            ms(sl.quantile(0.99)),
            sl.count()
        );
        println!(
            "interviewer frames, lateness on arrival at the clients: p50 {} p99 {}",
            ms(self.delivery.0),
            ms(self.delivery.1)
        );
        println!(
            "candidate frames: sent {}, stored and acknowledged {}, lost {}",
            self.sent,
            self.stored,
            self.sent.saturating_sub(self.stored)
        );
        println!(
            "interviewer frames: received {}, gaps (lost) {}",
            self.audio_in, self.audio_gaps
        );
    }
}

/// The baseline (one instance) beside K instances, and the ratio K/1.
fn compare(sessions: usize, base: &Report, many: &Report) {
    let k = many.instances;
    println!(
        "\n== 1 instance vs {k}, same load and same run (round-robin clients, no load balancer) =="
    );
    let head = format!("{k} instances");
    println!(
        "{:<58} {:>12} {:>12} {:>7}",
        "",
        "1 instance",
        head,
        format!("{k}/1")
    );
    let row = |label: &str, b: f64, m: f64, fmt: &dyn Fn(f64) -> String| {
        let ratio = if b > 0.0 {
            format!("{:.2}x", m / b)
        } else {
            "-".to_owned()
        };
        println!("{label:<58} {:>12} {:>12} {ratio:>7}", fmt(b), fmt(m));
    };
    let count = |v: f64| format!("{v:.0}");
    let pct = |v: f64| format!("{v:.0}%");
    let msf = |v: f64| format!("{v:.2} ms");
    let d = |d: Duration| d.as_secs_f64() * 1000.0;
    row(
        &format!("sessions started (of {sessions})"),
        base.started as f64,
        many.started as f64,
        &count,
    );
    row(
        "sessions held (fewest over the window)",
        base.held_min as f64,
        many.held_min as f64,
        &count,
    );
    row(
        "server frame handling p50",
        d(base.frame_handling.quantile(0.5)),
        d(many.frame_handling.quantile(0.5)),
        &msf,
    );
    row(
        "server frame handling p99",
        d(base.frame_handling.quantile(0.99)),
        d(many.frame_handling.quantile(0.99)),
        &msf,
    );
    row(
        "interviewer frame lateness p99, at the server socket",
        d(base.send_lateness.quantile(0.99)),
        d(many.send_lateness.quantile(0.99)),
        &msf,
    );
    row(
        "interviewer frame lateness p99, on arrival at the clients",
        d(base.delivery.1),
        d(many.delivery.1),
        &msf,
    );
    row(
        "CPU, servers (% of one core)",
        base.server_cpu,
        many.server_cpu,
        &pct,
    );
    row(
        "CPU, whole process with clients (% of one core)",
        base.process_cpu,
        many.process_cpu,
        &pct,
    );
    row(
        "CPU, machine (% of all cores)",
        base.machine_busy,
        many.machine_busy,
        &pct,
    );
    match (base.postgres_cpu, many.postgres_cpu) {
        (Some(b), Some(m)) => row("CPU, postgres processes (% of one core)", b, m, &pct),
        _ => println!("CPU, postgres processes: not measured (no local postgres process)"),
    }
    row(
        "candidate frames lost",
        base.sent.saturating_sub(base.stored) as f64,
        many.sent.saturating_sub(many.stored) as f64,
        &count,
    );
    row(
        "interviewer frames lost (gaps)",
        base.audio_gaps as f64,
        many.audio_gaps as f64,
        &count,
    );
}
