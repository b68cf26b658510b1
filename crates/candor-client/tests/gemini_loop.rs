//! The whole client in the loop with the Gemini interviewer: the
//! `candor-client` engine (as the app and the CLI run it) against the real
//! server running the Gemini engine on the faithful fake Live API
//! (`candor-server/tests/fake_gemini`), through an interview in which the
//! upstream announces `goAway` and then drops without warning mid-answer.
//! The interview completes, no candidate audio is lost, each answer is in
//! the transcript once, and the results carry the AI assessment.

#[path = "../../candor-server/tests/fake_gemini/mod.rs"]
mod fake_gemini;
mod support;

use std::time::Duration;

use candor_audio::{Generator, SinkSpec, SourceSpec};
use candor_client::{BackendConfig, Engine, EngineConfig};
use candor_lifecycle::InterviewView;
use candor_server::{ApiKey, Server, Store};
use fake_gemini::{Fake, KEY, Script};
use support::{Events, memory, start_live_interview};

const TURNS: [&str; 3] = [
    "Hello and welcome. Tell me about a project you led?",
    "Thanks. What was the hardest bug you fixed?",
    "Thank you, that is all from me. Goodbye.",
];
const ANSWERS: [&str; 2] = [
    "I um led the billing migration to Postgres with five engineers",
    "A race in the cache layer that like corrupted sessions",
];

/// The candidate: a voice-like tone (300 Hz, syllable-rate amplitude
/// modulation) for 2 s, then 2 s of silence, over and over.
fn candidate_voice() -> Generator {
    const RATE: f32 = 48_000.0;
    Generator::new(|first, block: &mut [f32]| {
        for (i, s) in block.iter_mut().enumerate() {
            let t = (first + i as u64) as f32 / RATE;
            let in_period = t % 4.0;
            *s = if in_period < 2.0 {
                let syllables = 0.6 + 0.4 * (2.0 * std::f32::consts::PI * 4.0 * t).sin();
                0.5 * syllables * (2.0 * std::f32::consts::PI * 300.0 * t).sin()
            } else {
                0.0
            };
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_completes_a_gemini_interview_across_go_away_and_a_drop() {
    let fake = Fake::start(Script {
        turns: TURNS.to_vec(),
        answers: ANSWERS.to_vec(),
        turn_ms: 600,
        // Both in the first answer: a planned switch, then on the new
        // connection an unplanned drop.
        go_away_at_loud: Some(10),
        drop_at_loud: Some(25),
        feedback_status: 200,
        ..Script::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = support::server_config(dir.path());
    config.gemini.api_key = ApiKey::new(KEY);
    config.gemini.base_url = fake.base_url();
    config.gemini.connect_timeout = Duration::from_secs(3);
    config.gemini.reconnect_backoff = Duration::from_millis(50);
    config.gemini.feedback_timeout = Duration::from_secs(10);
    let server = Server::start(config).await.expect("server starts");

    let url = url::Url::parse(&format!("http://{}/", server.addr())).unwrap();
    let mut engine_config = EngineConfig::new(BackendConfig::Remote { url }, memory());
    engine_config.input = SourceSpec::Live {
        rate: 48_000,
        generator: candidate_voice(),
        duration: None,
    };
    engine_config.output = SinkSpec::Null { rate: 48_000 };
    engine_config.seed = 7;
    let (engine, rx) = Engine::start(engine_config).await.expect("engine starts");
    let mut events = Events::new(rx);

    start_live_interview(&engine, &mut events, 2).await;
    let view = events
        .until_state("resultsReady", Duration::from_secs(90))
        .await;
    let InterviewView::ResultsReady {
        results,
        interview_id,
    } = view.interview
    else {
        unreachable!()
    };

    // The engine never left the interview: no reconnect on the client side.
    let states = events.states();
    assert!(
        !states.contains(&"reconnecting"),
        "the client noticed the upstream: {states:?}"
    );
    // No frame fell out of the client's replay buffer; all were stored but
    // those in flight when the server ended the interview (how many depends
    // on the machine's load; that both answers were heard whole is checked
    // below, and that every frame up to the end was stored once, after the
    // server stops).
    let (sent, stored, lost) = events.summary().expect("a session summary");
    assert_eq!(lost, 0);
    assert!(stored <= sent, "frames sent {sent}, stored {stored}");

    // The results: the Gemini interviewer, with the AI assessment.
    assert_eq!(results.engine, "gemini");
    assert!(
        results.assessment.is_some(),
        "no AI assessment: {:?}",
        results.assessment_unavailable
    );
    assert_eq!(results.questions.len(), 2, "two questions asked");
    // Each answer once, under its question, though its audio was replayed
    // after the drop.
    let answers: Vec<&str> = results
        .transcript
        .iter()
        .filter(|l| l.speaker == candor_client::ipc::Speaker::Candidate)
        .map(|l| l.text.as_str())
        .collect();
    assert_eq!(answers, ANSWERS.to_vec(), "{:?}", results.transcript);

    {
        let log = fake.log();
        assert_eq!(
            log.handles.len(),
            3,
            "goAway, then a drop: three connections"
        );
        assert!(log.handles[1].is_some() && log.handles[2].is_some());
        assert_eq!(log.realtime_text.len(), 1, "one kick-off");
        assert_eq!(log.feedback_requests.len(), 1);
        // Both answers heard in full, each once (the first across two
        // switches): the loud chunks of an answer are one run.
        assert_eq!(log.latest.answers_loud.len(), 2, "{:?}", log.latest);
        for n in &log.latest.answers_loud {
            assert!(*n >= 25, "an answer heard in part: {:?}", log.latest);
        }
    }
    engine.shutdown().await;
    server.shutdown().await;

    let store = candor_server::SqliteStore::open(dir.path()).unwrap();
    let session = store
        .latest_session(&interview_id)
        .unwrap()
        .expect("the interview's session");
    let seqs: Vec<u64> = store
        .candidate_audio(&session.id)
        .unwrap()
        .into_iter()
        .map(|(seq, _)| seq)
        .collect();
    assert_eq!(seqs, (1..=stored).collect::<Vec<_>>(), "every frame once");
}
