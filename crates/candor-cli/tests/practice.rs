//! `candor practice` end to end against the embedded offline backend: the
//! real binary, espeak-ng speech as the candidate (the interviewer's own
//! voice is synthesized inside Candor), the whole lifecycle from
//! sign-in to results — first with WAV files, then through the real cpal path
//! on a private PulseAudio server with a virtual microphone and speaker.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

const ANSWERS: [&str; 2] = [
    "In my last role I led the migration of our billing system to a new platform. \
     It took six months, and we cut our hosting costs by thirty percent.",
    "I disagreed with my manager about a release date. I brought data on the defect \
     rate, and we agreed to delay the launch by one week.",
];

fn espeak(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    let status = Command::new("espeak-ng")
        .arg("-w")
        .arg(&path)
        .arg(text)
        .status()
        .expect("espeak-ng is installed (scripts/setup installs it)");
    assert!(status.success());
    path
}

fn candor(args: &[&str], data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_candor"));
    cmd.arg("practice")
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--questions", "2", "--json", "--timeout", "240"])
        .args(args)
        .env_remove("CANDOR_BACKEND_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    cmd
}

/// The JSON lines of a running `candor`, delivered as they come.
fn lines(child: &mut Child) -> mpsc::Receiver<Value> {
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let value: Value =
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON: {line}: {e}"));
            if tx.send(value).is_err() {
                break;
            }
        }
    });
    rx
}

/// The state names the views went through, without repeats.
fn states(events: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in events.iter().filter(|e| e["type"] == "view") {
        let view = &e["view"];
        let name = if view["auth"]["state"] == "authenticated" {
            view["interview"]["state"].as_str().unwrap()
        } else {
            view["auth"]["state"].as_str().unwrap()
        };
        if out.last().map(String::as_str) != Some(name) {
            out.push(name.to_owned());
        }
    }
    out
}

fn check_run(events: &[Value]) {
    assert_eq!(
        states(events),
        [
            "unauthenticated",
            "authenticating",
            "idle",
            "initializing",
            "requestingPermissions",
            "connecting",
            "live",
            "ending",
            "processingResults",
            "resultsReady"
        ],
        "the lifecycle, in order"
    );
    let interviewer_lines = events
        .iter()
        .filter(|e| {
            e["type"] == "transcript" && e["speaker"] == "interviewer" && e["isFinal"] == true
        })
        .count();
    assert!(
        interviewer_lines >= 3,
        "greeting and two questions, got {interviewer_lines}"
    );
    let partials = events
        .iter()
        .filter(|e| e["type"] == "transcript" && e["isFinal"] == false)
        .count();
    assert!(
        partials > 0,
        "partial transcript text streams before it settles"
    );
    let answers: Vec<&Value> = events
        .iter()
        .filter(|e| {
            e["type"] == "transcript" && e["speaker"] == "candidate" && e["isFinal"] == true
        })
        .collect();
    assert_eq!(
        answers.len(),
        2,
        "one settled candidate segment per answer: {answers:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "level" && e["level"].as_f64().unwrap() > 0.1)
    );

    let results = &events.last().expect("events")["results"];
    assert_eq!(events.last().unwrap()["type"], "results");
    let overall = &results["overall"];
    assert!(
        overall["candidateSpeakingSec"].as_f64().unwrap() > 6.0,
        "{overall}"
    );
    assert!(
        overall["interviewerSpeakingSec"].as_f64().unwrap() > 5.0,
        "{overall}"
    );
    assert_eq!(results["questions"].as_array().unwrap().len(), 2);
    assert!(!results["scores"].as_array().unwrap().is_empty());
    for q in results["questions"].as_array().unwrap() {
        assert!(q["answerSec"].as_f64().unwrap() > 3.0, "{q}");
    }
}

fn rms_db(samples: &[f32]) -> f64 {
    let mean =
        samples.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / samples.len().max(1) as f64;
    10.0 * mean.max(1e-12).log10()
}

/// Also the proof that the interviewer's voice is part of the app: Candor
/// runs with an empty `PATH`, so any speech program it tried to start would
/// not be found, and the interviewer must still be heard.
#[test]
fn a_whole_interview_from_wav_answers() {
    let dir = tempfile::tempdir().unwrap();
    let a1 = espeak(dir.path(), "a1.wav", ANSWERS[0]);
    let a2 = espeak(dir.path(), "a2.wav", ANSWERS[1]);
    let out = dir.path().join("interviewer.wav");
    let no_programs = dir.path().join("empty-path");
    std::fs::create_dir(&no_programs).unwrap();
    let mut child = candor(
        &[
            "--input",
            a1.to_str().unwrap(),
            "--input",
            a2.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
        ],
        &dir.path().join("data"),
    )
    .env("PATH", &no_programs)
    .spawn()
    .unwrap();
    let rx = lines(&mut child);
    let events: Vec<Value> = rx.iter().collect();
    let status = child.wait().unwrap();
    assert!(status.success(), "candor exited with {status}");
    check_run(&events);

    let (rate, interviewer) = candor_audio::wav::read_mono(&out).unwrap();
    let seconds = interviewer.len() as f64 / f64::from(rate);
    assert!(seconds > 10.0, "the interviewer's audio lasts {seconds} s");
    assert!(rms_db(&interviewer) > -40.0, "the interviewer is audible");

    // The interview is in the history, with results.
    let history = Command::new(env!("CARGO_BIN_EXE_candor"))
        .args(["history", "--json", "--data-dir"])
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(history.status.success());
    let items: Vec<Value> = String::from_utf8(history.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["status"], "ready");

    // Exported headless into a folder.
    let id = items[0]["id"].as_str().unwrap();
    let folder = dir.path().join("export");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_candor"))
            .args(args)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .env_remove("CANDOR_BACKEND_URL")
            .output()
            .unwrap()
    };
    let export = run(&[
        "results",
        id,
        "--json",
        "--export",
        folder.to_str().unwrap(),
    ]);
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    let exported: Value = serde_json::from_slice(&export.stdout).unwrap();
    let files: Vec<&str> = exported["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert_eq!(
        files,
        [
            "README.txt",
            "interview.ogg",
            "answer-01.ogg",
            "answer-02.ogg",
            "transcript.txt",
            "transcript.vtt",
            "report.html"
        ]
    );
    for f in &files {
        assert!(folder.join(f).metadata().unwrap().len() > 0, "{f}");
    }
    let again = run(&["results", id, "--export", folder.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(1), "an export never overwrites");

    // Deleted, after confirming.
    assert_eq!(run(&["delete", id]).status.code(), Some(2), "needs --yes");
    assert!(run(&["delete", id, "--yes"]).status.success());
    let history = run(&["history", "--json"]);
    assert!(history.status.success());
    assert!(history.stdout.is_empty(), "nothing left in the history");
    assert_eq!(
        run(&["results", id]).status.code(),
        Some(1),
        "no results left"
    );
}

/// Whisper tiny.en where `scripts/setup` caches it.
fn speech_model() -> PathBuf {
    candor_speech::models::setup_cached_model("whisper-tiny.en")
        .unwrap_or_else(|why| panic!("{why}"))
}

#[test]
fn with_a_speech_model_the_results_carry_the_candidates_words() {
    let dir = tempfile::tempdir().unwrap();
    // Two answers in a natural voice (scripts/setup renders them with Piper):
    // one with a figure, one with fillers.
    let fixtures = candor_speech::models::setup_cache_dir()
        .expect("a cache directory")
        .join("speech-fixtures/piper");
    let a1 = fixtures.join("failure.wav");
    let a2 = fixtures.join("filler_answer.wav");
    let model = speech_model();
    let mut child = candor(
        &[
            "--input",
            a1.to_str().unwrap(),
            "--input",
            a2.to_str().unwrap(),
            "--speech-model",
            model.to_str().unwrap(),
        ],
        &dir.path().join("data"),
    )
    .spawn()
    .unwrap();
    let rx = lines(&mut child);
    let events: Vec<Value> = rx.iter().collect();
    let status = child.wait().unwrap();
    let tail: Vec<String> = events
        .iter()
        .filter(|e| e["type"] != "level")
        .rev()
        .take(4)
        .map(|e| e.to_string())
        .collect();
    assert!(
        status.success(),
        "candor exited with {status}; last events: {tail:#?}"
    );
    assert_eq!(events.last().unwrap()["type"], "results");
    let results = &events.last().unwrap()["results"];
    let overall = &results["overall"];
    println!("{overall}");
    assert!(
        overall["wordsPerMinute"].as_f64().is_some_and(|w| w > 60.0),
        "words per minute: {overall}"
    );
    assert!(
        overall["fillerWords"].as_u64().is_some_and(|f| f >= 1),
        "the um is counted: {overall}"
    );
    let said: Vec<&str> = results["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["speaker"] == "candidate")
        .map(|l| l["text"].as_str().unwrap())
        .collect();
    assert!(
        said.iter().any(|t| t.to_lowercase().contains("migration")),
        "the candidate's words are in the transcript: {said:?}"
    );
}

#[test]
fn a_whole_interview_through_the_virtual_microphone_and_speaker() {
    let pulse = candor_audio::test_support::PrivatePulse::start().expect("private PulseAudio");
    let dir = tempfile::tempdir().unwrap();
    let answers = [
        espeak(dir.path(), "a1.wav", ANSWERS[0]),
        espeak(dir.path(), "a2.wav", ANSWERS[1]),
    ];
    let speaker = pulse.record_speaker().unwrap();
    let mut child = candor(&["--mic", "--speaker"], &dir.path().join("data"))
        .spawn()
        .unwrap();
    let rx = lines(&mut child);
    let deadline = Instant::now() + Duration::from_secs(200);
    let mut events = Vec::new();
    let mut spoken = 0;
    let mut ended = false;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "the interview did not finish in time");
        match rx.recv_timeout(left) {
            Ok(event) => {
                let listening = event["type"] == "interviewer" && event["activity"] == "listening";
                events.push(event);
                if listening && spoken < answers.len() {
                    // Speak the answer into the virtual microphone (blocks while it plays).
                    pulse.play_into_mic(&answers[spoken]).unwrap();
                    spoken += 1;
                    if spoken == answers.len() && !ended {
                        // All answered: end as a user would (Ctrl-C ends the
                        // interview), before the interviewer's closing words.
                        std::thread::sleep(Duration::from_millis(800));
                        let ok = Command::new("kill")
                            .args(["-INT", &child.id().to_string()])
                            .status()
                            .unwrap();
                        assert!(ok.success());
                        ended = true;
                    }
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => panic!("no output from candor"),
        }
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "candor exited with {status}");
    assert_eq!(spoken, 2);
    check_run(&events);
    let heard = speaker.finish();
    assert!(heard.len() > 48_000 * 5, "recorded {} samples", heard.len());
    assert!(
        rms_db(&heard) > -45.0,
        "the interviewer was played on the speaker"
    );
    drop(pulse);
}
