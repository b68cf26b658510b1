//! The offline interviewer with a speech model: the candidate's words come
//! back as partial then final transcripts, the follow-up asks for what the
//! answer left out, a finished answer is answered within a second, and the
//! results carry words per minute, filler words, job-term coverage and the
//! candidate's transcript.
//!
//! Needs Whisper tiny.en where `scripts/setup` puts it (the speech cache,
//! `$CANDOR_CACHE_DIR` or `~/.cache/candor`).

mod common;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use candor_api::{CreateInterviewRequest, Role, Seniority};
use candor_protocol::{InterviewerActivity, ServerPayload, Speaker};
use common::*;

/// The words of a candidate's final transcript line, if `payload` is one
/// (not the placeholder of an answer without words).
fn candidate_words(payload: &ServerPayload) -> Option<String> {
    match payload {
        ServerPayload::PartialTranscript(t)
            if t.speaker == Speaker::Candidate as i32 && t.is_final && !t.text.starts_with('[') =>
        {
            Some(t.text.clone())
        }
        _ => None,
    }
}

fn speech_model() -> PathBuf {
    candor_speech::models::setup_cached_model("whisper-tiny.en")
        .unwrap_or_else(|why| panic!("{why}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_interviewer_hears_the_candidates_words() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = fast_config(dir.path());
    config.practice.answer_silence = Duration::from_millis(1700);
    config.practice.finished_silence = Duration::from_millis(600);
    config.practice.think_time = Duration::from_millis(250);
    config.practice.speech_model = Some(speech_model());
    let server = candor_server::Server::start(config).await.unwrap();
    let api = Api::new(server.addr());
    let auth = api.register("words@example.org").await;
    let interview: candor_api::Interview = api
        .http
        .post(api.url("/v1/interviews"))
        .bearer_auth(&auth.token)
        .json(&CreateInterviewRequest {
            role: Role::SoftwareEngineer,
            seniority: Seniority::Mid,
            job_description: Some(
                "Backend engineer for our billing platform: databases, migrations, \
                 reliability and on-call."
                    .into(),
            ),
            cv_text: None,
            question_count: Some(2),
            retry: None,
        })
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    // No figure or result in the first answer: the follow-up asks for one.
    let answers = [
        "At my last job I moved our billing system to a new database. Um, it was a big \
         migration and I planned it with the team.",
        "We cut the release time from two days to three hours, so customers got fixes \
         much sooner.",
        "Last year our team disagreed about the rollout plan, so I wrote down both options. \
         We tested the risky one first and it cut failed deploys by fifty percent.",
    ];
    let mut answers: VecDeque<Vec<Bytes>> = answers.iter().map(|t| speech_frames(t)).collect();
    let silence = silence_frames(1).remove(0);

    let mut ws = connect(server.addr()).await;
    send(&mut ws, start_request(&auth.token, &interview.id)).await;
    let msg = recv(&mut ws).await.unwrap();
    assert!(matches!(msg.payload, Some(ServerPayload::StartResponse(_))));

    let mut queue: VecDeque<Bytes> = VecDeque::new();
    let mut seq = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    // When the last frame of an answer went out, until the interviewer's next audio.
    let mut answer_ended: Option<Instant> = None;
    let mut latencies: Vec<Duration> = Vec::new();
    let mut partial_words = 0;
    let mut candidate_finals: Vec<String> = Vec::new();
    let mut interviewer_finals: Vec<String> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(150);
    loop {
        assert!(Instant::now() < deadline, "interview took too long");
        tokio::select! {
            _ = tick.tick() => {
                seq += 1;
                let frame = match queue.pop_front() {
                    Some(f) => {
                        if queue.is_empty() {
                            answer_ended = Some(Instant::now());
                        }
                        f
                    }
                    None => silence.clone(),
                };
                send(&mut ws, audio(seq, frame)).await;
            }
            msg = recv(&mut ws) => {
                let msg = msg.expect("socket open until SessionEnded");
                match msg.payload.unwrap() {
                    ServerPayload::AudioChunk(_) => {
                        if let Some(t) = answer_ended.take() {
                            latencies.push(t.elapsed());
                        }
                    }
                    ServerPayload::InterviewerState(s)
                        if s.activity == InterviewerActivity::Listening as i32 && queue.is_empty() =>
                    {
                        if let Some(a) = answers.pop_front() {
                            queue.extend(a);
                        }
                    }
                    ServerPayload::PartialTranscript(t) if t.speaker == Speaker::Candidate as i32 => {
                        if t.is_final {
                            candidate_finals.push(t.text);
                        } else if !t.text.starts_with('[') {
                            partial_words += 1;
                        }
                    }
                    ServerPayload::PartialTranscript(t) if t.is_final => interviewer_finals.push(t.text),
                    ServerPayload::SessionEnded(_) => break,
                    _ => {}
                }
            }
        }
    }
    println!("candidate: {candidate_finals:#?}\ninterviewer: {interviewer_finals:#?}");
    println!("end of answer → interviewer's first audio: {latencies:?}");
    assert!(answers.is_empty(), "every answer was asked for");
    assert_eq!(candidate_finals.len(), 3, "{candidate_finals:?}");
    let first = candidate_finals[0].to_lowercase();
    assert!(
        first.contains("billing") && first.contains("database"),
        "the first answer's words: {first}"
    );
    assert!(partial_words > 0, "words arrive while the candidate speaks");
    assert!(
        interviewer_finals
            .iter()
            .any(|t| t.contains("measurable result")),
        "the follow-up asks for the missing result: {interviewer_finals:?}"
    );

    let feedback = wait_feedback(&api, &auth.token, &interview.id).await;
    server.shutdown().await;
    let o = &feedback.overall;
    assert!(o.words_per_minute.is_some_and(|w| w > 60.0), "{o:?}");
    assert!(
        o.filler_words.as_ref().is_some_and(|f| f.total >= 1),
        "{o:?}"
    );
    let terms = feedback.job_terms.expect("a job description was given");
    assert!(terms.used.iter().any(|t| t == "billing"), "{terms:?}");
    assert!(
        feedback
            .transcript
            .iter()
            .any(|s| s.speaker == candor_api::Speaker::Candidate && s.text.contains("release")),
        "the stored transcript holds the candidate's words"
    );
}

/// The app loads the speech model after its backend started (a download
/// finished, or the model is still loading when the interview starts): the
/// running interview hears the candidate from the next answer on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_that_arrives_during_an_interview_hears_the_next_answer() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = fast_config(dir.path());
    config.practice.answer_silence = Duration::from_millis(1000);
    let server = candor_server::Server::start(config).await.unwrap();
    // Two questions: the words of an interview's last answer are stored
    // after it ends; the first answer's come back live.
    let (_, _, mut ws) = start_session(&server, "late@example.org", 2).await;
    // The session started without a model; one arrives now.
    server
        .set_speech_model(Some(speech_model()))
        .await
        .expect("the model loads");

    let mut answer: VecDeque<Bytes> =
        speech_frames("I rebuilt the billing database over one weekend.").into();
    let silence = silence_frames(1).remove(0);
    let mut asked = false;
    let mut seq = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut words: Option<String> = None;
    let deadline = Instant::now() + Duration::from_secs(90);
    while words.is_none() {
        assert!(Instant::now() < deadline, "no words for the answer");
        tokio::select! {
            _ = tick.tick() => {
                seq += 1;
                let next = if asked { answer.pop_front() } else { None };
                let frame = next.unwrap_or_else(|| silence.clone());
                send(&mut ws, audio(seq, frame)).await;
            }
            msg = recv(&mut ws) => {
                match msg.expect("socket open").payload.unwrap() {
                    ServerPayload::InterviewerState(s)
                        if s.activity == InterviewerActivity::Listening as i32 => asked = true,
                    ServerPayload::SessionEnded(e) => panic!("ended before the words: {e:?}"),
                    other => words = words.or_else(|| candidate_words(&other)),
                }
            }
        }
    }
    let words = words.unwrap().to_lowercase();
    assert!(words.contains("billing"), "the answer's words: {words}");
    server.shutdown().await;
}

/// The candidate starts answering while the interviewer is still asking:
/// the words they spoke before the interviewer gave way (the barge-in
/// decision takes a few hundred milliseconds) are part of the answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_that_interrupts_the_question_is_heard_from_its_first_word() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = fast_config(dir.path());
    config.practice.barge_in = Duration::from_millis(300);
    config.practice.answer_silence = Duration::from_millis(1000);
    config.practice.speech_model = Some(speech_model());
    let server = candor_server::Server::start(config).await.unwrap();
    let (_, _, mut ws) = start_session(&server, "eager@example.org", 2).await;

    let mut answer: VecDeque<Bytes> =
        speech_frames("Billing databases were my whole job for three years.").into();
    let silence = silence_frames(1).remove(0);
    // The interviewer's first audio: the candidate starts a moment later.
    let mut speaking_since: Option<Instant> = None;
    let mut interrupted = false;
    let mut seq = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut words: Option<String> = None;
    let deadline = Instant::now() + Duration::from_secs(90);
    while words.is_none() {
        assert!(Instant::now() < deadline, "no words for the answer");
        tokio::select! {
            _ = tick.tick() => {
                seq += 1;
                let talking = speaking_since
                    .is_some_and(|t| t.elapsed() > Duration::from_millis(600));
                let next = if talking { answer.pop_front() } else { None };
                let frame = next.unwrap_or_else(|| silence.clone());
                send(&mut ws, audio(seq, frame)).await;
            }
            msg = recv(&mut ws) => {
                match msg.expect("socket open").payload.unwrap() {
                    ServerPayload::AudioChunk(_) => {
                        speaking_since.get_or_insert_with(Instant::now);
                    }
                    ServerPayload::Interrupted(_) => interrupted = true,
                    ServerPayload::SessionEnded(e) => panic!("ended before the words: {e:?}"),
                    other => words = words.or_else(|| candidate_words(&other)),
                }
            }
        }
    }
    assert!(interrupted, "the candidate interrupted the question");
    let words = words.unwrap().to_lowercase();
    println!("the answer's words: {words}");
    assert!(
        words.contains("billing"),
        "the answer's first words: {words}"
    );
    server.shutdown().await;
}

/// A candidate who stops mid-sentence to think is not cut off: the words
/// their pause ends with ("… was") do not sound finished, so the interviewer
/// waits the long silence, and the answer goes on after the pause.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thinking_pause_mid_sentence_does_not_end_the_answer() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = fast_config(dir.path());
    config.practice.answer_silence = Duration::from_millis(1700);
    config.practice.finished_silence = Duration::from_millis(600);
    config.practice.think_time = Duration::from_millis(250);
    config.practice.speech_model = Some(speech_model());
    let server = candor_server::Server::start(config).await.unwrap();
    let (_, _, mut ws) = start_session(&server, "thinker@example.org", 1).await;

    // 1.2 s of thought after "was".
    let mut answer: Vec<Bytes> = speech_frames("The main thing I learned from that project was");
    answer.extend(silence_frames(60));
    answer.extend(speech_frames("to write the plan down before we start."));
    let silence = silence_frames(1).remove(0);
    let mut queue: VecDeque<Bytes> = VecDeque::new();
    let mut asked = false;
    let mut seq = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut words: Option<String> = None;
    let deadline = Instant::now() + Duration::from_secs(90);
    while words.is_none() {
        assert!(Instant::now() < deadline, "no words for the answer");
        tokio::select! {
            _ = tick.tick() => {
                seq += 1;
                let frame = queue.pop_front().unwrap_or_else(|| silence.clone());
                send(&mut ws, audio(seq, frame)).await;
            }
            msg = recv(&mut ws) => {
                match msg.expect("socket open").payload.unwrap() {
                    ServerPayload::InterviewerState(s)
                        if s.activity == InterviewerActivity::Listening as i32 && !asked =>
                    {
                        asked = true;
                        queue.extend(answer.drain(..));
                    }
                    ServerPayload::AudioChunk(_) => assert!(
                        !asked || queue.is_empty(),
                        "the interviewer spoke with {} ms of the answer still to come",
                        queue.len() * 20
                    ),
                    ServerPayload::SessionEnded(e) => panic!("ended before the words: {e:?}"),
                    other => words = words.or_else(|| candidate_words(&other)),
                }
            }
        }
    }
    let words = words.unwrap().to_lowercase();
    println!("the answer's words: {words}");
    assert!(
        words.contains("learned") && words.contains("plan"),
        "one answer, both halves: {words}"
    );
    server.shutdown().await;
}
