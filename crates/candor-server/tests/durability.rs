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

#[tokio::test]
async fn acknowledged_audio_survives_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_candor-server"))
        .args(["--addr", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
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
    let addr: std::net::SocketAddr = rx
        .recv_timeout(WAIT)
        .expect("server logs its address")
        .parse()
        .unwrap();

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
