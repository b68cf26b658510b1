//! Metrics on the audio's own clock: the same answers, uncut and with a 3 s
//! and a 20 s network cut in the middle of the first answer, give the same
//! speaking time, pauses and per-question response latency (within one
//! frame) and the same questions.
//!
//! The candidate is a protocol client that streams 20 ms Opus frames in real
//! time, stamped with their capture time, and answers each question when the
//! interviewer starts listening. During a cut it keeps capturing into its
//! backlog, as the desktop client does; on resume it announces the backlog
//! (`ResumeRequest.captured_seq`) and sends it in one burst.

mod common;

use std::time::Duration;

use bytes::Bytes;
use candor_api::Feedback;
use candor_protocol::{InterviewerActivity, ResumeRequest, ServerPayload};
use common::*;

const FRAME_MS: u64 = 20;

/// One answer: speech, a 1.3 s thinking pause, more speech.
fn answer(first: &str, then: &str) -> Vec<Bytes> {
    let mut frames = speech_frames(first);
    frames.extend(silence_frames(65));
    frames.extend(speech_frames(then));
    frames
}

/// What one run measured, per question.
#[derive(Debug, Clone, PartialEq)]
struct Measured {
    questions: usize,
    speaking_ms: Vec<u64>,
    pauses: Vec<u32>,
    longest_pause_ms: Vec<u64>,
    latency_ms: Vec<Option<u64>>,
    answer_ms: Vec<u64>,
}

impl From<&Feedback> for Measured {
    fn from(f: &Feedback) -> Self {
        let q = &f.questions;
        Self {
            questions: q.len(),
            speaking_ms: q.iter().map(|q| q.speaking_ms).collect(),
            pauses: q.iter().map(|q| q.pauses).collect(),
            longest_pause_ms: q.iter().map(|q| q.longest_pause_ms).collect(),
            latency_ms: q.iter().map(|q| q.response_latency_ms).collect(),
            answer_ms: q.iter().map(|q| q.answer_duration_ms).collect(),
        }
    }
}

/// A whole interview; with `cut`, the network goes away one second into the
/// first answer for that long.
async fn interview(cut: Option<Duration>) -> Measured {
    let dir = tempfile::tempdir().unwrap();
    let mut config = fast_config(dir.path());
    // A thinking pause must not end the answer.
    config.practice.answer_silence = Duration::from_millis(1700);
    config.limits.resume_grace = Duration::from_secs(60);
    let server = candor_server::Server::start(config).await.unwrap();
    let api = Api::new(server.addr());
    let auth = api.register("media@example.org").await;
    let interview = api.create_interview(&auth.token, 2).await;

    let mut answers = vec![
        answer(
            "I led the migration of our billing system to a new database.",
            "We moved forty services in three months without downtime.",
        ),
        answer(
            "We disagreed about the rollout plan, so I wrote down both options.",
            "Then we tested the riskier one on a small group first.",
        ),
    ]
    .into_iter();
    let silence = silence_frames(1).remove(0);

    let mut ws = connect(server.addr()).await;
    send(&mut ws, start_request(&auth.token, &interview.id)).await;
    let Some(ServerPayload::StartResponse(sr)) = recv(&mut ws).await.unwrap().payload else {
        panic!("no StartResponse")
    };
    let session_id = sr.session_id;

    // Everything captured, by seq - 1; `next` is the next to capture.
    let mut captured: Vec<Bytes> = Vec::new();
    let mut queue: std::collections::VecDeque<Bytes> = Default::default();
    let mut answer_frames = 0u32;
    let mut cut_left = cut;
    let mut down_until: Option<tokio::time::Instant> = None;
    let mut last_server_seq = 0;
    let mut tick = tokio::time::interval(Duration::from_millis(FRAME_MS));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(150);
    loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "interview took too long"
        );
        let up = down_until.is_none();
        tokio::select! {
            _ = tick.tick() => {
                let frame = match queue.pop_front() {
                    Some(f) => { answer_frames += 1; f }
                    None => silence.clone(),
                };
                captured.push(frame.clone());
                let seq = captured.len() as u64;
                if up {
                    send(&mut ws, audio(seq, frame)).await;
                }
                // The cut, one second into the first answer.
                if let Some(outage) = cut_left && answer_frames == 50 {
                    cut_left = None;
                    let _ = ws.close(None).await;
                    down_until = Some(tokio::time::Instant::now() + outage);
                }
                if let Some(until) = down_until && tokio::time::Instant::now() >= until {
                    down_until = None;
                    ws = connect(server.addr()).await;
                    let mut req = start_request(&auth.token, &interview.id);
                    req.resume = Some(ResumeRequest {
                        session_id: session_id.clone(),
                        last_server_seq,
                        captured_seq: captured.len() as u64,
                    });
                    send(&mut ws, req).await;
                    let Some(ServerPayload::StartResponse(sr)) = recv(&mut ws).await.unwrap().payload else {
                        panic!("no resumed StartResponse")
                    };
                    assert!(sr.resumed);
                    // The backlog, in one burst.
                    for seq in sr.last_client_seq + 1..=captured.len() as u64 {
                        send(&mut ws, audio(seq, captured[seq as usize - 1].clone())).await;
                    }
                }
            }
            msg = recv(&mut ws), if up => {
                let msg = msg.expect("socket open until SessionEnded");
                match msg.payload.unwrap() {
                    ServerPayload::AudioChunk(c) => last_server_seq = c.seq,
                    ServerPayload::InterviewerState(s)
                        if s.activity == InterviewerActivity::Listening as i32 && queue.is_empty() =>
                    {
                        if let Some(a) = answers.next() {
                            queue.extend(a);
                        }
                    }
                    ServerPayload::SessionEnded(_) => break,
                    _ => {}
                }
            }
        }
    }
    let feedback = wait_feedback(&api, &auth.token, &interview.id).await;
    server.shutdown().await;
    Measured::from(&feedback)
}

fn within_a_frame(a: u64, b: u64) -> bool {
    a.abs_diff(b) <= FRAME_MS
}

fn assert_same(uncut: &Measured, cut: &Measured, what: &str) {
    assert_eq!(uncut.questions, cut.questions, "{what}: questions");
    assert_eq!(uncut.pauses, cut.pauses, "{what}: pauses");
    for i in 0..uncut.questions {
        let pairs = [
            ("speaking time", uncut.speaking_ms[i], cut.speaking_ms[i]),
            (
                "longest pause",
                uncut.longest_pause_ms[i],
                cut.longest_pause_ms[i],
            ),
            ("answer length", uncut.answer_ms[i], cut.answer_ms[i]),
        ];
        for (name, a, b) in pairs {
            assert!(
                within_a_frame(a, b),
                "{what}, question {}: {name} {a} ms uncut, {b} ms cut",
                i + 1
            );
        }
        let (a, b) = (uncut.latency_ms[i], cut.latency_ms[i]);
        assert!(
            matches!((a, b), (Some(a), Some(b)) if within_a_frame(a, b)),
            "{what}, question {}: response latency {a:?} uncut, {b:?} cut",
            i + 1
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_mid_answer_changes_no_measure() {
    let (uncut, short, long) = tokio::join!(
        interview(None),
        interview(Some(Duration::from_secs(3))),
        interview(Some(Duration::from_secs(20))),
    );
    println!("uncut:    {uncut:?}\n3 s cut:  {short:?}\n20 s cut: {long:?}");
    assert_eq!(uncut.questions, 2);
    assert!(
        uncut.speaking_ms.iter().all(|ms| *ms > 4_000),
        "both answers heard: {uncut:?}"
    );
    assert_eq!(uncut.pauses, vec![1, 1], "the thinking pause counts");
    assert_same(&uncut, &short, "3 s cut");
    assert_same(&uncut, &long, "20 s cut");
}
