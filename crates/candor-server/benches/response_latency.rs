//! Response-latency benchmark of the offline interviewer with a speech model:
//! how long after the candidate stops speaking the interviewer's first audio
//! comes back, and how long until the answer's final transcript line shows.
//!
//! ```text
//! cargo bench -p candor-server --bench response_latency [-- --rounds 2]
//! ```
//!
//! Interviews run over a real socket on 127.0.0.1 with espeak-ng answers
//! streamed at real-time pace, with the practice timings the app ships
//! (an answer ends 0.6 s after a finished thought, 1.7 s after anything
//! else; 0.25 s to think). The baseline, measured in the same run on the same
//! machine: the same interviews without recognition, each answer ending on
//! 0.6 s of silence alone — the floor that recognition can at best reach (the
//! silence, the thinking time and the audio path). Ratios are against it.
//!
//! `RUST_LOG=candor_server::engine::practice=debug` logs each answer's
//! recognition (audio length, wait, decode time, a reused partial).
//!
//! Needs Whisper tiny.en where `scripts/setup-speech` puts it
//! (`$CANDOR_CACHE_DIR` or `~/.cache/candor`) and espeak-ng.

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use candor_api::{CreateInterviewRequest, Role, Seniority};
use candor_protocol::{InterviewerActivity, ServerPayload, Speaker};
use common::*;

const ANSWERS: [&str; 3] = [
    "At my last job I moved our billing system to a new database. Um, it was a big \
     migration and I planned it with the team.",
    "We cut the release time from two days to three hours, so customers got fixes \
     much sooner.",
    "Last year our team disagreed about the rollout plan, so I wrote down both options. \
     We tested the risky one first and it cut failed deploys by fifty percent.",
];

/// What one configuration measured, over every answer of every round.
#[derive(Default)]
struct Measured {
    /// End of the answer's audio → the interviewer's first audio after it.
    response: Vec<Duration>,
    /// End of the answer's audio → its final transcript line (with words).
    final_line: Vec<Duration>,
}

fn main() {
    let rounds = std::env::args()
        .skip_while(|a| a != "--rounds")
        .nth(1)
        .map_or(2, |n| n.parse().expect("--rounds N"));
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .init();
    }
    let model = candor_speech::models::setup_cached_model("whisper-tiny.en")
        .unwrap_or_else(|why| panic!("{why}"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let frames: Vec<Vec<Bytes>> = ANSWERS.iter().map(|a| speech_frames(a)).collect();
    println!(
        "offline interviewer response latency: {rounds} round(s) of {} answers, {} cores",
        ANSWERS.len(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let mut baseline = Measured::default();
    let mut words = Measured::default();
    // Alternate the two so load from elsewhere falls on both alike.
    for round in 0..rounds {
        runtime.block_on(interview(None, &frames, round, &mut baseline));
        runtime.block_on(interview(Some(&model), &frames, round, &mut words));
    }
    println!("no recognition, first audio: {:.3?}", baseline.response);
    println!("tiny.en, first audio: {:.3?}", words.response);
    println!("tiny.en, final line: {:.3?}", words.final_line);
    let base = percentiles(&mut baseline.response);
    println!(
        "\n{:<58} {:>9} {:>9} {:>8}",
        "end of the answer →", "p50", "p95", "p50 ×"
    );
    row(
        "interviewer's first audio, no recognition, 0.6 s silence (baseline)",
        base,
        base,
    );
    row(
        "interviewer's first audio, tiny.en words decide",
        percentiles(&mut words.response),
        base,
    );
    row(
        "the answer's final transcript line, tiny.en",
        percentiles(&mut words.final_line),
        base,
    );
    println!("\ngoals: first audio p50 ≤ 1.0 s; final transcript p95 ≤ 1.5 s");
}

/// One interview of two questions; `model` None: no recognition, and the
/// answer ends on the short silence alone.
async fn interview(
    model: Option<&std::path::Path>,
    answers: &[Vec<Bytes>],
    round: usize,
    out: &mut Measured,
) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut config = fast_config(dir.path());
    let shipped = candor_server::config::PracticeConfig::default();
    config.practice.finished_silence = shipped.finished_silence;
    config.practice.think_time = shipped.think_time;
    config.practice.answer_silence = match model {
        Some(_) => shipped.answer_silence,
        None => shipped.finished_silence,
    };
    config.practice.speech_model = model.map(|m| m.to_path_buf());
    let server = candor_server::Server::start(config)
        .await
        .expect("server starts");
    let api = Api::new(server.addr());
    let auth = api
        .register(&format!("bench{round}{}@example.org", model.is_some()))
        .await;
    let interview: candor_api::Interview = api
        .http
        .post(api.url("/v1/interviews"))
        .bearer_auth(&auth.token)
        .json(&CreateInterviewRequest {
            role: Role::SoftwareEngineer,
            seniority: Seniority::Mid,
            job_description: None,
            cv_text: None,
            question_count: Some(2),
            retry: None,
        })
        .send()
        .await
        .expect("interview created")
        .json()
        .await
        .expect("an interview");
    let mut ws = connect(server.addr()).await;
    send(&mut ws, start_request(&auth.token, &interview.id)).await;
    recv(&mut ws).await.expect("StartResponse");

    let mut left: VecDeque<Vec<Bytes>> = answers.iter().cloned().collect();
    let silence = silence_frames(1).remove(0);
    let mut queue: VecDeque<Bytes> = VecDeque::new();
    let mut seq = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut awaiting_audio: Option<Instant> = None;
    let mut awaiting_final: Option<Instant> = None;
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        assert!(Instant::now() < deadline, "the interview took too long");
        tokio::select! {
            _ = tick.tick() => {
                seq += 1;
                let frame = match queue.pop_front() {
                    Some(f) => {
                        if queue.is_empty() {
                            awaiting_audio = Some(Instant::now());
                            awaiting_final = model.map(|_| Instant::now());
                        }
                        f
                    }
                    None => silence.clone(),
                };
                send(&mut ws, audio(seq, frame)).await;
            }
            msg = recv(&mut ws) => {
                let Some(msg) = msg else { break };
                match msg.payload {
                    Some(ServerPayload::AudioChunk(_)) => {
                        if let Some(t) = awaiting_audio.take() {
                            out.response.push(t.elapsed());
                        }
                    }
                    Some(ServerPayload::InterviewerState(s))
                        if s.activity == InterviewerActivity::Listening as i32 && queue.is_empty() =>
                    {
                        if let Some(a) = left.pop_front() {
                            queue.extend(a);
                        }
                    }
                    Some(ServerPayload::PartialTranscript(t))
                        if t.speaker == Speaker::Candidate as i32 && t.is_final =>
                    {
                        if let Some(t) = awaiting_final.take() {
                            out.final_line.push(t.elapsed());
                        }
                    }
                    Some(ServerPayload::SessionEnded(_)) => break,
                    _ => {}
                }
            }
        }
    }
    server.shutdown().await;
}

fn percentiles(samples: &mut [Duration]) -> (Duration, Duration) {
    assert!(!samples.is_empty(), "nothing was measured");
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.50), at(0.95))
}

fn row(name: &str, (p50, p95): (Duration, Duration), (b50, _): (Duration, Duration)) {
    println!(
        "{name:<58} {:>7.3} s {:>7.3} s {:>7.2}×",
        p50.as_secs_f64(),
        p95.as_secs_f64(),
        p50.as_secs_f64() / b50.as_secs_f64()
    );
}
