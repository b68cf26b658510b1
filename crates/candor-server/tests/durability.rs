//! Kill the server process mid-session: every candidate frame it had
//! acknowledged is on disk, and when no client resumes the session the next
//! server ends it cleanly — once the dead server's lease has run out and the
//! resume grace has passed — and produces its results.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use candor_protocol::ServerPayload;
use candor_server::store::{SqliteStore, Store};
use common::*;

/// Kills the server process if the test fails before it does.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `candor-server` on `dir` (with `env` set) and waits for its
/// address.
fn spawn_server(dir: &std::path::Path, env: &[(&str, &str)]) -> (KillOnDrop, std::net::SocketAddr) {
    let child = Command::new(env!("CARGO_BIN_EXE_candor-server"))
        .args(["--addr", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("candor-server starts");
    let mut child = KillOnDrop(child);
    // The bound address is logged once listening.
    let stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(addr) = line.split("addr=").nth(1) {
                let _ = tx.send(addr.split_whitespace().next().unwrap_or("").to_owned());
            }
        }
    });
    let addr = rx
        .recv_timeout(WAIT)
        .expect("server logs its address")
        .parse()
        .unwrap();
    (child, addr)
}

#[tokio::test]
async fn acknowledged_audio_survives_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = spawn_server(dir.path(), &[]);
    let api = Api::new(addr);
    let auth = api.register("kay@example.org").await;
    let interview = api.create_interview(&auth.token, 1).await;
    let mut ws = connect(addr).await;
    send(&mut ws, start_request(&auth.token, &interview.id)).await;
    let Some(ServerPayload::StartResponse(sr)) = recv(&mut ws).await.unwrap().payload else {
        panic!()
    };
    let frames: Vec<bytes::Bytes> = (0..200u32)
        .map(|i| bytes::Bytes::from(format!("pcm-{i:05}").into_bytes()))
        .collect();
    let mut acked = 0;
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    let mut sent = 0u64;
    // Stream until something is acknowledged and more is in flight.
    while acked < 60 || sent < 120 {
        tokio::select! {
            _ = tick.tick(), if sent < 200 => {
                sent += 1;
                send(&mut ws, audio(sent, frames[sent as usize - 1].clone())).await;
            }
            msg = recv(&mut ws) => {
                if let Some(ServerPayload::AudioAck(a)) = msg.expect("open").payload {
                    acked = acked.max(a.seq);
                }
            }
        }
    }
    child.0.kill().expect("SIGKILL");
    child.0.wait().unwrap();

    let store = SqliteStore::open(dir.path()).unwrap();
    let stored = store.candidate_audio(&sr.session_id).unwrap();
    assert!(
        stored.len() as u64 >= acked,
        "{} stored, {acked} acknowledged",
        stored.len()
    );
    for (i, (seq, data)) in stored.iter().enumerate() {
        assert_eq!(*seq, i as u64 + 1, "in order, no gaps, no repeats");
        assert_eq!(data.as_slice(), frames[i].as_ref());
    }
    assert!(
        store
            .session(&sr.session_id)
            .unwrap()
            .unwrap()
            .end_reason
            .is_none()
    );
    drop(store);

    // The next server keeps the session resumable for the resume grace
    // after the dead server's lease ran out; no client comes back, so it
    // ends the session and computes its results.
    let mut config = fast_config(dir.path());
    config.limits.resume_grace = Duration::from_secs(1);
    let server = candor_server::Server::start(config).await.unwrap();
    let api = Api::new(server.addr());
    let deadline = tokio::time::Instant::now() + WAIT;
    let res = loop {
        let res: serde_json::Value = api
            .http
            .get(api.url(&format!("/v1/interviews/{}/results", interview.id)))
            .bearer_auth(&auth.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if res["status"] != "processing" || tokio::time::Instant::now() > deadline {
            break res;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(res["status"], "ready", "{res}");
    assert_eq!(res["feedback"]["end_reason"], "idle_timeout");
    server.shutdown().await;
}

/// Speech at the microphone, 20 ms Opus frames: the interviewer's voice
/// coming back from the speakers.
fn echo_frames() -> Vec<bytes::Bytes> {
    let speech =
        candor_voice::speak("Tell me about a project you led and what came of it.", 170).unwrap();
    let pcm = candor_audio::clip::resample(&speech.samples, speech.rate_hz, 16_000).unwrap();
    candor_server::voice::encode_clip(candor_audio::Codec::Opus, 16_000, &pcm).unwrap()
}

/// Kill the server in the middle of the interviewer's turn: the server the
/// client resumes on says the rest of the turn — not again what was already
/// sent — under the seqs that follow the client's, and every interviewer
/// chunk is stored once. Meanwhile the microphone carries the interviewer's
/// echo, which the client marks as no voice (`voice_activity: false`): the
/// successor hears the frames stored after the last save as the client
/// marked them, so the echo is no barge-in there either.
#[tokio::test]
async fn a_crash_in_the_middle_of_the_interviewers_turn_repeats_none_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = spawn_server(dir.path(), &[("CANDOR_SESSION_LEASE_MS", "600")]);
    let api = Api::new(addr);
    let auth = api.register("lee@example.org").await;
    let interview = api.create_interview(&auth.token, 1).await;
    let mut ws = connect(addr).await;
    send(&mut ws, start_request(&auth.token, &interview.id)).await;
    let Some(ServerPayload::StartResponse(sr)) = recv(&mut ws).await.unwrap().payload else {
        panic!()
    };
    let silence = silence_frames(1).remove(0);
    let echo = echo_frames();
    let echo_chunk = |seq: u64| candor_protocol::AudioChunk {
        voice_activity: false,
        ..audio(seq, echo[seq as usize % echo.len()].clone())
    };
    let mut sent = 0u64;
    // Interviewer chunks received: (seq, due µs, data).
    let mut heard: Vec<(u64, u64, bytes::Bytes)> = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    // Well into the greeting, past the state saved when it began.
    while heard.len() < 40 {
        assert!(tokio::time::Instant::now() < deadline, "no greeting");
        tokio::select! {
            _ = tick.tick() => {
                sent += 1;
                send(&mut ws, echo_chunk(sent)).await;
            }
            msg = recv(&mut ws) => {
                if let Some(ServerPayload::AudioChunk(c)) = msg.expect("open").payload {
                    heard.push((c.seq, c.timestamp_us, c.data));
                }
            }
        }
    }
    child.0.kill().expect("SIGKILL");
    child.0.wait().unwrap();
    let (last_seq, last_due) = heard.last().map(|(s, d, _)| (*s, *d)).unwrap();

    // Another server on the same data takes the session over once the dead
    // one's lease has run out.
    let mut config = candor_server::Config::new("127.0.0.1:0".parse().unwrap(), dir.path());
    config.limits.session_lease = Duration::from_millis(600);
    let server = candor_server::Server::start(config).await.unwrap();
    let mut ws = connect(server.addr()).await;
    let mut req = start_request(&auth.token, &interview.id);
    req.resume = Some(candor_protocol::ResumeRequest {
        session_id: sr.session_id.clone(),
        last_server_seq: last_seq,
        captured_seq: sent,
    });
    send(&mut ws, req).await;
    let answer = recv(&mut ws).await.expect("an answer");
    let Some(ServerPayload::StartResponse(resumed)) = answer.payload else {
        panic!("the session continues: {answer:?}")
    };
    assert!(resumed.resumed);
    for seq in resumed.last_client_seq + 1..=sent {
        send(&mut ws, echo_chunk(seq)).await;
    }
    let mut after: Vec<(u64, u64, bytes::Bytes)> = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the turn never ended"
        );
        tokio::select! {
            _ = tick.tick() => {
                sent += 1;
                send(&mut ws, audio(sent, silence.clone())).await;
            }
            msg = recv(&mut ws) => match msg.expect("open").payload {
                Some(ServerPayload::AudioChunk(c)) => after.push((c.seq, c.timestamp_us, c.data)),
                Some(ServerPayload::Interrupted(_)) => panic!("the echo cut the interviewer off"),
                Some(ServerPayload::InterviewerState(s))
                    if s.activity == candor_protocol::InterviewerActivity::Listening as i32 => break,
                _ => {}
            },
        }
    }
    server.shutdown().await;

    // The turn goes on where the client's audio stopped: the next seq, the
    // next 20 ms of the turn, nothing said twice.
    let seqs: Vec<u64> = after.iter().map(|(s, _, _)| *s).collect();
    assert_eq!(
        seqs,
        (last_seq + 1..=last_seq + after.len() as u64).collect::<Vec<_>>(),
        "the seqs after the client's, each once"
    );
    assert_eq!(after[0].1, last_due + 20_000, "the next frame of the turn");
    for w in after.windows(2) {
        assert!(w[1].1 >= w[0].1 + 20_000, "no stretch said twice: {w:?}");
    }
    // Stored once each, as the client heard them (what the dead server
    // sent but had not stored, stored by its successor saying it again).
    let store = SqliteStore::open(dir.path()).unwrap();
    let stored = store.interviewer_frames(&sr.session_id).unwrap();
    let stored_seqs: Vec<u64> = stored.iter().map(|f| f.seq).collect();
    assert_eq!(
        stored_seqs,
        (1..=last_seq + after.len() as u64).collect::<Vec<_>>()
    );
    for (seq, _, data) in heard.iter().chain(&after) {
        assert_eq!(
            &stored[*seq as usize - 1].data[..],
            &data[..],
            "chunk {seq}"
        );
    }
    // The echo was never the candidate speaking.
    let timeline = store.timeline(&sr.session_id).unwrap().unwrap();
    assert!(timeline.speech.is_empty(), "{:?}", timeline.speech);
}
