//! Shared by the recognition tests and the benchmark: where `scripts/setup-speech` put
//! the models and the rendered fixtures, and reading them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The cache `scripts/setup-speech` fills.
pub fn cache_dir() -> PathBuf {
    candor_speech::models::setup_cache_dir().expect("HOME is set")
}

/// A cached model's directory; panics with the fix when it is missing.
pub fn model_dir(id: &str) -> PathBuf {
    candor_speech::models::setup_cached_model(id).unwrap_or_else(|why| panic!("{why}"))
}

/// The models directory in the cache (laid out like the app's).
pub fn models_dir() -> PathBuf {
    cache_dir().join("models")
}

/// A cached model's directory, if it is there.
pub fn optional_model_dir(id: &str) -> Option<PathBuf> {
    candor_speech::models::setup_cached_model(id).ok()
}

/// One fixture sentence.
#[derive(Debug, Clone)]
pub struct Utterance {
    pub id: String,
    pub text: String,
}

impl Utterance {
    pub fn has_fillers(&self) -> bool {
        self.id.starts_with("filler_")
    }
}

/// The fixture sentences (tests/fixtures/utterances.tsv).
pub fn utterances() -> Vec<Utterance> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/utterances.tsv");
    std::fs::read_to_string(&path)
        .expect("utterances.tsv")
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (id, text) = line.split_once('\t').expect("id<TAB>text");
            Utterance {
                id: id.to_owned(),
                text: text.to_owned(),
            }
        })
        .collect()
}

/// Which voice spoke a rendered fixture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Voice {
    /// Piper's neural voice en_US-joe-medium.
    Piper,
    /// espeak-ng's formant synthesiser.
    Espeak,
}

impl Voice {
    fn dir(self) -> &'static str {
        match self {
            Voice::Piper => "piper",
            Voice::Espeak => "espeak",
        }
    }
}

/// A rendered fixture's audio, 16 kHz mono; panics with the fix when it is missing.
pub fn rendered(voice: Voice, id: &str) -> Vec<f32> {
    let path = cache_dir()
        .join("speech-fixtures")
        .join(voice.dir())
        .join(format!("{id}.wav"));
    assert!(
        path.is_file(),
        "the speech fixture {} is missing — run scripts/setup-speech",
        path.display()
    );
    read_wav_16k_mono(&path)
}

/// Recorded human speech: five LibriVox sentences (Sense and Sensibility) shipped by
/// Debian's pocketsphinx-testdata, with their transcripts.
pub fn librivox() -> Vec<(String, Vec<f32>)> {
    let dir = Path::new("/usr/share/pocketsphinx/test/data/librivox");
    let transcription = std::fs::read_to_string(dir.join("transcription")).unwrap_or_else(|_| {
        panic!(
            "{} is missing — scripts/setup installs pocketsphinx-testdata",
            dir.display()
        )
    });
    transcription
        .lines()
        .filter_map(|line| {
            // "<s> words </s> (file-id)"
            let (text, id) = line.rsplit_once('(')?;
            let id = id.trim().trim_end_matches(')');
            let text = text.replace("<s>", "").replace("</s>", "");
            Some((
                text.trim().to_owned(),
                read_wav_16k_mono(&dir.join(format!("{id}.wav"))),
            ))
        })
        .collect()
}

/// Reads a 16-bit (or float) 16 kHz WAV, mixing channels down to mono.
pub fn read_wav_16k_mono(path: &Path) -> Vec<f32> {
    let mut reader =
        hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let spec = reader.spec();
    assert_eq!(spec.sample_rate, 16_000, "{} is not 16 kHz", path.display());
    let channels = usize::from(spec.channels);
    let samples: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Int => {
            let scale = (1i64 << (spec.bits_per_sample - 1)) as f32;
            reader
                .samples::<i32>()
                .map(|s| s.unwrap() as f32 / scale)
                .collect()
        }
        hound::SampleFormat::Float => reader.samples::<f32>().map(Result::unwrap).collect(),
    };
    samples
        .chunks(channels)
        .map(|frame| frame.iter().sum::<f32>() / channels as f32)
        .collect()
}
