//! Recognition with the real Whisper tiny.en model on speech fixtures: word error rate on
//! sentences spoken by a neural voice (Piper), by espeak-ng and by people (LibriVox),
//! filler words kept, silence left empty, and the worker end to end.
//!
//! Needs `scripts/setup-speech` (the model and the rendered fixtures, in the cache) and
//! Debian's pocketsphinx-testdata; `scripts/test` runs both.

mod support;

use std::sync::mpsc;
use std::time::Duration;

use candor_speech::wer::{WordErrors, normalized_words};
use candor_speech::{
    RecognitionEvent, RecognitionWorker, Recognizer, RecognizerOptions, SpeechError, TurnId,
    WorkerConfig,
};
use support::{Voice, librivox, model_dir, rendered, utterances};

fn tiny_en() -> Recognizer {
    Recognizer::load(model_dir("whisper-tiny.en"), RecognizerOptions::default())
        .expect("tiny.en loads")
}

/// Transcribes every fixture without filler words in `voice`; prints each line and
/// returns the corpus's errors.
fn score(recognizer: &Recognizer, voice: Voice) -> WordErrors {
    utterances()
        .into_iter()
        .filter(|u| !u.has_fillers())
        .map(|u| {
            let text = recognizer.transcribe(&rendered(voice, &u.id)).unwrap();
            let errors = WordErrors::between(&u.text, &text);
            println!(
                "{voice:?} {:<10} {:>2}/{:<2} {text}",
                u.id, errors.errors, errors.reference_words
            );
            errors
        })
        .sum()
}

#[test]
fn a_neural_voice_is_recognised_within_15_percent_word_error_rate() {
    let total = score(&tiny_en(), Voice::Piper);
    println!(
        "Piper en_US-joe-medium, tiny.en: WER {:.1} % ({total:?})",
        total.rate() * 100.0
    );
    assert!(total.reference_words > 100);
    assert!(
        total.rate() <= 0.15,
        "WER {:.1} % > 15 %",
        total.rate() * 100.0
    );
}

#[test]
fn espeak_ng_speech_is_recognised_too() {
    // espeak-ng's formant voice is far from human speech; this reports how far it drags
    // Whisper down (the report lists it), and guards against recognition breaking outright.
    let total = score(&tiny_en(), Voice::Espeak);
    println!(
        "espeak-ng en-us, tiny.en: WER {:.1} % ({total:?})",
        total.rate() * 100.0
    );
    assert!(total.rate() <= 0.35, "WER {:.1} %", total.rate() * 100.0);
}

#[test]
fn recorded_human_speech_is_recognised_within_15_percent_word_error_rate() {
    let recognizer = tiny_en();
    let total: WordErrors = librivox()
        .into_iter()
        .map(|(reference, audio)| {
            let text = recognizer.transcribe(&audio).unwrap();
            let errors = WordErrors::between(&reference, &text);
            println!(
                "LibriVox {:>2}/{:<2} {text}",
                errors.errors, errors.reference_words
            );
            errors
        })
        .sum();
    println!(
        "LibriVox (pocketsphinx-testdata), tiny.en: WER {:.1} % ({total:?})",
        total.rate() * 100.0
    );
    assert!(total.reference_words > 50);
    assert!(
        total.rate() <= 0.15,
        "WER {:.1} % > 15 %",
        total.rate() * 100.0
    );
}

/// Occurrences of each filler in a transcript ("you know" counted as one).
fn fillers(text: &str) -> Vec<&'static str> {
    let words = normalized_words(text);
    let mut found = Vec::new();
    for (i, word) in words.iter().enumerate() {
        match word.as_str() {
            "um" | "umm" | "uhm" => found.push("um"),
            "uh" | "uhh" | "er" => found.push("uh"),
            "like" => found.push("like"),
            "you" if words.get(i + 1).is_some_and(|w| w == "know") => found.push("you know"),
            _ => {}
        }
    }
    found
}

#[test]
fn filler_words_are_kept() {
    let recognizer = tiny_en();
    for utterance in utterances().into_iter().filter(|u| u.has_fillers()) {
        let text = recognizer
            .transcribe(&rendered(Voice::Piper, &utterance.id))
            .unwrap();
        let heard = fillers(&text);
        println!("{}: {text:?} → {heard:?}", utterance.id);
        let mut expected = fillers(&utterance.text);
        let mut heard_sorted = heard.clone();
        expected.sort_unstable();
        heard_sorted.sort_unstable();
        assert_eq!(heard_sorted, expected, "fillers in {:?}", utterance.id);
    }
}

#[test]
fn without_the_disfluent_prompt_whisper_drops_fillers() {
    // The contrast that makes the prompt necessary: same audio, no prompt.
    let plain = Recognizer::load(
        model_dir("whisper-tiny.en"),
        RecognizerOptions {
            initial_prompt: None,
            ..RecognizerOptions::default()
        },
    )
    .unwrap();
    let prompted = tiny_en();
    let count = |recognizer: &Recognizer| -> usize {
        utterances()
            .iter()
            .filter(|u| u.has_fillers())
            .map(|u| {
                let text = recognizer
                    .transcribe(&rendered(Voice::Piper, &u.id))
                    .unwrap();
                println!(
                    "{:?}: {text}",
                    recognizer.options().initial_prompt.is_some()
                );
                fillers(&text)
                    .iter()
                    .filter(|f| matches!(**f, "um" | "uh"))
                    .count()
            })
            .sum()
    };
    let (with_prompt, without) = (count(&prompted), count(&plain));
    println!("um/uh kept: {with_prompt} with the prompt, {without} without");
    assert!(with_prompt > without);
}

#[test]
fn silence_yields_no_text() {
    let recognizer = tiny_en();
    assert_eq!(recognizer.transcribe(&[]).unwrap(), "");
    assert_eq!(recognizer.transcribe(&vec![0.0; 3 * 16_000]).unwrap(), "");
}

#[test]
fn a_turn_longer_than_one_window_is_transcribed_whole() {
    // Two fixtures joined by 25 s of silence: the second one starts just before 30 s, so
    // a cut at exactly 30 s would split its first words between two windows.
    let recognizer = tiny_en();
    let first = utterances().into_iter().find(|u| u.id == "intro").unwrap();
    let second = utterances()
        .into_iter()
        .find(|u| u.id == "question")
        .unwrap();
    let mut audio = rendered(Voice::Piper, &first.id);
    audio.resize(audio.len() + 25 * 16_000, 0.0);
    audio.extend(rendered(Voice::Piper, &second.id));
    assert!(audio.len() > 30 * 16_000);
    let text = recognizer.transcribe(&audio).unwrap();
    let reference = format!("{} {}", first.text, second.text);
    let errors = WordErrors::between(&reference, &text);
    println!("{text}");
    assert!(errors.rate() <= 0.15, "{errors:?}");
}

#[test]
fn the_tail_of_a_turn_tells_how_it_ends() {
    // What the interviewer decides the end of an answer by: the last words and
    // the full stop after them, from the last 4 s alone.
    let recognizer = tiny_en();
    let last_word = |text: &str| {
        text.split_whitespace()
            .last()
            .unwrap_or_default()
            .trim_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase()
    };
    let mut matched = 0;
    let fixtures: Vec<_> = utterances()
        .into_iter()
        .filter(|u| !u.has_fillers())
        .collect();
    for u in &fixtures {
        let audio = rendered(Voice::Piper, &u.id);
        let tail = recognizer
            .transcribe_tail(&audio)
            .unwrap()
            .unwrap_or_else(|| panic!("{}: the tail ran away", u.id));
        println!("{}: {tail}", u.id);
        assert!(
            tail.ends_with(['.', '?', '!']),
            "{}: a whole sentence ends: {tail}",
            u.id
        );
        assert!(
            tail.split_whitespace().count() < u.text.split_whitespace().count() + 3,
            "{}: only the end: {tail}",
            u.id
        );
        matched += usize::from(last_word(&tail) == last_word(&u.text));
    }
    assert!(
        matched * 10 >= fixtures.len() * 8,
        "{matched} of {} last words heard",
        fixtures.len()
    );
}

#[test]
fn the_worker_delivers_final_transcripts_of_real_turns() {
    let (events_tx, events) = mpsc::channel();
    let worker = RecognitionWorker::spawn(tiny_en(), WorkerConfig::default(), move |event| {
        events_tx.send(event).unwrap();
    })
    .unwrap();
    let fixtures: Vec<_> = utterances()
        .into_iter()
        .filter(|u| !u.has_fillers())
        .take(2)
        .collect();
    // A partial of the first turn's first second, then both turns.
    let first = rendered(Voice::Piper, &fixtures[0].id);
    worker
        .submit_partial(TurnId(1), first[..16_000].to_vec())
        .unwrap();
    worker.submit_final(TurnId(1), first).unwrap();
    worker
        .submit_final(TurnId(2), rendered(Voice::Piper, &fixtures[1].id))
        .unwrap();
    let mut finals = Vec::new();
    while finals.len() < 2 {
        match events
            .recv_timeout(Duration::from_secs(120))
            .expect("an event")
        {
            RecognitionEvent::Final(transcript) => finals.push(transcript),
            RecognitionEvent::Partial { turn, .. } => assert_eq!(turn, TurnId(1)),
            RecognitionEvent::Tail { turn, .. } => panic!("no tail was asked for: {turn:?}"),
            RecognitionEvent::Failed { error, .. } => panic!("{error}"),
        }
    }
    for (transcript, fixture) in finals.iter().zip(&fixtures) {
        assert!(
            WordErrors::between(&fixture.text, &transcript.text).rate() <= 0.25,
            "{transcript:?}"
        );
        assert!(transcript.audio > Duration::from_secs(1));
    }
    assert_eq!((finals[0].turn, finals[1].turn), (TurnId(1), TurnId(2)));
    worker.shutdown();
}

#[test]
fn a_missing_model_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let error = Recognizer::load(dir.path(), RecognizerOptions::default()).unwrap_err();
    assert!(
        matches!(
            error,
            SpeechError::ModelFileMissing {
                file: "model.bin",
                ..
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("missing model.bin"));
}

#[test]
fn the_preprocessor_config_written_by_setup_is_the_crate_s() {
    let written =
        std::fs::read_to_string(model_dir("whisper-tiny.en").join("preprocessor_config.json"))
            .unwrap();
    assert_eq!(written, candor_speech::models::PREPROCESSOR_CONFIG_JSON);
}
