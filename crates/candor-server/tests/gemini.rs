//! The Gemini Live bridge against a fake Live API on 127.0.0.1 (see
//! `fake_gemini`): a whole interview client → server → fake Gemini with AI
//! feedback, barge-in, `goAway` and a dropped upstream connection resumed
//! without losing candidate audio, a session handed over to another server
//! by a drain, refusals at start, a malformed upstream
//! message, and a failing feedback request. No internet; every wait bounded.

mod common;
mod fake_gemini;

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use bytes::Bytes;
use candor_audio::Codec;
use candor_audio::codec::AudioDecoder;
use candor_audio::meter::frame_level_db;
use candor_protocol::{
    AudioCodec, EndReason, ErrorCode, InterviewerActivity, PartialTranscript, ServerPayload,
    SessionEnded, Speaker, StartResponse,
};
use candor_server::voice;
use candor_server::{ApiKey, RunningServer, Server, Store};
use common::*;
use fake_gemini::{Fake, KEY, Script};

const TURNS: [&str; 3] = [
    "Hello and welcome. Tell me about a project you led?",
    "Thanks. What was the hardest bug you fixed?",
    "Thank you, that is all from me. Goodbye.",
];
const ANSWERS: [&str; 2] = [
    "I um led the billing migration to Postgres with five engineers",
    "A race in the cache layer that like corrupted sessions",
];

/// Loud chunks the fake hears per answer: 60 tone frames, plus one frame
/// the Opus decoder's tail keeps loud (the same in every run).
const LOUD_PER_ANSWER: u32 = 61;

fn script() -> Script {
    Script {
        turns: TURNS.to_vec(),
        answers: ANSWERS.to_vec(),
        turn_ms: 600,
        feedback_status: 200,
        ..Script::default()
    }
}

async fn gemini_server(dir: &std::path::Path, fake_url: String) -> RunningServer {
    let mut c = fast_config(dir);
    c.gemini.api_key = ApiKey::new(KEY);
    c.gemini.base_url = fake_url;
    c.gemini.connect_timeout = Duration::from_secs(3);
    c.gemini.reconnect_backoff = Duration::from_millis(50);
    c.gemini.feedback_timeout = Duration::from_secs(5);
    Server::start(c).await.expect("server starts")
}

/// 20 ms Opus frames of a loud tone (the candidate speaking).
fn loud_frames(n: usize) -> Vec<Bytes> {
    let samples: Vec<f32> = (0..n * 320)
        .map(|i| 0.3 * (2.0 * std::f32::consts::PI * 300.0 * i as f32 / 16_000.0).sin())
        .collect();
    voice::encode_clip(Codec::Opus, 16_000, &samples).unwrap()
}

/// What the client saw.
#[derive(Debug, Default)]
struct Seen {
    start: Option<StartResponse>,
    audio: Vec<Bytes>,
    /// Interviewer audio chunks per turn (counted between Speaking states).
    audio_per_turn: Vec<usize>,
    states: Vec<(i32, u32)>,
    transcripts: Vec<PartialTranscript>,
    interrupted: u32,
    /// Interviewer chunks that arrived after `Interrupted` within the same turn.
    audio_after_interrupt: usize,
    other: Vec<String>,
    sent: u64,
    /// The seq of the last loud (answer) frame sent.
    last_loud_seq: u64,
    /// The other server's answer after a handover.
    resumed: Option<StartResponse>,
}

impl Seen {
    /// Each segment's latest final text (a late fragment revises a settled
    /// segment under the same id), in the order the segments settled.
    fn finals(&self, speaker: Speaker) -> Vec<String> {
        let mut out: Vec<(u64, String)> = Vec::new();
        for t in self
            .transcripts
            .iter()
            .filter(|t| t.is_final && t.speaker == speaker as i32)
        {
            match out.iter_mut().find(|(id, _)| *id == t.segment_id) {
                Some((_, text)) => *text = t.text.clone(),
                None => out.push((t.segment_id, t.text.clone())),
            }
        }
        out.into_iter().map(|(_, text)| text).collect()
    }
}

/// Plays the candidate: answers each time the interviewer listens (60 loud
/// frames, then silence); with `barge_turn`, talks over that turn (1-based)
/// after 10 of its chunks.
async fn drive(
    server: &RunningServer,
    token: &str,
    interview_id: &str,
    barge_turn: Option<usize>,
) -> (Seen, Option<SessionEnded>) {
    drive_with(server, token, interview_id, barge_turn, None).await
}

/// A drain of the server the client is on, mid-answer: the client follows
/// its `GoAway` to `to` and resumes the session there.
struct Handover<'a> {
    to: &'a RunningServer,
    /// Drain once this many loud frames of the first answer are sent.
    after_loud: usize,
}

/// [`drive`], optionally handed over to another server mid-answer.
async fn drive_with(
    server: &RunningServer,
    token: &str,
    interview_id: &str,
    barge_turn: Option<usize>,
    mut handover: Option<Handover<'_>>,
) -> (Seen, Option<SessionEnded>) {
    let mut ws = connect(server.addr()).await;
    send(&mut ws, start_request(token, interview_id)).await;
    let mut seen = Seen::default();
    let silence = silence_frames(1).remove(0);
    let mut queue: VecDeque<Bytes> = VecDeque::new();
    // Every frame sent (seq n at n - 1), to send again what a server lacks.
    let mut sent: Vec<Bytes> = Vec::new();
    let mut loud_sent = 0;
    let mut last_server_seq = 0;
    let mut answers = 0;
    let mut turn = 0;
    let mut in_turn_after_interrupt = false;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "interview took too long: {seen:?}"
        );
        tokio::select! {
            _ = tick.tick(), if seen.start.is_some() => {
                seen.sent += 1;
                let frame = match queue.pop_front() {
                    Some(loud) => {
                        loud_sent += 1;
                        seen.last_loud_seq = seen.sent;
                        loud
                    }
                    None => silence.clone(),
                };
                sent.push(frame.clone());
                send(&mut ws, audio(seen.sent, frame)).await;
                if let Some(h) = &handover
                    && answers == 1
                    && loud_sent == h.after_loud
                {
                    assert!(server.drain(Duration::from_secs(30)), "drained once");
                }
            }
            msg = recv(&mut ws) => {
                let Some(msg) = msg else { return (seen, None) };
                match msg.payload.expect("a payload") {
                    ServerPayload::StartResponse(s) => {
                        assert!(seen.start.is_none(), "one StartResponse: the client never reconnects");
                        seen.start = Some(s);
                    }
                    ServerPayload::GoAway(g) => {
                        let to = handover.take().unwrap_or_else(|| panic!("an unexpected {g:?}")).to;
                        let _ = ws.close(None).await;
                        let start = seen.start.as_ref().expect("started");
                        ws = connect(to.addr()).await;
                        let mut req = start_request(token, interview_id);
                        req.resume = Some(candor_protocol::ResumeRequest {
                            session_id: start.session_id.clone(),
                            last_server_seq,
                            captured_seq: seen.sent,
                        });
                        send(&mut ws, req).await;
                        let answer = recv(&mut ws).await.expect("the other server answers");
                        let Some(ServerPayload::StartResponse(resumed)) = answer.payload else {
                            panic!("the session continues on the other server: {answer:?}")
                        };
                        assert!(resumed.resumed, "{resumed:?}");
                        seen.resumed = Some(resumed.clone());
                        for seq in resumed.last_client_seq + 1..=seen.sent {
                            send(&mut ws, audio(seq, sent[seq as usize - 1].clone())).await;
                        }
                    }
                    ServerPayload::AudioChunk(c) => {
                        last_server_seq = c.seq;
                        if in_turn_after_interrupt {
                            seen.audio_after_interrupt += 1;
                        }
                        seen.audio.push(c.data);
                        if let Some(n) = seen.audio_per_turn.last_mut() {
                            *n += 1;
                            if Some(turn) == barge_turn && *n == 10 {
                                queue.extend(loud_frames(40));
                            }
                        }
                    }
                    ServerPayload::InterviewerState(s) => {
                        seen.states.push((s.activity, s.question_index));
                        if s.activity == InterviewerActivity::Speaking as i32 {
                            turn += 1;
                            in_turn_after_interrupt = false;
                            seen.audio_per_turn.push(0);
                        }
                        if s.activity == InterviewerActivity::Listening as i32
                            && queue.is_empty()
                            && answers < ANSWERS.len()
                            && !(barge_turn.is_some() && answers > 0)
                        {
                            answers += 1;
                            queue.extend(loud_frames(60));
                        }
                    }
                    ServerPayload::Interrupted(_) => {
                        seen.interrupted += 1;
                        in_turn_after_interrupt = true;
                    }
                    ServerPayload::PartialTranscript(t) => seen.transcripts.push(t),
                    ServerPayload::SessionEnded(e) => {
                        assert!(recv(&mut ws).await.is_none(), "socket closes after SessionEnded");
                        return (seen, Some(e));
                    }
                    ServerPayload::AudioAck(_) => {}
                    other => seen.other.push(format!("{other:?}")),
                }
            }
        }
    }
}

/// Waits until the fake has seen the link close and published its state.
async fn consumed_settles(fake: &Fake, expected: u64) -> u64 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let n = fake.log().latest.consumed;
        if n == expected || tokio::time::Instant::now() > deadline {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn gemini_interview_end_to_end_with_ai_feedback() {
    let fake = Fake::start(script()).await;
    let dir = tempfile::tempdir().unwrap();
    let server = gemini_server(dir.path(), fake.base_url()).await;
    let api = Api::new(server.addr());
    let auth = api.register("gem@example.org").await;
    let interview = api.create_interview(&auth.token, 2).await;

    let (seen, ended) = drive(&server, &auth.token, &interview.id, None).await;
    let ended = ended.expect("SessionEnded");
    assert_eq!(
        ended.reason,
        EndReason::InterviewComplete as i32,
        "{}",
        ended.message
    );
    assert!(ended.results_pending);
    assert!(
        seen.other.is_empty(),
        "unexpected messages: {:?}",
        seen.other
    );

    let start = seen.start.as_ref().unwrap();
    assert_eq!(start.engine, "gemini");
    assert_eq!(start.planned_questions, 2);
    let out = start.audio_config.unwrap();
    assert_eq!(
        (out.codec, out.sample_rate_hz),
        (AudioCodec::Opus as i32, 24_000)
    );

    // Three turns of 600 ms each, as 20 ms Opus frames that decode at 24 kHz.
    assert_eq!(seen.audio_per_turn, vec![30, 30, 30]);
    let mut dec = AudioDecoder::new(Codec::Opus, 24_000).unwrap();
    let mut pcm = Vec::new();
    let mut loud = 0;
    for f in &seen.audio {
        pcm.clear();
        assert_eq!(dec.decode(f, &mut pcm).unwrap(), 480);
        loud += usize::from(frame_level_db(&pcm) > -20.0);
    }
    assert!(
        loud > 80,
        "interviewer audio is the model's tone ({loud} loud frames)"
    );

    // Transcripts stitched from fragments; the candidate's from input transcription.
    assert_eq!(seen.finals(Speaker::Interviewer), TURNS.to_vec());
    assert_eq!(seen.finals(Speaker::Candidate), ANSWERS.to_vec());
    let first = seen
        .transcripts
        .iter()
        .find(|t| t.speaker == Speaker::Candidate as i32)
        .unwrap();
    assert!(
        !first.is_final && first.text.split(' ').count() < 10,
        "partials grow"
    );
    // Speaking / listening alternate; question numbers follow the questions
    // (a state repeated with a corrected question number counts once).
    let speaking = InterviewerActivity::Speaking as i32;
    let listening = InterviewerActivity::Listening as i32;
    let mut states: Vec<(i32, u32)> = Vec::new();
    for s in &seen.states {
        match states.last_mut() {
            Some(last) if last.0 == s.0 => *last = *s,
            _ => states.push(*s),
        }
    }
    assert_eq!(
        states,
        vec![
            (speaking, 0),
            (listening, 1),
            (speaking, 1),
            (listening, 2),
            (speaking, 2),
            (listening, 2)
        ]
    );

    // Everything the candidate said reached the model exactly once.
    assert_eq!(
        consumed_settles(&fake, ended.last_client_seq).await,
        ended.last_client_seq
    );
    {
        let log = fake.log();
        assert_eq!(
            log.keys,
            vec![KEY.to_owned()],
            "one connection, key in the URL"
        );
        let setup = &log.setups[0]["setup"];
        assert!(setup["model"].as_str().unwrap().starts_with("models/"));
        assert_eq!(setup["generationConfig"]["responseModalities"][0], "AUDIO");
        assert!(setup["inputAudioTranscription"].is_object());
        assert!(setup["outputAudioTranscription"].is_object());
        assert!(setup["contextWindowCompression"]["slidingWindow"].is_object());
        let si = setup["systemInstruction"]["parts"][0]["text"]
            .as_str()
            .unwrap();
        assert!(
            si.contains("mid-level software engineer") && si.contains("Rust and PostgreSQL"),
            "{si}"
        );
        assert_eq!(
            log.realtime_text.len(),
            1,
            "one kick-off, as realtimeInput.text"
        );
        assert!(log.client_content.is_empty(), "no clientContent");
        assert_eq!(log.tool_responses.len(), 1);
        assert_eq!(
            log.tool_responses[0]["functionResponses"][0]["id"],
            "call-1"
        );
        // 60 tone frames, plus the one frame the Opus decoder's tail keeps loud.
        assert_eq!(log.latest.answers_loud, vec![LOUD_PER_ANSWER; 2]);
    }

    // Results: the measured metrics from the real transcript plus AI feedback.
    let res = wait_results(&api, &auth.token, &interview.id).await;
    assert_eq!(res["status"], "ready", "{res}");
    let f = &res["feedback"];
    assert_eq!(f["feedback_source"], "ai", "{f}");
    assert!(f.get("ai_unavailable_reason").is_none());
    assert_eq!(f["ai"]["scores"][0]["category"], "structure");
    assert_eq!(f["ai"]["scores"][0]["score"], 72);
    assert!(
        f["ai"]["weakest_answer"]["better_answer"]
            .as_str()
            .unwrap()
            .contains("race")
    );
    assert_eq!(f["overall"]["questions_asked"], 2);
    assert_eq!(f["overall"]["questions_answered"], 2);
    assert!(f["overall"]["words_per_minute"].as_f64().unwrap() > 0.0);
    assert_eq!(f["overall"]["filler_words"]["total"], 2, "{}", f["overall"]);
    {
        let log = fake.log();
        assert_eq!(log.feedback_requests.len(), 1);
        assert_eq!(log.feedback_api_keys, vec![KEY.to_owned()]);
        let req = &log.feedback_requests[0];
        assert_eq!(req["action"], "gemini-3.8-flash:generateContent");
        let body = &req["body"];
        assert_eq!(
            body["generationConfig"]["responseMimeType"],
            "application/json"
        );
        assert!(body["generationConfig"]["responseSchema"]["properties"]["scores"].is_object());
        let prompt = body["contents"][0]["parts"][0]["text"].as_str().unwrap();
        assert!(
            prompt.contains("Candidate: I um led the billing migration"),
            "{prompt}"
        );
    }
    server.shutdown().await;
}

#[tokio::test]
async fn barge_in_interrupts_the_interviewer() {
    let fake = Fake::start(Script {
        turn_ms: 3000,
        barge_in: true,
        ..script()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let server = gemini_server(dir.path(), fake.base_url()).await;
    let api = Api::new(server.addr());
    let auth = api.register("barge@example.org").await;
    let interview = api.create_interview(&auth.token, 2).await;

    // Talk over the greeting (turn 1) after 200 ms of it, then end the interview.
    let mut ws = connect(server.addr()).await;
    send(&mut ws, start_request(&auth.token, &interview.id)).await;
    let _ = recv(&mut ws).await.expect("StartResponse");
    let silence = silence_frames(1).remove(0);
    let mut queue: VecDeque<Bytes> = VecDeque::new();
    let mut seq = 0;
    let mut audio_before = 0;
    let mut audio_after = 0;
    let mut interrupted = false;
    let mut barged = false;
    let mut transcripts: HashMap<u64, Vec<PartialTranscript>> = HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let until = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut after_interrupt_wait: Option<tokio::time::Instant> = None;
    loop {
        assert!(
            tokio::time::Instant::now() < until,
            "no interruption happened"
        );
        if after_interrupt_wait.is_some_and(|t| tokio::time::Instant::now() > t) {
            break;
        }
        tokio::select! {
            _ = tick.tick() => {
                seq += 1;
                let f = queue.pop_front().unwrap_or_else(|| silence.clone());
                send(&mut ws, audio(seq, f)).await;
            }
            msg = recv(&mut ws) => match msg.unwrap().payload.unwrap() {
                ServerPayload::AudioChunk(_) => {
                    if interrupted { audio_after += 1 } else { audio_before += 1 }
                    if audio_before == 10 && !barged {
                        barged = true;
                        queue.extend(loud_frames(40));
                    }
                }
                ServerPayload::Interrupted(i) => {
                    assert_eq!(i.last_seq, audio_before as u64, "the last chunk sent is named");
                    interrupted = true;
                    after_interrupt_wait = Some(tokio::time::Instant::now() + Duration::from_millis(500));
                }
                ServerPayload::PartialTranscript(t) => transcripts.entry(t.segment_id).or_default().push(t),
                _ => {}
            }
        }
    }
    assert_eq!(fake.log().interrupts_sent, 1);
    assert!(
        audio_before < 150,
        "the 3 s turn was cut short ({audio_before} chunks)"
    );
    assert_eq!(
        audio_after, 0,
        "no audio of the interrupted turn after Interrupted"
    );
    // The interviewer's segment was settled as interrupted, with the words so far.
    let interviewer_final = transcripts
        .values()
        .flatten()
        .find(|t| t.is_final && t.speaker == Speaker::Interviewer as i32)
        .expect("the cut turn's final transcript");
    assert!(
        TURNS[0].starts_with(&interviewer_final.text),
        "{}",
        interviewer_final.text
    );
    send(&mut ws, candor_protocol::EndRequest {}).await;
    while let Some(m) = recv(&mut ws).await {
        if let Some(ServerPayload::SessionEnded(e)) = m.payload {
            assert_eq!(e.reason, EndReason::UserInitiated as i32);
        }
    }
    let res = wait_results(&api, &auth.token, &interview.id).await;
    assert_eq!(res["status"], "ready");
    assert_eq!(
        res["feedback"]["overall"]["interruptions"], 1,
        "{}",
        res["feedback"]["overall"]
    );
    server.shutdown().await;
}

/// What "nothing lost, nothing doubled" can mean for a resumption mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exactness {
    /// With `lastConsumedClientMessageIndex`: every chunk, silence included.
    EveryChunk,
    /// Without it: every chunk of the candidate's speech exactly once (the
    /// silence in flight at a turn boundary cannot be placed exactly, and is
    /// no part of the model's conversation).
    SpeechOnly,
}

/// The interview completed as scripted though disturbed: the client saw
/// nothing of it, the answer under way is one segment, no question was
/// asked twice.
fn complete_and_continuous(seen: &Seen, ended: &SessionEnded) {
    assert_eq!(
        ended.reason,
        EndReason::InterviewComplete as i32,
        "{}",
        ended.message
    );
    assert!(seen.other.is_empty(), "the client saw {:?}", seen.other);
    assert_eq!(seen.finals(Speaker::Candidate), ANSWERS.to_vec());
    let first_answer: std::collections::HashSet<u64> = seen
        .transcripts
        .iter()
        .filter(|t| t.speaker == Speaker::Candidate as i32 && ANSWERS[0].starts_with(&t.text))
        .map(|t| t.segment_id)
        .collect();
    assert_eq!(first_answer.len(), 1, "one segment for the first answer");
    assert_eq!(
        seen.finals(Speaker::Interviewer),
        TURNS.to_vec(),
        "no question asked twice"
    );
}

/// Runs a whole interview while the fake disturbs the first answer; the
/// client must notice nothing and the model must get every chunk once.
async fn interview_survives(script: Script, exactness: Exactness) -> Fake {
    let fake = Fake::start(script).await;
    let dir = tempfile::tempdir().unwrap();
    let server = gemini_server(dir.path(), fake.base_url()).await;
    let api = Api::new(server.addr());
    let auth = api.register("resume@example.org").await;
    let interview = api.create_interview(&auth.token, 2).await;
    let (seen, ended) = drive(&server, &auth.token, &interview.id, None).await;
    let ended = ended.expect("SessionEnded");
    complete_and_continuous(&seen, &ended);
    // No candidate audio lost or duplicated upstream.
    if exactness == Exactness::EveryChunk {
        assert_eq!(
            consumed_settles(&fake, ended.last_client_seq).await,
            ended.last_client_seq
        );
    }
    assert_eq!(
        fake.log().latest.answers_loud,
        vec![LOUD_PER_ANSWER; 2],
        "every loud chunk of each answer was heard exactly once"
    );
    server.shutdown().await;
    fake
}

#[tokio::test]
async fn go_away_mid_answer_is_resumed_without_the_client_noticing() {
    let fake = interview_survives(
        Script {
            go_away_at_loud: Some(25),
            ..script()
        },
        Exactness::SpeechOnly,
    )
    .await;
    let log = fake.log();
    assert_eq!(log.handles.len(), 2, "one planned reconnect");
    assert!(log.handles[1].is_some(), "resumed with a handle");
    assert_eq!(log.realtime_text.len(), 1, "no second kick-off on resume");
}

/// The Developer API's resumption: handles without an index. The drop
/// comes mid-answer; the answer so far is replayed from the turn boundary.
#[tokio::test]
async fn dropped_upstream_connection_is_resumed_without_loss() {
    let fake = interview_survives(
        Script {
            drop_at_loud: Some(30),
            ..script()
        },
        Exactness::SpeechOnly,
    )
    .await;
    let log = fake.log();
    assert_eq!(log.handles.len(), 2);
    assert!(log.handles[1].is_some());
}

/// The upstream drops while the model is answering (its handles then say
/// "not resumable"): the session resumes from the handle before the answer,
/// the answer is replayed and heard once more from its start, and the model
/// answers again. The answer is in the transcript once; the interviewer's
/// cut-off words stay as what was said before the drop.
#[tokio::test]
async fn a_drop_while_the_model_answers_replays_the_answer_once() {
    let fake = Fake::start(Script {
        drop_in_turn: Some(2),
        ..script()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let server = gemini_server(dir.path(), fake.base_url()).await;
    let api = Api::new(server.addr());
    let auth = api.register("dropturn@example.org").await;
    let interview = api.create_interview(&auth.token, 2).await;
    let (seen, ended) = drive(&server, &auth.token, &interview.id, None).await;
    let ended = ended.expect("SessionEnded");
    assert_eq!(
        ended.reason,
        EndReason::InterviewComplete as i32,
        "{}",
        ended.message
    );
    assert!(seen.other.is_empty(), "the client saw {:?}", seen.other);
    assert_eq!(seen.finals(Speaker::Candidate), ANSWERS.to_vec());
    let interviewer = seen.finals(Speaker::Interviewer);
    assert!(
        interviewer.ends_with(&TURNS[1..].iter().map(|t| t.to_string()).collect::<Vec<_>>()),
        "{interviewer:?}"
    );
    assert_eq!(interviewer[0], TURNS[0]);
    {
        let log = fake.log();
        assert_eq!(log.handles.len(), 2, "one resume");
        assert_eq!(
            log.latest.answers_loud,
            vec![LOUD_PER_ANSWER; 2],
            "the answer heard once, from the replay"
        );
    }
    server.shutdown().await;
}

/// A server drained mid-answer hands its Gemini session over: the client
/// follows `GoAway` to a second server on the same store, which resumes
/// the Live session with the handle the first saved and gives the service
/// again the candidate audio that handle lacks. The model hears every loud
/// chunk once, asks no question twice, the answer under way stays one
/// segment, every frame is stored once, and the results are computed once.
#[tokio::test]
async fn a_drained_servers_gemini_session_continues_on_another_server() {
    let fake = Fake::start(script()).await;
    let dir = tempfile::tempdir().unwrap();
    let a = gemini_server(dir.path(), fake.base_url()).await;
    let b = gemini_server(dir.path(), fake.base_url()).await;
    let api = Api::new(a.addr());
    let auth = api.register("handover@example.org").await;
    let interview = api.create_interview(&auth.token, 2).await;
    let handover = Handover {
        to: &b,
        after_loud: 25,
    };
    let (seen, ended) = drive_with(&a, &auth.token, &interview.id, None, Some(handover)).await;
    let ended = ended.expect("SessionEnded");
    complete_and_continuous(&seen, &ended);
    let resumed = seen.resumed.as_ref().expect("handed over");
    assert_eq!(resumed.session_id, seen.start.as_ref().unwrap().session_id);
    {
        let log = fake.log();
        assert_eq!(log.handles.len(), 2, "one connection per server");
        assert!(log.handles[1].is_some(), "the second resumed with a handle");
        assert_eq!(log.realtime_text.len(), 1, "no second kick-off");
        assert_eq!(
            log.latest.answers_loud,
            vec![LOUD_PER_ANSWER; 2],
            "every loud chunk of each answer was heard exactly once"
        );
    }
    let res = wait_results(&Api::new(b.addr()), &auth.token, &interview.id).await;
    assert_eq!(res["status"], "ready", "{res}");
    assert_eq!(res["feedback"]["overall"]["questions_answered"], 2);
    a.shutdown().await;
    b.shutdown().await;

    let store = candor_server::SqliteStore::open(dir.path()).unwrap();
    let sid = &seen.start.as_ref().unwrap().session_id;
    let stored: Vec<u64> = store
        .candidate_audio(sid)
        .unwrap()
        .into_iter()
        .map(|(seq, _)| seq)
        .collect();
    // Every frame up to the end, once (frames in flight when the interview
    // ended are not part of it; how many depends on the machine's load, but
    // the model ended the interview only after hearing the last answer).
    assert_eq!(
        stored,
        (1..=ended.last_client_seq).collect::<Vec<_>>(),
        "every frame once"
    );
    assert!(
        (seen.last_loud_seq..=seen.sent).contains(&ended.last_client_seq),
        "{ended:?} after the last answer frame {} of {}",
        seen.last_loud_seq,
        seen.sent
    );
    assert_eq!(
        fake.log().feedback_requests.len(),
        1,
        "results computed once"
    );
}

/// Vertex AI's transparent resumption (an index after every chunk): the
/// link replays exactly what the handle lacks, silence included.
#[tokio::test]
async fn transparent_resumption_replays_exactly_what_the_handle_lacks() {
    for script in [
        Script {
            go_away_at_loud: Some(25),
            transparent: true,
            text_frames: true,
            ..script()
        },
        Script {
            drop_at_loud: Some(30),
            transparent: true,
            text_frames: true,
            ..script()
        },
    ] {
        let fake = interview_survives(script, Exactness::EveryChunk).await;
        assert_eq!(fake.log().handles.len(), 2);
    }
}

async fn start_error(base_url: String) -> candor_protocol::Error {
    let dir = tempfile::tempdir().unwrap();
    let server = gemini_server(dir.path(), base_url).await;
    let api = Api::new(server.addr());
    let auth = api.register("refused@example.org").await;
    let interview = api.create_interview(&auth.token, 2).await;
    let mut ws = connect(server.addr()).await;
    send(&mut ws, start_request(&auth.token, &interview.id)).await;
    let msg = recv(&mut ws).await.expect("an Error");
    let Some(ServerPayload::Error(e)) = msg.payload else {
        panic!("expected an Error, got {msg:?}")
    };
    assert!(
        recv(&mut ws).await.is_none(),
        "socket closes after the error"
    );
    assert!(!e.message.contains(KEY), "the key never reaches the client");
    // The server is still healthy and the interview can be tried again.
    assert!(!server.interview_is_live(&interview.id));
    let health = api.http.get(api.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    server.shutdown().await;
    e
}

#[tokio::test]
async fn upstream_failure_at_start_is_a_clear_error() {
    // The API refuses the key (HTTP 403 on the upgrade): not retryable.
    let fake = Fake::start(Script {
        reject_status: Some(403),
        ..script()
    })
    .await;
    let e = start_error(fake.base_url()).await;
    assert_eq!(e.code, ErrorCode::EngineUnavailable as i32, "{}", e.message);
    assert!(!e.retryable);
    assert!(e.message.contains("403"), "{}", e.message);

    // The API closes the socket with a policy violation after setup.
    let fake = Fake::start(Script {
        close_on_setup: Some(1008),
        ..script()
    })
    .await;
    let e = start_error(fake.base_url()).await;
    assert_eq!(e.code, ErrorCode::EngineUnavailable as i32);
    assert!(!e.retryable);

    // Rate limited: retry later.
    let fake = Fake::start(Script {
        reject_status: Some(429),
        ..script()
    })
    .await;
    let e = start_error(fake.base_url()).await;
    assert_eq!(e.code, ErrorCode::ResourceExhausted as i32);
    assert!(e.retryable);

    // A retired model: the service closes at setup naming it; so does the
    // error the client gets, and it is not retryable.
    let fake = Fake::start(Script {
        retired: vec![candor_server::engine::gemini::DEFAULT_LIVE_MODEL],
        ..script()
    })
    .await;
    let e = start_error(fake.base_url()).await;
    assert_eq!(e.code, ErrorCode::EngineUnavailable as i32, "{}", e.message);
    assert!(!e.retryable, "{}", e.message);
    assert!(
        e.message.contains("model is not available")
            && e.message
                .contains(candor_server::engine::gemini::DEFAULT_LIVE_MODEL),
        "{}",
        e.message
    );
    assert!(!e.message.contains("credentials"), "{}", e.message);
    assert_eq!(
        fake.log().refused_models,
        vec![format!(
            "models/{}",
            candor_server::engine::gemini::DEFAULT_LIVE_MODEL
        )]
    );

    // Nothing listening: retryable.
    let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", unused.local_addr().unwrap());
    drop(unused);
    let e = start_error(url).await;
    assert_eq!(e.code, ErrorCode::EngineUnavailable as i32);
    assert!(e.retryable);
}

#[tokio::test]
async fn malformed_upstream_message_ends_the_session_without_a_crash() {
    let fake = Fake::start(Script {
        malformed_after_first_turn: true,
        ..script()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let server = gemini_server(dir.path(), fake.base_url()).await;
    let api = Api::new(server.addr());
    let auth = api.register("malformed@example.org").await;
    let interview = api.create_interview(&auth.token, 2).await;
    let (_seen, ended) = drive(&server, &auth.token, &interview.id, None).await;
    let ended = ended.expect("SessionEnded");
    assert_eq!(ended.reason, EndReason::EngineFailure as i32);
    assert!(ended.message.contains("not valid"), "{}", ended.message);
    assert!(ended.results_pending);
    // What was recorded still gets results; the server keeps serving.
    let res = wait_results(&api, &auth.token, &interview.id).await;
    assert_eq!(res["status"], "ready", "{res}");
    assert_eq!(res["feedback"]["end_reason"], "engine_failure");
    let second = api.create_interview(&auth.token, 1).await;
    let mut ws = connect(server.addr()).await;
    send(&mut ws, start_request(&auth.token, &second.id)).await;
    let msg = recv(&mut ws).await.unwrap();
    assert!(
        matches!(msg.payload, Some(ServerPayload::StartResponse(_))),
        "{msg:?}"
    );
    drop(ws);
    server.shutdown().await;
}

#[tokio::test]
async fn feedback_failure_still_delivers_metrics_only_results() {
    let fake = Fake::start(Script {
        feedback_status: 503,
        ..script()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let server = gemini_server(dir.path(), fake.base_url()).await;
    let api = Api::new(server.addr());
    let auth = api.register("nofeedback@example.org").await;
    let interview = api.create_interview(&auth.token, 2).await;
    let (_seen, ended) = drive(&server, &auth.token, &interview.id, None).await;
    assert_eq!(ended.unwrap().reason, EndReason::InterviewComplete as i32);
    let res = wait_results(&api, &auth.token, &interview.id).await;
    assert_eq!(res["status"], "ready", "{res}");
    let f = &res["feedback"];
    assert_eq!(f["feedback_source"], "metrics_only");
    assert!(f.get("ai").is_none());
    let reason = f["ai_unavailable_reason"].as_str().unwrap();
    assert!(reason.contains("503"), "{reason}");
    assert!(!reason.contains(KEY));
    // The measured feedback is all there.
    assert_eq!(f["overall"]["questions_answered"], 2, "{f}");
    assert!(f["overall"]["words_per_minute"].as_f64().is_some());
    assert!(!f["scores"].as_array().unwrap().is_empty());
    assert_eq!(fake.log().feedback_requests.len(), 1);
    server.shutdown().await;
}

/// The client's socket drops mid-answer: the bridge tells the service the
/// candidate's audio stream ended, instead of leaving it waiting on a turn.
#[tokio::test]
async fn a_detached_client_ends_the_audio_stream_upstream() {
    let fake = Fake::start(script()).await;
    let dir = tempfile::tempdir().unwrap();
    let server = gemini_server(dir.path(), fake.base_url()).await;
    let api = Api::new(server.addr());
    let auth = api.register("detach@example.org").await;
    let interview = api.create_interview(&auth.token, 2).await;
    let mut ws = connect(server.addr()).await;
    send(&mut ws, start_request(&auth.token, &interview.id)).await;
    let msg = recv(&mut ws).await.expect("StartResponse");
    assert!(matches!(msg.payload, Some(ServerPayload::StartResponse(_))));
    for (i, f) in loud_frames(15).into_iter().enumerate() {
        send(&mut ws, audio(i as u64 + 1, f)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fake.log().audio_stream_ends, 0, "not while attached");
    drop(ws);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while fake.log().audio_stream_ends == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no audioStreamEnd upstream after the client detached"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(fake.log().audio_stream_ends, 1);
    server.shutdown().await;
}

/// The candidate mutes mid-answer: the bridge tells the service the audio
/// stream stopped (once) and streams no silence meanwhile; unmuting sends
/// audio again.
#[tokio::test]
async fn a_muted_microphone_ends_the_audio_stream_upstream() {
    let fake = Fake::start(script()).await;
    let dir = tempfile::tempdir().unwrap();
    let server = gemini_server(dir.path(), fake.base_url()).await;
    let api = Api::new(server.addr());
    let auth = api.register("mute@example.org").await;
    let interview = api.create_interview(&auth.token, 2).await;
    let mut ws = connect(server.addr()).await;
    send(&mut ws, start_request(&auth.token, &interview.id)).await;
    let msg = recv(&mut ws).await.expect("StartResponse");
    assert!(matches!(msg.payload, Some(ServerPayload::StartResponse(_))));
    let mut seq = 0;
    for f in loud_frames(10) {
        seq += 1;
        send(&mut ws, audio(seq, f)).await;
    }
    let consumed = |n: u64| {
        let fake = &fake;
        async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
            while fake.log().latest.consumed < n {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the service got {} chunks, not {n}",
                    fake.log().latest.consumed
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    consumed(10).await;
    assert_eq!(fake.log().audio_stream_ends, 0, "not while the mic is on");
    for f in loud_frames(25) {
        seq += 1;
        send(&mut ws, muted_audio(seq, f)).await;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while fake.log().audio_stream_ends == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no audioStreamEnd upstream after the candidate muted"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for f in loud_frames(5) {
        seq += 1;
        send(&mut ws, audio(seq, f)).await;
    }
    consumed(15).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (ends, consumed) = {
        let log = fake.log();
        (log.audio_stream_ends, log.latest.consumed)
    };
    assert_eq!(ends, 1, "one stop for one mute");
    assert_eq!(consumed, 15, "no muted silence was streamed");
    server.shutdown().await;
}

/// Latency baseline on loopback (not a pass/fail test; run with
/// `cargo test -p candor-server --test gemini latency_baseline -- --ignored --nocapture`):
/// the candidate's end of speech → the first interviewer audio at the
/// client, over 20 turns, minus the fake's own scripted delays (its
/// end-of-turn silence of 10 chunks and its reply delay). Also the bridge
/// alone: the fake sending a turn's first audio → the client receiving it.
#[tokio::test]
#[ignore = "a measurement; prints figures"]
async fn latency_baseline() {
    const TURNS_N: usize = 20;
    const REPLY_DELAY_MS: u64 = 100;
    let turns: Vec<&'static str> = (0..=TURNS_N)
        .map(|i| {
            if i == TURNS_N {
                "Thank you. Goodbye."
            } else {
                "Next question: what did you do?"
            }
        })
        .collect();
    let answers: Vec<&'static str> = vec!["I did it"; TURNS_N];
    let fake = Fake::start(Script {
        turns,
        answers,
        turn_ms: 200,
        reply_delay_ms: REPLY_DELAY_MS,
        feedback_status: 200,
        ..Script::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let server = gemini_server(dir.path(), fake.base_url()).await;
    let api = Api::new(server.addr());
    let auth = api.register("latency@example.org").await;
    let interview = api.create_interview(&auth.token, 5).await;
    let mut ws = connect(server.addr()).await;
    send(&mut ws, start_request(&auth.token, &interview.id)).await;
    let silence = silence_frames(1).remove(0);
    let loud = loud_frames(15);
    let mut queue: VecDeque<Bytes> = VecDeque::new();
    let mut seq = 0u64;
    let mut started = false;
    let mut answering = false;
    let mut last_loud_sent: Option<tokio::time::Instant> = None;
    let mut first_audio_after: Vec<tokio::time::Instant> = Vec::new();
    let mut end_of_speech: Vec<tokio::time::Instant> = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        assert!(tokio::time::Instant::now() < deadline, "took too long");
        tokio::select! {
            _ = tick.tick(), if started => {
                seq += 1;
                let f = match queue.pop_front() {
                    Some(f) => {
                        if queue.is_empty() {
                            last_loud_sent = Some(tokio::time::Instant::now());
                        }
                        f
                    }
                    None => silence.clone(),
                };
                send(&mut ws, audio(seq, f)).await;
            }
            msg = recv(&mut ws) => {
                let Some(msg) = msg else { break };
                match msg.payload.expect("a payload") {
                    ServerPayload::StartResponse(_) => started = true,
                    ServerPayload::AudioChunk(_) => {
                        if let Some(t) = last_loud_sent.take() {
                            end_of_speech.push(t);
                            first_audio_after.push(tokio::time::Instant::now());
                        }
                    }
                    ServerPayload::InterviewerState(s) => {
                        if s.activity == InterviewerActivity::Listening as i32 && !answering {
                            answering = true;
                            queue.extend(loud.iter().cloned());
                        }
                        if s.activity == InterviewerActivity::Speaking as i32 {
                            answering = false;
                        }
                    }
                    ServerPayload::SessionEnded(_) => break,
                    _ => {}
                }
            }
        }
    }
    // The fake waits for 10 quiet chunks after the answer, then its reply delay.
    let scripted = Duration::from_millis(10 * 20 + REPLY_DELAY_MS);
    let mut e2e: Vec<f64> = end_of_speech
        .iter()
        .zip(&first_audio_after)
        .map(|(a, b)| (b.duration_since(*a).saturating_sub(scripted)).as_secs_f64() * 1000.0)
        .collect();
    let sent: Vec<tokio::time::Instant> =
        fake.log().turn_audio_sent.iter().map(|(t, _)| *t).collect();
    // The first model turn (the greeting) follows no answer.
    let mut bridge: Vec<f64> = sent
        .iter()
        .skip(1)
        .zip(&first_audio_after)
        .map(|(s, r)| r.saturating_duration_since(*s).as_secs_f64() * 1000.0)
        .collect();
    fn pct(v: &mut [f64], p: f64) -> f64 {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[((v.len() as f64 - 1.0) * p).round() as usize]
    }
    assert!(
        e2e.len() >= TURNS_N - 1,
        "only {} turns measured",
        e2e.len()
    );
    println!(
        "gemini latency, fake on loopback, {} turns: end of speech -> first interviewer audio at the client, scripted {} ms subtracted: p50 {:.1} ms, p95 {:.1} ms; fake sends audio -> client receives it: p50 {:.1} ms, p95 {:.1} ms",
        e2e.len(),
        scripted.as_millis(),
        pct(&mut e2e, 0.5),
        pct(&mut e2e, 0.95),
        pct(&mut bridge, 0.5),
        pct(&mut bridge, 0.95),
    );
    server.shutdown().await;
}
