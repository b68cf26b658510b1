//! Protocol conformance on loopback with a raw WebSocket client.

mod common;

use std::time::Duration;

use candor_protocol::{
    AudioAck, EndReason, EndRequest, ErrorCode, InterviewerActivity, ResumeRequest, ServerPayload,
};
use candor_server::store::{SqliteStore, Store};
use common::*;

#[tokio::test]
async fn happy_path_start_stream_end() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let api = Api::new(server.addr());
    let auth = api.register("ada@example.org").await;
    let interview = api.create_interview(&auth.token, 2).await;

    let mut ws = connect(server.addr()).await;
    send(&mut ws, start_request(&auth.token, &interview.id)).await;
    let msg = recv(&mut ws).await.unwrap();
    let Some(ServerPayload::StartResponse(sr)) = msg.payload else {
        panic!("{msg:?}")
    };
    assert!(!sr.session_id.is_empty());
    assert!(!sr.resumed);
    assert_eq!(sr.last_client_seq, 0);
    assert_eq!(sr.planned_questions, 2);
    assert_eq!(sr.engine, "practice");
    let out = sr.audio_config.unwrap();
    assert_eq!(
        (
            out.codec,
            out.sample_rate_hz,
            out.channels,
            out.frame_duration_ms
        ),
        (1, 24_000, 1, 20)
    );
    let limits = sr.limits.unwrap();
    assert_eq!(limits.max_frame_bytes, 64 * 1024);
    assert_eq!(limits.resume_grace_ms, 5000);
    assert!(server.interview_is_live(&interview.id));

    // 1.5 s of silence at real-time pace while the interviewer greets.
    let frames = silence_frames(75);
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let (mut chunks, mut speaking, mut partial, mut max_ack) = (0, false, false, 0);
    for (i, f) in frames.into_iter().enumerate() {
        tick.tick().await;
        send(&mut ws, audio(i as u64 + 1, f)).await;
    }
    // Drain what arrived, then wait for the acks to cover everything sent.
    while max_ack < 75 {
        let msg = recv(&mut ws).await.expect("socket open");
        match msg.payload.unwrap() {
            ServerPayload::AudioChunk(c) => {
                chunks += 1;
                assert_eq!(c.seq, chunks, "interviewer audio in order");
            }
            ServerPayload::InterviewerState(s) => {
                speaking |= s.activity == InterviewerActivity::Speaking as i32
            }
            ServerPayload::PartialTranscript(t) => partial |= !t.text.is_empty(),
            ServerPayload::AudioAck(a) => {
                assert!(a.seq >= max_ack, "acks never go back");
                max_ack = a.seq;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(chunks > 10, "the interviewer speaks ({chunks} chunks)");
    assert!(speaking && partial);
    send(&mut ws, AudioAck { seq: chunks }).await;

    send(&mut ws, EndRequest {}).await;
    let ended = loop {
        let msg = recv(&mut ws).await.expect("SessionEnded before close");
        if let Some(ServerPayload::SessionEnded(e)) = msg.payload {
            break e;
        }
    };
    assert_eq!(ended.reason, EndReason::UserInitiated as i32);
    assert_eq!(ended.last_client_seq, 75);
    assert!(ended.results_pending);
    assert!(recv(&mut ws).await.is_none(), "closed after SessionEnded");
    server.shutdown().await;
}

#[tokio::test]
async fn bad_starts_get_clear_errors_and_the_server_stays_healthy() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let api = Api::new(server.addr());
    let alice = api.register("alice@example.org").await;
    let bob = api.register("bob@example.org").await;
    let alices = api.create_interview(&alice.token, 1).await;

    // Unknown token.
    let mut ws = connect(server.addr()).await;
    send(&mut ws, start_request("cnd_not-a-token", &alices.id)).await;
    expect_error_and_close(&mut ws, ErrorCode::Unauthenticated).await;

    // Someone else's interview.
    let mut ws = connect(server.addr()).await;
    send(&mut ws, start_request(&bob.token, &alices.id)).await;
    expect_error_and_close(&mut ws, ErrorCode::PermissionDenied).await;

    // Unknown interview.
    let mut ws = connect(server.addr()).await;
    send(&mut ws, start_request(&alice.token, "0000")).await;
    expect_error_and_close(&mut ws, ErrorCode::NotFound).await;

    // Garbage first frame.
    let mut ws = connect(server.addr()).await;
    send_raw(&mut ws, vec![0xff, 0xfe, 0x00, 0x13, 0x37]).await;
    expect_error_and_close(&mut ws, ErrorCode::Malformed).await;

    // Oversize frame.
    let mut ws = connect(server.addr()).await;
    send_raw(&mut ws, vec![0u8; 100 * 1024]).await;
    expect_error_and_close(&mut ws, ErrorCode::FrameTooLarge).await;

    // Audio before StartRequest.
    let mut ws = connect(server.addr()).await;
    send(&mut ws, audio(1, silence_frames(1).remove(0))).await;
    expect_error_and_close(&mut ws, ErrorCode::OutOfOrder).await;

    // Unsupported audio.
    let mut ws = connect(server.addr()).await;
    let mut req = start_request(&alice.token, &alices.id);
    req.audio_config.as_mut().unwrap().channels = 2;
    send(&mut ws, req).await;
    expect_error_and_close(&mut ws, ErrorCode::UnsupportedAudio).await;

    // Resume of an unknown session.
    let mut ws = connect(server.addr()).await;
    let mut req = start_request(&alice.token, &alices.id);
    req.resume = Some(ResumeRequest {
        session_id: "nope".into(),
        last_server_seq: 0,
        captured_seq: 0,
    });
    send(&mut ws, req).await;
    expect_error_and_close(&mut ws, ErrorCode::NotFound).await;

    // Silence past the start deadline (600 ms in tests).
    let mut ws = connect(server.addr()).await;
    let t0 = std::time::Instant::now();
    expect_error_and_close(&mut ws, ErrorCode::StartTimeout).await;
    assert!(t0.elapsed() >= Duration::from_millis(500));

    // A good session still works, and a gap in audio seqs is an error.
    let mut ws = connect(server.addr()).await;
    send(&mut ws, start_request(&alice.token, &alices.id)).await;
    let msg = recv(&mut ws).await.unwrap();
    assert!(
        matches!(msg.payload, Some(ServerPayload::StartResponse(_))),
        "{msg:?}"
    );
    // A second session of the same interview is refused while this one is live.
    let mut ws2 = connect(server.addr()).await;
    send(&mut ws2, start_request(&alice.token, &alices.id)).await;
    expect_error_and_close(&mut ws2, ErrorCode::FailedPrecondition).await;

    let f = silence_frames(3);
    send(&mut ws, audio(1, f[0].clone())).await;
    send(&mut ws, audio(3, f[2].clone())).await;
    loop {
        let msg = recv(&mut ws).await.expect("an Error before the close");
        if let Some(ServerPayload::Error(e)) = msg.payload {
            assert_eq!(e.code, ErrorCode::OutOfOrder as i32);
            break;
        }
    }
    while recv(&mut ws).await.is_some() {}
    server.shutdown().await;
}

#[tokio::test]
async fn oversize_frame_mid_session_ends_it_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let api = Api::new(server.addr());
    let auth = api.register("carol@example.org").await;
    let interview = api.create_interview(&auth.token, 1).await;
    let mut ws = connect(server.addr()).await;
    send(&mut ws, start_request(&auth.token, &interview.id)).await;
    assert!(matches!(
        recv(&mut ws).await.unwrap().payload,
        Some(ServerPayload::StartResponse(_))
    ));
    send(&mut ws, audio(1, bytes::Bytes::from(vec![1u8; 70 * 1024]))).await;
    loop {
        let msg = recv(&mut ws).await.expect("an Error before the close");
        if let Some(ServerPayload::Error(e)) = msg.payload {
            assert_eq!(e.code, ErrorCode::FrameTooLarge as i32);
            break;
        }
    }
    while recv(&mut ws).await.is_some() {}
    // The next interview starts fine.
    let next = api.create_interview(&auth.token, 1).await;
    let mut ws = connect(server.addr()).await;
    send(&mut ws, start_request(&auth.token, &next.id)).await;
    assert!(matches!(
        recv(&mut ws).await.unwrap().payload,
        Some(ServerPayload::StartResponse(_))
    ));
    server.shutdown().await;
}

/// Drops the socket mid-stream, with frames "in flight" that never reached
/// the server; resumes, replays from the server's `last_client_seq` (plus a
/// few duplicates) and checks every frame is stored exactly once, in order,
/// and that the interviewer audio continues without a gap.
#[tokio::test]
async fn resume_after_a_dropped_socket_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let api = Api::new(server.addr());
    let auth = api.register("dan@example.org").await;
    let interview = api.create_interview(&auth.token, 1).await;
    let frames: Vec<bytes::Bytes> = (0..120u32)
        .map(|i| bytes::Bytes::from(format!("frame-{i:04}").into_bytes()))
        .collect();
    // Not real Opus: the decoder conceals garbage, and storage keeps bytes as sent.

    let mut ws = connect(server.addr()).await;
    send(&mut ws, start_request(&auth.token, &interview.id)).await;
    let Some(ServerPayload::StartResponse(sr)) = recv(&mut ws).await.unwrap().payload else {
        panic!()
    };
    let session_id = sr.session_id.clone();
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut server_seq = 0;
    for seq in 1..=50u64 {
        tick.tick().await;
        send(&mut ws, audio(seq, frames[seq as usize - 1].clone())).await;
    }
    // Take some interviewer audio and wait until the server holds all 50
    // frames (so the resume point is known), then cut the connection.
    let mut acked = 0;
    while server_seq < 10 || acked < 50 {
        let msg = recv(&mut ws)
            .await
            .expect("interviewer audio and acks before the cut");
        match msg.payload {
            Some(ServerPayload::AudioChunk(c)) => {
                assert_eq!(c.seq, server_seq + 1);
                server_seq = c.seq;
            }
            Some(ServerPayload::AudioAck(a)) => acked = acked.max(a.seq),
            _ => {}
        }
    }
    drop(ws);
    // Frames 51..=60 were "sent" into the dead socket: never received.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        server.interview_is_live(&interview.id),
        "session kept for resume"
    );

    let mut ws = connect(server.addr()).await;
    let mut req = start_request(&auth.token, &interview.id);
    req.resume = Some(ResumeRequest {
        session_id: session_id.clone(),
        last_server_seq: server_seq,
        captured_seq: 0,
    });
    send(&mut ws, req).await;
    let Some(ServerPayload::StartResponse(sr)) = recv(&mut ws).await.unwrap().payload else {
        panic!()
    };
    assert!(sr.resumed);
    assert_eq!(sr.session_id, session_id);
    assert_eq!(sr.last_client_seq, 50);
    // Replay: two duplicates, then everything after last_client_seq.
    send(&mut ws, audio(49, frames[48].clone())).await;
    send(&mut ws, audio(50, frames[49].clone())).await;
    for seq in 51..=120u64 {
        tick.tick().await;
        send(&mut ws, audio(seq, frames[seq as usize - 1].clone())).await;
    }
    let mut max_ack = 0;
    let mut resent_first = None;
    while max_ack < 120 {
        let msg = recv(&mut ws).await.expect("socket open");
        match msg.payload.unwrap() {
            ServerPayload::AudioChunk(c) => {
                resent_first.get_or_insert(c.seq);
                assert_eq!(
                    c.seq,
                    server_seq + 1,
                    "server audio resumes without gap or repeat"
                );
                server_seq = c.seq;
            }
            ServerPayload::AudioAck(a) => max_ack = max_ack.max(a.seq),
            _ => {}
        }
    }
    send(&mut ws, EndRequest {}).await;
    while let Some(msg) = recv(&mut ws).await {
        if let Some(ServerPayload::SessionEnded(e)) = msg.payload {
            assert_eq!(e.last_client_seq, 120);
        }
    }
    assert!(server.metrics().duplicates_dropped.get() >= 2);
    server.shutdown().await;

    let store = SqliteStore::open(dir.path()).unwrap();
    let stored = store.candidate_audio(&session_id).unwrap();
    let seqs: Vec<u64> = stored.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        seqs,
        (1..=120).collect::<Vec<_>>(),
        "every frame exactly once, in order"
    );
    for (seq, data) in stored {
        assert_eq!(data, frames[seq as usize - 1].as_ref());
    }
    assert_eq!(
        store.session(&session_id).unwrap().unwrap().last_client_seq,
        120
    );
}

#[tokio::test]
async fn shutdown_ends_live_sessions_with_server_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let api = Api::new(server.addr());
    let auth = api.register("erin@example.org").await;
    let interview = api.create_interview(&auth.token, 1).await;
    let mut ws = connect(server.addr()).await;
    send(&mut ws, start_request(&auth.token, &interview.id)).await;
    assert!(matches!(
        recv(&mut ws).await.unwrap().payload,
        Some(ServerPayload::StartResponse(_))
    ));
    let stopping = tokio::spawn(server.shutdown());
    let ended = loop {
        let msg = recv(&mut ws).await.expect("SessionEnded before close");
        if let Some(ServerPayload::SessionEnded(e)) = msg.payload {
            break e;
        }
    };
    assert_eq!(ended.reason, EndReason::ServerShutdown as i32);
    assert!(recv(&mut ws).await.is_none());
    tokio::time::timeout(WAIT, stopping).await.unwrap().unwrap();

    // After a restart the interview's results are there (processing → ready).
    let server = start(dir.path()).await;
    let api = Api::new(server.addr());
    let res = wait_results(&api, &auth.token, &interview.id).await;
    assert_eq!(res["status"], "ready", "{res}");
    assert_eq!(res["feedback"]["end_reason"], "server_shutdown");
    server.shutdown().await;
}

#[tokio::test]
async fn idle_socket_is_dropped_then_the_session_ends_after_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = fast_config(dir.path());
    config.limits.idle_timeout = Duration::from_millis(400);
    config.limits.resume_grace = Duration::from_millis(400);
    let server = candor_server::Server::start(config).await.unwrap();
    let api = Api::new(server.addr());
    let auth = api.register("ivy@example.org").await;
    let interview = api.create_interview(&auth.token, 1).await;
    let mut ws = connect(server.addr()).await;
    send(&mut ws, start_request(&auth.token, &interview.id)).await;
    assert!(matches!(
        recv(&mut ws).await.unwrap().payload,
        Some(ServerPayload::StartResponse(_))
    ));
    // Send nothing: the server drops the socket (no SessionEnded: it is resumable).
    while let Some(msg) = recv(&mut ws).await {
        assert!(!matches!(msg.payload, Some(ServerPayload::SessionEnded(_))));
    }
    // Not resumed within the grace period: ended with idle_timeout, results follow.
    let res = wait_until_not_live(&server, &interview.id).await;
    assert!(res, "session ended after the grace period");
    let res = wait_results(&api, &auth.token, &interview.id).await;
    assert_eq!(res["status"], "ready", "{res}");
    assert_eq!(res["feedback"]["end_reason"], "idle_timeout");
    server.shutdown().await;
}

#[tokio::test]
async fn a_resume_that_comes_after_the_session_ended_is_told_how_it_ended() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = fast_config(dir.path());
    config.limits.resume_grace = Duration::from_millis(300);
    let server = candor_server::Server::start(config).await.unwrap();
    let api = Api::new(server.addr());
    let auth = api.register("uma@example.org").await;
    let interview = api.create_interview(&auth.token, 1).await;
    let mut ws = connect(server.addr()).await;
    send(&mut ws, start_request(&auth.token, &interview.id)).await;
    let Some(ServerPayload::StartResponse(sr)) = recv(&mut ws).await.unwrap().payload else {
        panic!("no StartResponse")
    };
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    for (seq, frame) in (1..=5u64).zip(silence_frames(5)) {
        tick.tick().await;
        send(&mut ws, audio(seq, frame)).await;
    }
    // Wait until the five frames are stored, then drop the connection and
    // stay away past the grace period.
    let mut acked = 0;
    while acked < 5 {
        let msg = recv(&mut ws).await.expect("acks before the cut");
        if let Some(ServerPayload::AudioAck(a)) = msg.payload {
            acked = acked.max(a.seq);
        }
    }
    drop(ws);
    assert!(wait_until_not_live(&server, &interview.id).await);

    let mut ws = connect(server.addr()).await;
    let mut req = start_request(&auth.token, &interview.id);
    req.resume = Some(ResumeRequest {
        session_id: sr.session_id.clone(),
        last_server_seq: 0,
        captured_seq: 5,
    });
    send(&mut ws, req).await;
    let msg = recv(&mut ws).await.expect("an answer");
    let Some(ServerPayload::SessionEnded(ended)) = msg.payload else {
        panic!("expected SessionEnded, got {msg:?}")
    };
    assert_eq!(ended.reason(), EndReason::IdleTimeout);
    assert!(ended.results_pending);
    assert_eq!(ended.last_client_seq, 5);
    assert!(
        ended.message.contains("while you were reconnecting"),
        "{}",
        ended.message
    );
    assert!(recv(&mut ws).await.is_none(), "then the socket closes");

    // Someone else's resume of it is still refused, and an unknown id is
    // still unknown.
    let other = api.register("vic@example.org").await;
    let others = api.create_interview(&other.token, 1).await;
    let mut ws = connect(server.addr()).await;
    let mut req = start_request(&other.token, &others.id);
    req.resume = Some(ResumeRequest {
        session_id: sr.session_id,
        last_server_seq: 0,
        captured_seq: 0,
    });
    send(&mut ws, req).await;
    expect_error_and_close(&mut ws, ErrorCode::PermissionDenied).await;
    let res = wait_results(&api, &auth.token, &interview.id).await;
    assert_eq!(res["status"], "ready", "{res}");
    server.shutdown().await;
}

/// A client that reconnects just as its interview ends (its `EndRequest`
/// and the resume cross) is always answered: resumed, or told how the
/// session ended — never a socket closed without a word, never "unknown".
#[tokio::test]
async fn a_resume_that_crosses_the_end_is_answered() {
    let dir = tempfile::tempdir().unwrap();
    let server = candor_server::Server::start(fast_config(dir.path()))
        .await
        .unwrap();
    let api = Api::new(server.addr());
    let auth = api.register("wyn@example.org").await;
    // Rounds cross the two at different moments of the server's ending.
    for round in 0..12u64 {
        let interview = api.create_interview(&auth.token, 1).await;
        let mut ws = connect(server.addr()).await;
        send(&mut ws, start_request(&auth.token, &interview.id)).await;
        let Some(ServerPayload::StartResponse(sr)) = recv(&mut ws).await.unwrap().payload else {
            panic!("no StartResponse")
        };
        for (seq, frame) in (1..=3u64).zip(silence_frames(3)) {
            send(&mut ws, audio(seq, frame)).await;
        }
        // The end, and at once a resume on a second socket, as a client
        // whose first socket seemed dead would send it.
        send(&mut ws, EndRequest {}).await;
        tokio::time::sleep(Duration::from_millis(round * round)).await;
        let mut again = connect(server.addr()).await;
        let mut req = start_request(&auth.token, &interview.id);
        req.resume = Some(ResumeRequest {
            session_id: sr.session_id.clone(),
            last_server_seq: 0,
            captured_seq: 3,
        });
        send(&mut again, req).await;
        let first = recv(&mut again)
            .await
            .unwrap_or_else(|| panic!("round {round}: the resume got no answer at all"));
        match first.payload {
            Some(ServerPayload::SessionEnded(e)) => {
                println!("round {round}: told it ended");
                assert!(e.results_pending, "round {round}: {e:?}");
                assert_eq!(e.last_client_seq, 3, "round {round}");
            }
            Some(ServerPayload::StartResponse(_)) => {
                // Resumed before the end was read: end it from here.
                println!("round {round}: resumed");
                send(&mut again, EndRequest {}).await;
                let mut ended = false;
                while let Some(msg) = recv(&mut again).await {
                    ended |= matches!(msg.payload, Some(ServerPayload::SessionEnded(_)));
                }
                assert!(ended, "round {round}: the resumed session never ended");
            }
            other => panic!("round {round}: the resume was answered with {other:?}"),
        }
        let res = wait_results(&api, &auth.token, &interview.id).await;
        assert_eq!(res["status"], "ready", "round {round}: {res}");
    }
    server.shutdown().await;
}

async fn wait_until_not_live(server: &candor_server::RunningServer, id: &str) -> bool {
    let deadline = tokio::time::Instant::now() + WAIT;
    while tokio::time::Instant::now() < deadline {
        if !server.interview_is_live(id) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test]
async fn concurrent_sessions_per_user_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await; // default bound: 2 per user
    let api = Api::new(server.addr());
    let auth = api.register("jo@example.org").await;
    let mut live = Vec::new();
    for _ in 0..2 {
        let iv = api.create_interview(&auth.token, 1).await;
        let mut ws = connect(server.addr()).await;
        send(&mut ws, start_request(&auth.token, &iv.id)).await;
        assert!(matches!(
            recv(&mut ws).await.unwrap().payload,
            Some(ServerPayload::StartResponse(_))
        ));
        live.push(ws);
    }
    let iv = api.create_interview(&auth.token, 1).await;
    let mut ws = connect(server.addr()).await;
    send(&mut ws, start_request(&auth.token, &iv.id)).await;
    let msg = recv(&mut ws).await.unwrap();
    let Some(ServerPayload::Error(e)) = msg.payload else {
        panic!("{msg:?}")
    };
    assert_eq!(e.code, ErrorCode::ResourceExhausted as i32);
    assert!(e.retryable);
    assert!(recv(&mut ws).await.is_none());
    // Another user is not affected.
    let other = api.register("kim@example.org").await;
    let iv = api.create_interview(&other.token, 1).await;
    let mut ws = connect(server.addr()).await;
    send(&mut ws, start_request(&other.token, &iv.id)).await;
    assert!(matches!(
        recv(&mut ws).await.unwrap().payload,
        Some(ServerPayload::StartResponse(_))
    ));
    server.shutdown().await;
}

#[tokio::test]
async fn a_speaking_rate_the_voice_cannot_produce_is_a_clear_startup_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = fast_config(dir.path());
    config.practice.words_per_minute = 5;
    let err = candor_server::Server::start(config)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("voice") && err.contains("5 words per minute"),
        "{err}"
    );
}

#[tokio::test]
async fn pcm16_both_ways_when_the_client_cannot_decode_opus() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let api = Api::new(server.addr());
    let auth = api.register("lee@example.org").await;
    let interview = api.create_interview(&auth.token, 1).await;
    let mut ws = connect(server.addr()).await;
    let mut req = start_request(&auth.token, &interview.id);
    req.audio_config = Some(candor_protocol::AudioConfig::pcm16_mono(16_000));
    req.accepted_codecs = vec![candor_protocol::AudioCodec::Pcm16 as i32];
    send(&mut ws, req).await;
    let Some(ServerPayload::StartResponse(sr)) = recv(&mut ws).await.unwrap().payload else {
        panic!()
    };
    let out = sr.audio_config.unwrap();
    assert_eq!(out.codec, candor_protocol::AudioCodec::Pcm16 as i32);
    send(&mut ws, audio(1, bytes::Bytes::from(vec![0u8; 640]))).await;
    let chunk = loop {
        if let Some(ServerPayload::AudioChunk(c)) = recv(&mut ws).await.unwrap().payload {
            break c;
        }
    };
    // 20 ms of 16-bit mono at the output rate.
    assert_eq!(chunk.data.len(), out.sample_rate_hz as usize / 50 * 2);
    server.shutdown().await;
}

#[tokio::test]
async fn time_limit_ends_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = fast_config(dir.path());
    config.limits.max_session = Duration::from_millis(800);
    let server = candor_server::Server::start(config).await.unwrap();
    let api = Api::new(server.addr());
    let auth = api.register("max@example.org").await;
    let interview = api.create_interview(&auth.token, 1).await;
    let mut ws = connect(server.addr()).await;
    send(&mut ws, start_request(&auth.token, &interview.id)).await;
    let ended = loop {
        let msg = recv(&mut ws).await.expect("SessionEnded before close");
        if let Some(ServerPayload::SessionEnded(e)) = msg.payload {
            break e;
        }
    };
    assert_eq!(ended.reason, EndReason::TimeLimit as i32);
    assert!(recv(&mut ws).await.is_none());
    server.shutdown().await;
}

#[tokio::test]
async fn only_the_owner_can_resume_a_session() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let api = Api::new(server.addr());
    let owner = api.register("nia@example.org").await;
    let other = api.register("oz@example.org").await;
    let interview = api.create_interview(&owner.token, 1).await;
    let mut ws = connect(server.addr()).await;
    send(&mut ws, start_request(&owner.token, &interview.id)).await;
    let Some(ServerPayload::StartResponse(sr)) = recv(&mut ws).await.unwrap().payload else {
        panic!()
    };
    drop(ws);
    let others = api.create_interview(&other.token, 1).await;
    let mut ws = connect(server.addr()).await;
    let mut req = start_request(&other.token, &others.id);
    req.resume = Some(ResumeRequest {
        session_id: sr.session_id.clone(),
        last_server_seq: 0,
        captured_seq: 0,
    });
    send(&mut ws, req).await;
    expect_error_and_close(&mut ws, ErrorCode::PermissionDenied).await;
    // The owner still can.
    let mut ws = connect(server.addr()).await;
    let mut req = start_request(&owner.token, &interview.id);
    req.resume = Some(ResumeRequest {
        session_id: sr.session_id,
        last_server_seq: 0,
        captured_seq: 0,
    });
    send(&mut ws, req).await;
    let Some(ServerPayload::StartResponse(sr)) = recv(&mut ws).await.unwrap().payload else {
        panic!()
    };
    assert!(sr.resumed);
    server.shutdown().await;
}
