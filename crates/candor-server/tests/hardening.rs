//! Abuse resistance on loopback: session time limits that a client cannot
//! stretch, oversize frames, media-rate enforcement, sign-in throttling, the
//! embedded backend's lock and file modes. Every wait is bounded.

mod common;

use std::time::Duration;

use candor_protocol::{Codec, EndReason, ErrorCode, ResumeRequest, ServerPayload};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use common::*;

#[tokio::test]
async fn a_4_mib_frame_gets_frame_too_large_and_a_close_frame() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let api = Api::new(server.addr());
    let auth = api.register("big@example.org").await;

    for started in [false, true] {
        let mut ws = connect(server.addr()).await;
        if started {
            let interview = api.create_interview(&auth.token, 1).await;
            send(&mut ws, start_request(&auth.token, &interview.id)).await;
            assert!(matches!(
                recv(&mut ws).await.unwrap().payload,
                Some(ServerPayload::StartResponse(_))
            ));
        }
        let (mut sink, mut stream) = ws.split();
        // The server stops reading at the frame's header; the rest of the
        // write may fail once it closes.
        let writer = tokio::spawn(async move {
            let _ = sink.send(Message::Binary(vec![7u8; 4 << 20].into())).await;
        });
        let mut error = None;
        let mut close = None;
        let _ = tokio::time::timeout(WAIT, async {
            while let Some(m) = stream.next().await {
                let Ok(m) = m else { break };
                match m {
                    Message::Binary(b) => {
                        let msg = Codec::default().decode_server(&b).unwrap();
                        if let Some(ServerPayload::Error(e)) = msg.payload {
                            error = Some(e);
                        }
                    }
                    Message::Close(f) => {
                        close = f;
                        break;
                    }
                    _ => {}
                }
            }
        })
        .await;
        writer.abort();
        let error = error.expect("an Error before the close");
        assert_eq!(error.code, ErrorCode::FrameTooLarge as i32, "{error:?}");
        assert!(!error.retryable);
        let close = close.expect("a close frame");
        assert_eq!(u16::from(close.code), 1009, "close code 'message too big'");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn the_time_limit_counts_the_wall_clock_across_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = fast_config(dir.path());
    config.limits.max_session = Duration::from_millis(2000);
    config.limits.resume_grace = Duration::from_secs(5);
    let server = candor_server::Server::start(config).await.unwrap();
    let api = Api::new(server.addr());
    let auth = api.register("stretch@example.org").await;
    let interview = api.create_interview(&auth.token, 1).await;
    let t0 = std::time::Instant::now();
    let mut ws = connect(server.addr()).await;
    send(&mut ws, start_request(&auth.token, &interview.id)).await;
    let Some(ServerPayload::StartResponse(started)) = recv(&mut ws).await.unwrap().payload else {
        panic!("no StartResponse");
    };
    // Drop and resume every 300 ms, staying away most of the time: the
    // conversation clock stands still while detached, the limit does not.
    loop {
        drop(ws);
        tokio::time::sleep(Duration::from_millis(250)).await;
        ws = connect(server.addr()).await;
        let mut req = start_request(&auth.token, &interview.id);
        req.resume = Some(ResumeRequest {
            session_id: started.session_id.clone(),
            last_server_seq: 0,
            captured_seq: 0,
        });
        send(&mut ws, req).await;
        let deadline = tokio::time::Instant::now() + Duration::from_millis(50);
        let mut over = false;
        while let Ok(Some(m)) = tokio::time::timeout_at(deadline, recv(&mut ws)).await {
            match m.payload {
                Some(ServerPayload::SessionEnded(e)) => {
                    assert_eq!(e.reason, EndReason::TimeLimit as i32);
                    over = true;
                }
                // The session ended while detached: no longer resumable.
                Some(ServerPayload::Error(e)) => {
                    assert_eq!(e.code, ErrorCode::NotFound as i32, "{e:?}");
                    over = true;
                }
                _ => {}
            }
        }
        if over {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(8),
            "the limit never came"
        );
    }
    let elapsed = t0.elapsed();
    assert!(
        elapsed >= Duration::from_millis(1900) && elapsed < Duration::from_secs(4),
        "ended after {elapsed:?}"
    );
    let res = wait_results(&api, &auth.token, &interview.id).await;
    assert_eq!(res["feedback"]["end_reason"], "time_limit", "{res}");
    server.shutdown().await;
}
