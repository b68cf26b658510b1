//! Abuse benchmark, loopback only: legitimate real-time sessions with and
//! without a flood of abuse, against a server with its default limits.
//!
//! ```text
//! cargo bench -p candor-server --bench abuse -- [--legit 50] [--seconds 15] [--signins 1000] [--floods 50] [--idle 1000]
//! ```
//!
//! Two runs of `--seconds` each, on a fresh server each time:
//! - quiet: `--legit` candidates stream 20 ms Opus frames at real time;
//! - abuse: the same, while `--signins` clients send wrong passwords in a
//!   loop, `--floods` clients upload PCM16 at 20× real time (reconnecting
//!   with a new interview each time they are cut off), and `--idle` sockets
//!   open the session WebSocket and send nothing (reopening when closed).
//!
//! The attackers come from many loopback addresses (127.0.x.y), as a botnet
//! would, so per-address limits alone do not stop them. The server runs in a
//! child process (this binary with `--serve-child DIR`), so its memory is
//! its own. Reported per run: the server's frame-handling p50/p99 for the
//! legitimate clients' frames (the Opus ones: the uploaders send PCM16), the
//! legitimate clients' ack latency, frames they lost (sent but never
//! stored), the server process's peak RSS, and what happened to the
//! attackers. Every loop is bounded by the run's deadline and a count.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use candor_protocol::{
    AudioChunk, AudioConfig, ClientToServerMessage, Codec, EndRequest, ServerPayload, StartRequest,
};
use candor_server::metrics::Histogram;
use candor_server::{Config, Server};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::Message;

struct Args {
    legit: usize,
    seconds: u64,
    signins: usize,
    floods: usize,
    idle: usize,
}

fn args() -> Args {
    let mut a = Args {
        legit: 50,
        seconds: 15,
        signins: 1000,
        floods: 50,
        idle: 1000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut num = |name: &str| -> u64 {
            it.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name} needs a number"))
        };
        match arg.as_str() {
            "--legit" => a.legit = num("--legit") as usize,
            "--seconds" => a.seconds = num("--seconds"),
            "--signins" => a.signins = num("--signins") as usize,
            "--floods" => a.floods = num("--floods") as usize,
            "--idle" => a.idle = num("--idle") as usize,
            "--serve-child" => {
                it.next();
            }
            _ => {} // cargo bench passes --bench
        }
    }
    a
}

/// A `/proc/self/status` field in KiB (`VmHWM:` is the peak RSS).
fn status_kib(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Loopback source address number `n` within `block` (127.block.x.y).
fn source(block: u8, n: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(
        127,
        block,
        (n / 250) as u8,
        (n % 250) as u8 + 2,
    ))
}

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// The session WebSocket, opened from `from`.
async fn ws_from(from: IpAddr, server: SocketAddr) -> Option<Ws> {
    let socket = TcpSocket::new_v4().ok()?;
    socket.bind(SocketAddr::new(from, 0)).ok()?;
    let tcp = tokio::time::timeout(Duration::from_secs(5), socket.connect(server))
        .await
        .ok()?
        .ok()?;
    let _ = tcp.set_nodelay(true);
    let url = format!("ws://{server}/v1/session");
    let (ws, _) = tokio::time::timeout(
        Duration::from_secs(5),
        tokio_tungstenite::client_async(url, tcp),
    )
    .await
    .ok()?
    .ok()?;
    Some(ws)
}

fn http_from(from: IpAddr) -> reqwest::Client {
    candor_http::client_builder()
        .local_address(from)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("http client")
}

fn frame(msg: impl Into<ClientToServerMessage>) -> Message {
    Message::Binary(
        Codec::default()
            .encode(&msg.into())
            .expect("encodes")
            .into(),
    )
}

/// A token and a fresh interview for `profile`.
async fn interview(http: &reqwest::Client, base: &str, profile: &str) -> Option<(String, String)> {
    let auth: serde_json::Value = http
        .post(format!("{base}/v1/auth/local"))
        .json(&serde_json::json!({ "profile": profile }))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    let token = auth["token"].as_str()?.to_owned();
    let interview: serde_json::Value = http
        .post(format!("{base}/v1/interviews"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"role": "software_engineer", "seniority": "mid", "question_count": 3}))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    Some((token, interview["id"].as_str()?.to_owned()))
}

fn start(token: String, interview_id: String, audio: AudioConfig) -> StartRequest {
    StartRequest {
        auth_token: token,
        interview_id,
        audio_config: Some(audio),
        resume: None,
        client_info: "abuse-bench".into(),
        accepted_codecs: vec![],
    }
}

#[derive(Default)]
struct Legit {
    sent: AtomicU64,
    stored: AtomicU64,
    failed: AtomicU64,
    ack_latency: Histogram,
}

/// A real-time candidate: a 20 ms Opus frame every 20 ms until `until`,
/// then `EndRequest`; counts what the server says it stored.
async fn legit(n: usize, server: SocketAddr, silence: Bytes, until: Instant, out: Arc<Legit>) {
    let from = source(1, n);
    let base = format!("http://{server}");
    let http = http_from(from);
    let Some((token, id)) = interview(&http, &base, &format!("legit-{n}")).await else {
        out.failed.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let Some(ws) = ws_from(from, server).await else {
        out.failed.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let (mut tx, mut rx) = ws.split();
    let _ = tx
        .send(frame(start(token, id, AudioConfig::opus_16k_mono())))
        .await;
    let sent_at: Arc<std::sync::Mutex<Vec<Instant>>> = Arc::default();
    let reader = {
        let sent_at = sent_at.clone();
        let out = out.clone();
        tokio::spawn(async move {
            let mut acked = 0u64;
            let mut stored = 0u64;
            while let Ok(Some(Ok(m))) =
                tokio::time::timeout(Duration::from_secs(30), rx.next()).await
            {
                let Message::Binary(b) = m else { continue };
                let Ok(msg) = Codec::default().decode_server(&b) else {
                    continue;
                };
                match msg.payload {
                    Some(ServerPayload::AudioAck(a)) => {
                        let now = Instant::now();
                        let times = sent_at.lock().unwrap();
                        for seq in acked + 1..=a.seq.min(times.len() as u64) {
                            out.ack_latency.record(now - times[seq as usize - 1]);
                        }
                        acked = acked.max(a.seq);
                    }
                    Some(ServerPayload::SessionEnded(e)) => {
                        stored = e.last_client_seq.max(acked);
                        break;
                    }
                    Some(ServerPayload::Error(_)) => break,
                    _ => {}
                }
            }
            out.stored.fetch_add(stored.max(acked), Ordering::Relaxed);
        })
    };
    let t0 = tokio::time::Instant::now();
    let mut seq = 0u64;
    while Instant::now() < until {
        seq += 1;
        tokio::time::sleep_until(t0 + Duration::from_millis(20 * seq)).await;
        sent_at.lock().unwrap().push(Instant::now());
        let chunk = AudioChunk {
            seq,
            data: silence.clone(),
            timestamp_us: (seq - 1) * 20_000,
            voice_activity: false,
            muted: false,
        };
        if tx.send(frame(chunk)).await.is_err() {
            out.failed.fetch_add(1, Ordering::Relaxed);
            break;
        }
        out.sent.fetch_add(1, Ordering::Relaxed);
    }
    let _ = tx.send(frame(EndRequest {})).await;
    let _ = reader.await;
}

#[derive(Default)]
struct Attack {
    signin_401: AtomicU64,
    signin_429: AtomicU64,
    signin_other: AtomicU64,
    floods_cut: AtomicU64,
    flood_frames: AtomicU64,
    idle_opened: AtomicU64,
    idle_closed_by_server: AtomicU64,
}

/// Wrong passwords in a loop, a different email each time.
async fn signin_attacker(n: usize, server: SocketAddr, until: Instant, out: Arc<Attack>) {
    let http = http_from(source(2 + (n / 1000) as u8, n % 1000));
    let url = format!("http://{server}/v1/auth/sign-in");
    let mut i = 0;
    while Instant::now() < until && i < 10_000 {
        i += 1;
        let body = serde_json::json!({"email": format!("victim{}@example.org", (n * 7 + i) % 500), "password": "wrong password"});
        match http
            .post(&url)
            .json(&body)
            .send()
            .await
            .map(|r| r.status().as_u16())
        {
            Ok(401) => out.signin_401.fetch_add(1, Ordering::Relaxed),
            Ok(429) => out.signin_429.fetch_add(1, Ordering::Relaxed),
            _ => out.signin_other.fetch_add(1, Ordering::Relaxed),
        };
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// PCM16 at 20× real time; a new interview each time it is cut off.
async fn flooder(n: usize, server: SocketAddr, until: Instant, out: Arc<Attack>) {
    let from = source(10, n);
    let base = format!("http://{server}");
    let http = http_from(from);
    let pcm = Bytes::from(vec![0u8; 640]);
    let mut rounds = 0;
    while Instant::now() < until && rounds < 200 {
        rounds += 1;
        let Some((token, id)) = interview(&http, &base, &format!("flood-{n}")).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let Some(ws) = ws_from(from, server).await else {
            continue;
        };
        let (mut tx, mut rx) = ws.split();
        let _ = tx
            .send(frame(start(token, id, AudioConfig::pcm16_mono(16_000))))
            .await;
        let cut = Arc::new(AtomicBool::new(false));
        let reader = {
            let cut = cut.clone();
            tokio::spawn(async move {
                while let Some(Ok(m)) = rx.next().await {
                    if let Message::Binary(b) = m
                        && let Ok(msg) = Codec::default().decode_server(&b)
                        && let Some(ServerPayload::Error(_)) = msg.payload
                    {
                        cut.store(true, Ordering::Relaxed);
                    }
                }
                cut.store(true, Ordering::Relaxed);
            })
        };
        let t0 = tokio::time::Instant::now();
        let mut seq = 0u64;
        while !cut.load(Ordering::Relaxed) && Instant::now() < until {
            seq += 1;
            // 20 ms of audio every millisecond.
            tokio::time::sleep_until(t0 + Duration::from_millis(seq)).await;
            let chunk = AudioChunk {
                seq,
                data: pcm.clone(),
                timestamp_us: (seq - 1) * 20_000,
                voice_activity: false,
                muted: false,
            };
            if tx.send(frame(chunk)).await.is_err() {
                break;
            }
            out.flood_frames.fetch_add(1, Ordering::Relaxed);
        }
        reader.abort();
        if cut.load(Ordering::Relaxed) {
            out.floods_cut.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Opens the session socket and sends nothing; reopens when closed.
async fn idler(n: usize, server: SocketAddr, until: Instant, out: Arc<Attack>) {
    let from = source(20, n / 10);
    let mut opened = 0;
    while Instant::now() < until && opened < 100 {
        let Some(mut ws) = ws_from(from, server).await else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        opened += 1;
        out.idle_opened.fetch_add(1, Ordering::Relaxed);
        let left = until.saturating_duration_since(Instant::now());
        let closed =
            tokio::time::timeout(left, async { while let Some(Ok(_)) = ws.next().await {} }).await;
        if closed.is_ok() {
            out.idle_closed_by_server.fetch_add(1, Ordering::Relaxed);
        }
    }
}

struct Report {
    handling_p50: Duration,
    handling_p99: Duration,
    ack_p50: Duration,
    ack_p99: Duration,
    sent: u64,
    lost: u64,
    failed: u64,
    peak_rss_mib: u64,
}

/// The server side: started in a child process, driven over stdin/stdout
/// (`reset` the frame-handling histogram; `report` its p50/p99 in µs and
/// the peak RSS in KiB, then stop).
fn serve_child(dir: &str) {
    use std::io::BufRead;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .thread_name("candor-server")
        .enable_all()
        .build()
        .expect("server runtime");
    // The defaults a hosted backend runs with, plus local profiles for the
    // simulated users (the server is on loopback).
    let mut config = Config::new("127.0.0.1:0".parse().unwrap(), dir);
    config.allow_local_profiles = true;
    let server = rt.block_on(Server::start(config)).expect("server starts");
    println!("{}", server.addr());
    let metrics = server.metrics().clone();
    for line in std::io::stdin().lock().lines() {
        match line.as_deref().unwrap_or("report").trim() {
            "reset" => {
                metrics.frame_handling_opus.reset();
                println!("ok");
            }
            _ => {
                println!(
                    "{} {} {}",
                    metrics.frame_handling_opus.quantile(0.5).as_micros(),
                    metrics.frame_handling_opus.quantile(0.99).as_micros(),
                    status_kib("VmHWM:")
                );
                break;
            }
        }
    }
    rt.block_on(server.shutdown());
}

struct Child {
    process: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: std::io::BufReader<std::process::ChildStdout>,
}

impl Child {
    fn start(dir: &std::path::Path) -> (Self, SocketAddr) {
        use std::process::{Command, Stdio};
        let mut process = Command::new(std::env::current_exe().expect("this binary"))
            .arg("--serve-child")
            .arg(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("server process");
        let stdin = process.stdin.take().expect("stdin");
        let stdout = std::io::BufReader::new(process.stdout.take().expect("stdout"));
        let mut child = Self {
            process,
            stdin,
            stdout,
        };
        let addr = child.line().parse().expect("the server's address");
        (child, addr)
    }

    fn line(&mut self) -> String {
        use std::io::BufRead;
        let mut l = String::new();
        self.stdout.read_line(&mut l).expect("the server answers");
        l.trim().to_owned()
    }

    fn ask(&mut self, what: &str) -> String {
        use std::io::Write;
        writeln!(self.stdin, "{what}").expect("the server listens");
        self.line()
    }
}

fn run(a: &Args, abuse: bool) -> (Report, Arc<Attack>) {
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .thread_name("bench-client")
        .enable_all()
        .build()
        .expect("client runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, addr) = Child::start(dir.path());
    let silence = candor_server::voice::encode_clip(candor_audio::Codec::Opus, 16_000, &[0.0; 320])
        .expect("opus")
        .remove(0);
    let legit_out = Arc::new(Legit::default());
    let attack = Arc::new(Attack::default());
    client_rt.block_on(async {
        let until = Instant::now() + Duration::from_secs(a.seconds);
        let mut tasks = Vec::new();
        if abuse {
            for n in 0..a.idle {
                tasks.push(tokio::spawn(idler(n, addr, until, attack.clone())));
            }
            for n in 0..a.signins {
                tasks.push(tokio::spawn(signin_attacker(
                    n,
                    addr,
                    until,
                    attack.clone(),
                )));
            }
            for n in 0..a.floods {
                tasks.push(tokio::spawn(flooder(n, addr, until, attack.clone())));
            }
        }
        // The measured window starts with the legitimate sessions.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(child.ask("reset"), "ok");
        let mut legit_tasks = Vec::new();
        for n in 0..a.legit {
            legit_tasks.push(tokio::spawn(legit(
                n,
                addr,
                silence.clone(),
                until,
                legit_out.clone(),
            )));
        }
        for t in legit_tasks {
            let _ = t.await;
        }
        for t in tasks {
            t.abort();
        }
    });
    drop(client_rt);
    let answer = child.ask("report");
    let f: Vec<u64> = answer
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    let _ = child.process.wait();
    let report = Report {
        handling_p50: Duration::from_micros(f.first().copied().unwrap_or(0)),
        handling_p99: Duration::from_micros(f.get(1).copied().unwrap_or(0)),
        ack_p50: legit_out.ack_latency.quantile(0.5),
        ack_p99: legit_out.ack_latency.quantile(0.99),
        sent: legit_out.sent.load(Ordering::Relaxed),
        lost: legit_out
            .sent
            .load(Ordering::Relaxed)
            .saturating_sub(legit_out.stored.load(Ordering::Relaxed)),
        failed: legit_out.failed.load(Ordering::Relaxed),
        peak_rss_mib: f.get(2).copied().unwrap_or(0) / 1024,
    };
    (report, attack)
}

fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if let Some(i) = argv.iter().position(|a| a == "--serve-child") {
        return serve_child(&argv[i + 1]);
    }
    let a = args();
    println!(
        "abuse bench: {} legitimate real-time sessions for {} s; abuse = {} wrong-password clients, {} uploaders at 20× real time, {} idle unauthenticated sockets",
        a.legit, a.seconds, a.signins, a.floods, a.idle
    );
    let (quiet, _) = run(&a, false);
    let (loud, attack) = run(&a, true);
    for (name, r) in [("quiet", &quiet), ("abuse", &loud)] {
        println!(
            "{name:>5}: frame handling p50 {} p99 {}; ack latency p50 {:.0} ms p99 {:.0} ms; legit frames sent {} lost {} (sessions failed {}); server peak RSS {} MiB",
            us(r.handling_p50),
            us(r.handling_p99),
            r.ack_p50.as_secs_f64() * 1e3,
            r.ack_p99.as_secs_f64() * 1e3,
            r.sent,
            r.lost,
            r.failed,
            r.peak_rss_mib
        );
    }
    let g = |v: &AtomicU64| v.load(Ordering::Relaxed);
    println!(
        "attackers: sign-ins 401 {} / 429 {} / other {}; uploads cut off {} times after {} frames; idle sockets opened {} and closed by the server {}",
        g(&attack.signin_401),
        g(&attack.signin_429),
        g(&attack.signin_other),
        g(&attack.floods_cut),
        g(&attack.flood_frames),
        g(&attack.idle_opened),
        g(&attack.idle_closed_by_server)
    );
    let ratio = loud.handling_p99.as_secs_f64() / quiet.handling_p99.as_secs_f64().max(1e-9);
    println!(
        "frame handling p99 under abuse / quiet: {ratio:.2}× (target ≤ 2×); legit frames lost under abuse: {} (target 0)",
        loud.lost
    );
}
