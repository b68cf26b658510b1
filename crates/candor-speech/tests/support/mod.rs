//! Shared by the recognition tests and the benchmark: where `scripts/setup-speech` put
//! the models and the rendered fixtures, and reading them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The cache `scripts/setup-speech` fills: `$CANDOR_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/candor`, else `~/.cache/candor`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CANDOR_CACHE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("candor");
    }
    let home = std::env::var_os("HOME").expect("HOME is set");
    PathBuf::from(home).join(".cache").join("candor")
}

/// The models directory in the cache (laid out like the app's, one directory per model id).
pub fn models_dir() -> PathBuf {
    cache_dir().join("models")
}

/// A cached model's directory; panics with the fix when it is missing.
pub fn model_dir(id: &str) -> PathBuf {
    let dir = models_dir().join(id);
    assert!(
        dir.join("model.bin").is_file(),
        "the speech model {id} is not in {} — run scripts/setup-speech{}",
        dir.display(),
        if id == "whisper-base" {
            " with CANDOR_SETUP_WHISPER_BASE=1"
        } else {
            ""
        }
    );
    dir
}

/// A cached model's directory, if it is there.
pub fn optional_model_dir(id: &str) -> Option<PathBuf> {
    let dir = models_dir().join(id);
    dir.join("model.bin").is_file().then_some(dir)
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
