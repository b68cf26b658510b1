//! Load benchmark: N simulated candidates against one server, all in this
//! process on 127.0.0.1, each streaming 20 ms Opus frames at real-time pace
//! (speech when the interviewer listens, silence otherwise) and playing the
//! interviewer's audio.
//!
//! ```text
//! cargo bench -p candor-server --bench load -- --sessions 500 --seconds 20
//! ```
//!
//! Reports sessions held, process CPU and RSS (clients included: they run in
//! the same process), server-side frame handling latency, how late
//! interviewer frames leave the server and reach the clients, and lost frames
//! both ways.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use candor_protocol::{
    AudioChunk, AudioConfig, ClientToServerMessage, Codec, EndRequest, InterviewerActivity,
    ServerPayload, StartRequest,
};
use candor_server::metrics::Histogram;
use candor_server::{Config, Server};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

struct Args {
    sessions: usize,
    seconds: u64,
    ramp_ms: u64,
}

fn args() -> Args {
    let mut a = Args {
        sessions: 500,
        seconds: 20,
        ramp_ms: 3000,
    };
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
            _ => {} // cargo bench passes --bench
        }
    }
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

/// Time this process's threads spent runnable but waiting for a CPU, in
/// seconds (from /proc/self/task/*/schedstat): contention from other
/// processes on the machine shows up here.
fn runqueue_wait_seconds() -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().nth(1)?.parse::<f64>().ok())
        .sum::<f64>()
        / 1e9
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

#[derive(Default)]
struct Totals {
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
    let pcm = candor_server::voice::parse_wav(&out.stdout).expect("wav");
    let pcm = candor_server::voice::resample(&pcm, 16_000);
    candor_server::voice::opus_encode(&pcm, 20).expect("opus")
}

async fn client(
    addr: std::net::SocketAddr,
    token: String,
    interview_id: String,
    speech: Arc<Vec<Bytes>>,
    silence: Bytes,
    stop_at: tokio::time::Instant,
    totals: Arc<Totals>,
) -> Result<(), String> {
    let config = WebSocketConfig::default().read_buffer_size(8 * 1024);
    let (ws, _) = tokio_tungstenite::connect_async_with_config(
        format!("ws://{addr}/v1/session"),
        Some(config),
        false,
    )
    .await
    .map_err(|e| e.to_string())?;
    let (mut tx, mut rx) = ws.split();
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
    tx.send(enc(start.into()))
        .await
        .map_err(|e| e.to_string())?;
    let listening = Arc::new(AtomicBool::new(false));
    let l2 = listening.clone();
    let t2 = totals.clone();
    let reader = tokio::spawn(async move {
        let codec = Codec::default();
        let mut t0: Option<Instant> = None;
        let mut best: Option<i128> = None;
        let mut last_seq = 0;
        let mut stored = 0;
        while let Some(Ok(msg)) = rx.next().await {
            let Message::Binary(b) = msg else { continue };
            let Ok(m) = codec.decode_server(&b) else {
                continue;
            };
            match m.payload {
                Some(ServerPayload::AudioChunk(c)) => {
                    let now = Instant::now();
                    t2.audio_in.fetch_add(1, Ordering::Relaxed);
                    if c.seq != last_seq + 1 {
                        t2.audio_gaps
                            .fetch_add(c.seq - last_seq - 1, Ordering::Relaxed);
                    }
                    last_seq = c.seq;
                    // Arrival against the frame's scheduled time, relative to
                    // the most punctual frame so far (clock offsets cancel).
                    let t0 = *t0.get_or_insert(now);
                    let offset =
                        now.duration_since(t0).as_micros() as i128 - c.timestamp_us as i128;
                    let b = best.map_or(offset, |b| b.min(offset));
                    best = Some(b);
                    t2.delivery
                        .record(Duration::from_micros((offset - b) as u64));
                }
                Some(ServerPayload::InterviewerState(s))
                    if s.activity == InterviewerActivity::Listening as i32 =>
                {
                    l2.store(true, Ordering::Relaxed);
                }
                Some(ServerPayload::SessionEnded(e)) => {
                    stored = e.last_client_seq;
                    break;
                }
                Some(ServerPayload::Error(e)) => return Err(e.to_string()),
                _ => {}
            }
        }
        Ok(stored)
    });
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut seq = 0u64;
    let mut clip: Option<usize> = None;
    while tokio::time::Instant::now() < stop_at {
        tick.tick().await;
        if clip.is_none() && listening.swap(false, Ordering::Relaxed) {
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
        };
        tx.send(enc(chunk.into()))
            .await
            .map_err(|e| e.to_string())?;
    }
    totals.sent.fetch_add(seq, Ordering::Relaxed);
    tx.send(enc(EndRequest {}.into()))
        .await
        .map_err(|e| e.to_string())?;
    let stored = tokio::time::timeout(Duration::from_secs(30), reader)
        .await
        .map_err(|_| "no SessionEnded".to_string())?
        .map_err(|e| e.to_string())??;
    totals.stored.fetch_add(stored, Ordering::Relaxed);
    totals.ended_ok.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let a = args();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run(a));
}

async fn run(a: Args) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config::new("127.0.0.1:0".parse().unwrap(), dir.path());
    config.allow_local_profiles = true;
    config.limits.max_sessions_per_user = a.sessions;
    config.limits.max_sessions = a.sessions + 10;
    let server = Server::start(config).await.expect("server");
    let addr = server.addr();
    let http = reqwest::Client::new();
    let auth: serde_json::Value = http
        .post(format!("http://{addr}/v1/auth/local"))
        .json(&serde_json::json!({"profile": "load"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = auth["token"].as_str().unwrap().to_owned();
    let mut interviews = Vec::new();
    for _ in 0..a.sessions {
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
        interviews.push(iv["id"].as_str().unwrap().to_owned());
    }
    let speech = Arc::new(speech_frames(
        "In my last role I led the migration of our billing system to a new database, \
         and we moved every service without downtime.",
    ));
    let silence = candor_server::voice::opus_encode(
        &candor_server::voice::Pcm {
            rate_hz: 16_000,
            samples: vec![0; 320],
        },
        20,
    )
    .unwrap()
    .remove(0);

    println!(
        "candor load: {} sessions, {} s steady state, ramp {} ms, {} core(s)",
        a.sessions,
        a.seconds,
        a.ramp_ms,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    let totals = Arc::new(Totals::default());
    let t_start = tokio::time::Instant::now();
    let steady_at = t_start + Duration::from_millis(a.ramp_ms) + Duration::from_secs(2);
    let stop_at = steady_at + Duration::from_secs(a.seconds);
    let mut tasks = Vec::new();
    for (i, id) in interviews.into_iter().enumerate() {
        let delay = Duration::from_millis(a.ramp_ms * i as u64 / a.sessions.max(1) as u64);
        let (token, speech, silence, totals) = (
            token.clone(),
            speech.clone(),
            silence.clone(),
            totals.clone(),
        );
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep_until(t_start + delay).await;
            let r = client(addr, token, id, speech, silence, stop_at, totals.clone()).await;
            if let Err(e) = &r {
                totals.failed.fetch_add(1, Ordering::Relaxed);
                println!("session failed: {e}");
            }
        }));
    }

    // Steady state: measure from here.
    tokio::time::sleep_until(steady_at).await;
    let m = server.metrics().clone();
    m.frame_handling.reset();
    m.send_lateness.reset();
    totals.delivery.reset();
    let cpu0 = cpu_seconds();
    let wait0 = runqueue_wait_seconds();
    let wall0 = Instant::now();
    let mut held_min = usize::MAX;
    let mut held_max = 0;
    while tokio::time::Instant::now() + Duration::from_millis(500) < stop_at {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let n = server.live_sessions();
        held_min = held_min.min(n);
        held_max = held_max.max(n);
    }
    let wall = wall0.elapsed().as_secs_f64();
    let cpu = (cpu_seconds() - cpu0) / wall * 100.0;
    let waited = (runqueue_wait_seconds() - wait0) / wall * 100.0;
    let rss = status_kib("VmRSS:");
    let (fh50, fh99) = (
        m.frame_handling.quantile(0.5),
        m.frame_handling.quantile(0.99),
    );
    let (sl50, sl99) = (
        m.send_lateness.quantile(0.5),
        m.send_lateness.quantile(0.99),
    );
    let (dl50, dl99) = (
        totals.delivery.quantile(0.5),
        totals.delivery.quantile(0.99),
    );
    let frames_in_window = m.frame_handling.count();
    let frames_out_window = m.send_lateness.count();

    for t in tasks {
        let _ = t.await;
    }
    let sent = totals.sent.load(Ordering::Relaxed);
    let stored = totals.stored.load(Ordering::Relaxed);
    println!(
        "sessions held (steady state): min {held_min}, max {held_max} of {}",
        a.sessions
    );
    println!(
        "sessions ended cleanly: {}, failed: {}",
        totals.ended_ok.load(Ordering::Relaxed),
        totals.failed.load(Ordering::Relaxed)
    );
    println!(
        "process CPU (server + clients): {cpu:.0}% of one core; RSS {} MiB (peak {} MiB)",
        rss / 1024,
        status_kib("VmHWM:") / 1024
    );
    println!(
        "machine: load average {}; this process's threads waited for a CPU {waited:.0}% of the time (contention from other processes)",
        loadavg()
    );
    println!(
        "server frame handling (candidate frame in → decoded, VAD, engine, queued for disk): p50 {} p99 {} over {} frames",
        ms(fh50),
        ms(fh99),
        frames_in_window
    );
    println!(
        "interviewer frames out, lateness at the server socket vs schedule: p50 {} p99 {} over {} frames",
        ms(sl50),
        ms(sl99),
        frames_out_window
    );
    println!(
        "interviewer frames, lateness on arrival at the clients: p50 {} p99 {}",
        ms(dl50),
        ms(dl99)
    );
    println!(
        "candidate frames: sent {sent}, stored and acknowledged {stored}, lost {}",
        sent.saturating_sub(stored)
    );
    println!(
        "interviewer frames: received {}, gaps (lost) {}",
        totals.audio_in.load(Ordering::Relaxed),
        totals.audio_gaps.load(Ordering::Relaxed)
    );
    server.shutdown().await;
}
