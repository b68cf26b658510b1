//! Load benchmark: N simulated candidates against one server, all in this
//! process on 127.0.0.1, each streaming 20 ms Opus frames at real-time pace
//! (speech when the interviewer listens, silence otherwise) and playing the
//! interviewer's audio.
//!
//! ```text
//! cargo bench -p candor-server --bench load -- --sessions 500 --seconds 20 [--warmup 15] [--ramp-ms 3000]
//! ```
//!
//! Reports sessions held, process CPU and RSS (clients included: they run in
//! the same process), server-side frame handling latency, how late
//! interviewer frames leave the server and reach the clients, and lost frames
//! both ways.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use candor_protocol::{
    AudioAck, AudioChunk, AudioConfig, ClientToServerMessage, Codec, EndRequest,
    InterviewerActivity, ServerPayload, StartRequest,
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
    /// Seconds after the ramp before measuring: the interviewer's phrases are
    /// synthesized once (espeak-ng + Opus) the first time any session needs
    /// them; steady state is after that.
    warmup_s: u64,
}

fn args() -> Args {
    let mut a = Args {
        sessions: 500,
        seconds: 20,
        ramp_ms: 3000,
        warmup_s: 15,
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
            "--warmup" => a.warmup_s = num("--warmup"),
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

fn main() {
    let a = args();
    // The server gets its own runtime (and named threads), as in a real
    // deployment, so its CPU can be told apart from the simulated clients'.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .thread_name("candor-server")
        .enable_all()
        .build()
        .expect("server runtime");
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .thread_name("bench-client")
        .enable_all()
        .build()
        .expect("client runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config::new("127.0.0.1:0".parse().unwrap(), dir.path());
    config.allow_local_profiles = true;
    config.limits.max_sessions_per_user = a.sessions;
    config.limits.max_sessions = a.sessions + 10;
    let server = server_rt
        .block_on(Server::start(config))
        .expect("server starts");
    let server = client_rt.block_on(run(a, server));
    server_rt.block_on(server.shutdown());
}

async fn run(a: Args, server: candor_server::RunningServer) -> candor_server::RunningServer {
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
    let silence = candor_server::voice::encode_clip(candor_audio::Codec::Opus, 16_000, &[0.0; 320])
        .unwrap()
        .remove(0);

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
    let totals = Arc::new(Totals::default());
    let t_start = tokio::time::Instant::now();
    let steady_at = t_start + Duration::from_millis(a.ramp_ms) + Duration::from_secs(a.warmup_s);
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
    let server_cpu0 = thread_cpu_seconds("candor-");
    let (busy0, total0) = machine_jiffies();
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
    let server_cpu = (thread_cpu_seconds("candor-") - server_cpu0) / wall * 100.0;
    let (busy1, total1) = machine_jiffies();
    let machine_busy = (busy1 - busy0) / (total1 - total0).max(1.0) * 100.0;
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
        "CPU: server {server_cpu:.0}% of one core (its runtime, recorder and blocking threads), whole process with clients {cpu:.0}%; RSS {} MiB (peak {} MiB)",
        rss / 1024,
        status_kib("VmHWM:") / 1024
    );
    println!(
        "machine: {machine_busy:.0}% of all cores busy (this process included), load average {}",
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
    server
}
