//! A whole offline practice interview through the real WebSocket endpoint:
//! the candidate is espeak-ng speech encoded to Opus and streamed in real
//! time; the interviewer speaks (real Opus audio), transcribes itself in step,
//! takes turns by the candidate's voice activity, asks a follow-up after a
//! short answer, yields when the candidate barges in, and completes; the
//! stored results carry the timing metrics.

mod common;

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use bytes::Bytes;
use candor_api::{ResultsResponse, Speaker};
use candor_audio::Codec;
use candor_audio::codec::AudioDecoder;
use candor_audio::meter::frame_level_db;
use candor_protocol::{EndReason, InterviewerActivity, ServerPayload};
use common::*;

#[tokio::test]
async fn offline_practice_interview_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let api = Api::new(server.addr());
    let auth = api.register("sam@example.org").await;
    let interview = api.create_interview(&auth.token, 2).await;

    // The candidate's voice.
    let barge = speech_frames("Sorry, can I ask something first?");
    let short = speech_frames("I built a billing system.");
    let long = speech_frames(
        "I led the migration of our billing system to a new database. \
         We moved forty services over three months without downtime.",
    );
    let long2 = speech_frames(
        "We disagreed about the rollout plan, so I wrote down both options \
         and we tested the riskier one on a small group first.",
    );
    assert!(short.len() * 20 < 2500, "short answer is short");
    assert!(long.len() * 20 > 2500, "long answer is long");
    let mut answers: VecDeque<Vec<Bytes>> = VecDeque::from([short, long, long2]);

    let mut ws = connect(server.addr()).await;
    send(&mut ws, start_request(&auth.token, &interview.id)).await;
    let msg = recv(&mut ws).await.unwrap();
    let Some(ServerPayload::StartResponse(sr)) = msg.payload else {
        panic!("{msg:?}")
    };
    assert_eq!(sr.planned_questions, 2);

    let silence = silence_frames(1).remove(0);
    let mut queue: VecDeque<Bytes> = VecDeque::new();
    let mut seq = 0u64;
    // The seq of the last frame of speech sent.
    let mut last_spoken = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut barged = false;
    let mut audio_in_turn = 0;
    let mut interviewer_audio: Vec<Bytes> = Vec::new();
    let mut interrupted = 0;
    let mut transcripts: HashMap<u64, Vec<(String, bool, i32)>> = HashMap::new();
    let mut states = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    let ended = loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "interview took too long"
        );
        tokio::select! {
            _ = tick.tick() => {
                seq += 1;
                let frame = match queue.pop_front() {
                    Some(speech) => {
                        last_spoken = seq;
                        speech
                    }
                    None => silence.clone(),
                };
                send(&mut ws, audio(seq, frame)).await;
            }
            msg = recv(&mut ws) => {
                let msg = msg.expect("socket open until SessionEnded");
                match msg.payload.unwrap() {
                    ServerPayload::AudioChunk(c) => {
                        interviewer_audio.push(c.data);
                        audio_in_turn += 1;
                        // Barge in on the greeting after ~0.4 s of it.
                        if !barged && audio_in_turn == 20 {
                            barged = true;
                            queue.extend(barge.iter().cloned());
                        }
                    }
                    ServerPayload::InterviewerState(s) => {
                        states.push(s.activity);
                        if s.activity == InterviewerActivity::Speaking as i32 {
                            audio_in_turn = 0;
                        }
                        // Answer when listening, unless still talking.
                        if s.activity == InterviewerActivity::Listening as i32
                            && queue.is_empty()
                            && let Some(a) = answers.pop_front()
                        {
                            queue.extend(a);
                        }
                    }
                    ServerPayload::Interrupted(_) => interrupted += 1,
                    ServerPayload::PartialTranscript(t) => {
                        transcripts.entry(t.segment_id).or_default().push((t.text, t.is_final, t.speaker));
                    }
                    ServerPayload::SessionEnded(e) => break e,
                    ServerPayload::AudioAck(_) => {}
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
    };
    assert_eq!(
        ended.reason,
        EndReason::InterviewComplete as i32,
        "{}",
        ended.message
    );
    assert!(ended.results_pending);
    // Frames still in flight when the interview ended are not counted (how
    // many depends on the machine's load); the last answer is.
    assert!(
        (last_spoken..=seq).contains(&ended.last_client_seq),
        "{ended:?} after the last speech frame {last_spoken} of {seq}"
    );
    assert!(recv(&mut ws).await.is_none());
    assert_eq!(interrupted, 1, "one barge-in");
    assert!(answers.is_empty(), "every answer was asked for");

    // The interviewer's audio is real speech.
    let mut dec = AudioDecoder::new(Codec::Opus, 16_000).unwrap();
    let mut pcm = Vec::new();
    for p in &interviewer_audio {
        dec.decode(p, &mut pcm).unwrap();
    }
    let loud = pcm
        .chunks(320)
        .filter(|f| frame_level_db(f) > -35.0)
        .count();
    assert!(
        loud > 100,
        "interviewer audio has speech ({loud} loud frames)"
    );

    // Transcripts grow within a segment and end final; both speakers appear.
    let mut finals = 0;
    for parts in transcripts.values() {
        let (last, is_final, _) = parts.last().unwrap();
        if parts.len() > 2 {
            let texts: Vec<&String> = parts.iter().map(|p| &p.0).collect();
            assert!(
                texts
                    .windows(2)
                    .all(|w| w[1].len() >= w[0].len() || w[1].ends_with('—')),
                "{texts:?}"
            );
        }
        if *is_final {
            finals += 1;
            assert!(!last.is_empty());
        }
    }
    let candidate: Vec<&String> = transcripts
        .values()
        .filter_map(|p| p.last())
        .filter(|p| p.1 && p.2 == candor_protocol::Speaker::Candidate as i32)
        .map(|p| &p.0)
        .collect();
    assert_eq!(
        candidate.len(),
        4,
        "barge-in + three answers: {candidate:?}"
    );
    assert!(
        candidate.iter().all(|t| t.starts_with("[answer, ")),
        "{candidate:?}"
    );
    assert!(finals >= 9, "{finals} final segments");
    assert!(states.contains(&(InterviewerActivity::Thinking as i32)));

    // Results: processing → ready, with the metrics.
    let res = loop {
        let res: ResultsResponse = api
            .http
            .get(api.url(&format!("/v1/interviews/{}/results", interview.id)))
            .bearer_auth(&auth.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if res != ResultsResponse::Processing {
            break res;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let ResultsResponse::Ready { feedback, .. } = res else {
        panic!("{res:?}")
    };
    assert_eq!(feedback.end_reason, "interview_complete");
    assert_eq!(feedback.questions.len(), 2);
    let q1 = &feedback.questions[0];
    assert_eq!(q1.follow_ups_asked, 1, "short first answer → follow-up");
    assert!(q1.answered && q1.response_latency_ms.is_some());
    assert!(q1.answer_duration_ms > 2_000, "{q1:?}");
    let q2 = &feedback.questions[1];
    assert!(q2.answered);
    assert_eq!(q2.follow_ups_asked, 0);
    let latency = q2.response_latency_ms.unwrap();
    assert!(
        latency < 1_500,
        "answered right after the question: {latency} ms"
    );
    let speech_ms = (long2_len_ms(&feedback.transcript)).max(1);
    assert!(q2.speaking_ms > speech_ms / 2, "{q2:?}");
    let o = &feedback.overall;
    assert_eq!(o.interruptions, 1);
    assert_eq!((o.questions_asked, o.questions_answered), (2, 2));
    assert!(o.talk_time_ratio > 0.1 && o.talk_time_ratio < 0.9, "{o:?}");
    assert!(
        o.candidate_speaking_ms > 5_000 && o.interviewer_speaking_ms > 5_000,
        "{o:?}"
    );
    assert!(o.longest_monologue_ms >= q2.answer_duration_ms);
    assert_eq!(o.words_per_minute, None, "no words are invented offline");
    for name in [
        "talk_time_balance",
        "responsiveness",
        "answer_depth",
        "fluency",
        "composure",
        "completion",
    ] {
        let s = feedback
            .scores
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("{name}"));
        assert!(s.value <= 100 && s.explanation.len() > 40, "{s:?}");
    }
    assert!(
        feedback
            .transcript
            .iter()
            .any(|s| s.speaker == Speaker::Candidate)
    );
    assert!(
        feedback
            .transcript
            .iter()
            .any(|s| s.speaker == Speaker::Interviewer && s.text.contains('?'))
    );
    server.shutdown().await;
}

/// Length of the last candidate segment (the long answer to question 2).
fn long2_len_ms(t: &[candor_api::TranscriptSegment]) -> u64 {
    t.iter()
        .rev()
        .find(|s| s.speaker == Speaker::Candidate)
        .map(|s| s.end_ms - s.start_ms)
        .unwrap_or(0)
}
