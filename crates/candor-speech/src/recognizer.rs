//! The recognizer: a Whisper model in CTranslate2 format, loaded once, turning one
//! candidate turn (16 kHz mono `f32`) into its transcript.
//!
//! Whisper was trained on transcripts that mostly leave out "um", "uh" and other
//! disfluencies, so by default it drops them. Candor's feedback counts filler words, so
//! every window is decoded after a *previous-text prompt* written in the disfluent style
//! (`<|startofprev|>` + [`DISFLUENT_PROMPT`]): the decoder continues in the style it was
//! shown and keeps the fillers it hears.
//!
//! A turn shorter than 30 s is encoded in a window fitted to it ([`EncoderWindow`]): the
//! encoder's cost grows with its window, not with the speech in it. Decoding a fitted
//! window is bounded by the audio's length, and a transcript that runs away (reaches that
//! bound or [`repeats_itself`]) is decoded again in the full window.
//!
//! Decoding is blocking and CPU-heavy (hundreds of milliseconds per turn): call it from
//! [`crate::RecognitionWorker`]'s thread, never from an audio callback or an async task.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ct2rs::sys::{self, StorageView, WhisperOptions};
use ct2rs::tokenizers::hf;

use crate::SpeechError;
use crate::features::{CHUNK_FRAMES, HOP_LENGTH, LogMel, SAMPLE_RATE, split_at_pauses};

/// The previous-text prompt that keeps filler words: Whisper continues in this style.
pub const DISFLUENT_PROMPT: &str = "Umm, let me think like, hmm... Okay, so, uh, here's what I'm, like, thinking. I mean, you know, it's, um, hard to say.";

/// Files a model directory must hold for [`Recognizer::load`].
pub const MODEL_FILES: [&str; 3] = ["model.bin", "config.json", "tokenizer.json"];

/// CTranslate2's arithmetic for the model's weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// 8-bit integer weights with 32-bit float activations: about twice as fast as
    /// float32 on CPUs, with the same transcripts in our fixtures (faster-whisper's CPU
    /// default).
    #[default]
    Int8,
    /// 32-bit floats throughout.
    Float32,
}

/// How long the encoder's window is for a turn shorter than Whisper's 30 s.
///
/// The encoder's cost grows with its window (tiny.en: ~1.3 s of CPU for 30 s, whatever
/// the turn's length), so a short turn is recognised sooner in a short window. Whisper
/// was trained on 30 s windows only: without silence after the speech it does not see
/// the turn end and tiny.en repeats itself. A fitted window therefore keeps `padding` of
/// silence after the speech, decoding stops at a length the audio can hold, and a
/// transcript that still runs away is thrown out and the turn decoded again in the full
/// window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncoderWindow {
    /// Always Whisper's 30 s window.
    Full,
    /// The turn and `padding` of silence, at least `min` long.
    Fitted {
        /// Silence kept after the turn's audio.
        padding: Duration,
        /// The shortest window.
        min: Duration,
    },
}

impl EncoderWindow {
    /// The window for Candor's turns: the turn plus 8 s of silence, at least 16 s. (4 s
    /// and 8 s were as fast on average, but tiny.en ran away there more often, and each
    /// runaway costs a second decode in the full window.)
    pub const DEFAULT: Self = Self::Fitted {
        padding: Duration::from_secs(8),
        min: Duration::from_secs(16),
    };

    /// Encoder frames (10 ms each, even: the encoder halves them) for a window holding
    /// `samples` of audio; [`CHUNK_FRAMES`] when it would not be shorter.
    pub fn frames_for(self, samples: usize) -> usize {
        match self {
            Self::Full => CHUNK_FRAMES,
            Self::Fitted { padding, min } => {
                let padded = samples + duration_samples(padding);
                let frames = padded
                    .div_ceil(HOP_LENGTH)
                    .max(duration_samples(min) / HOP_LENGTH);
                (frames.div_ceil(2) * 2).min(CHUNK_FRAMES)
            }
        }
    }
}

impl Default for EncoderWindow {
    fn default() -> Self {
        Self::DEFAULT
    }
}

fn duration_samples(d: Duration) -> usize {
    (d.as_secs_f64() * f64::from(SAMPLE_RATE)).round() as usize
}

/// How much of a turn's end [`Recognizer::transcribe_tail`] hears: the last clause or two.
pub const TAIL: Duration = Duration::from_secs(4);

/// How far from [`TAIL`] the tail may start, either way: at the quietest 10 ms in that
/// span (between two words, where there is a gap) rather than at exactly [`TAIL`], which
/// is often within a word. Given a clipped first word, Whisper makes up words for it:
/// "…est strength is that" came back as "The first thing I'm going to bring is that".
pub const TAIL_CUT_SLACK: Duration = Duration::from_millis(250);

/// Where the tail of `audio` (16 kHz) starts: at the start of the quietest 10 ms block
/// within [`TAIL_CUT_SLACK`] of [`TAIL`] from the end (the whole of a turn shorter than
/// that), the latest of equally quiet blocks.
fn tail_start(audio: &[f32]) -> usize {
    let block = duration_samples(Duration::from_millis(10));
    let nominal = audio.len().saturating_sub(duration_samples(TAIL));
    let slack = duration_samples(TAIL_CUT_SLACK);
    if nominal == 0 {
        return 0;
    }
    let first = nominal.saturating_sub(slack);
    let last = (nominal + slack).min(audio.len().saturating_sub(block));
    let energy = |at: usize| audio[at..at + block].iter().map(|s| s * s).sum::<f32>();
    (first..=last)
        .step_by(block)
        .min_by(|a, b| energy(*a).total_cmp(&energy(*b)).then(b.cmp(a)))
        .unwrap_or(nominal)
}

/// The encoder window for a turn's tail. Measured on the Piper fixtures' last 4 s
/// (tiny.en, int8): +4 s ≥ 8 s decoded in about half the time of the whole turn in
/// [`EncoderWindow::DEFAULT`], with no runaway; 3 s tails ran away in 2 of 10, in ≥ 6 s
/// and ≥ 8 s windows alike.
pub const TAIL_WINDOW: EncoderWindow = EncoderWindow::Fitted {
    padding: Duration::from_secs(4),
    min: Duration::from_secs(8),
};

/// How far a decode may go: `tokens` text tokens per window; with `reject_runaway`, a
/// transcript that goes past them or repeats itself is refused (to be decoded again).
#[derive(Debug, Clone, Copy)]
struct Bound {
    tokens: usize,
    reject_runaway: bool,
}

/// Text tokens a fitted window may decode per second of audio (fast speech is ~4 words,
/// ~6 tokens, a second), and a few more for any window: more means the decoder is
/// repeating itself.
const TOKENS_PER_SECOND: f64 = 8.0;
const EXTRA_TOKENS: usize = 12;

/// How a [`Recognizer`] decodes.
#[derive(Debug, Clone, PartialEq)]
pub struct RecognizerOptions {
    /// Beam width; 1 is greedy decoding (fastest).
    pub beam_size: usize,
    /// Threads CTranslate2 uses for one turn (0: its default, min(4, cores)). Two by
    /// default: on two idle cores a turn is recognised in ~0.6 of the time one thread
    /// takes (the end of an answer's final transcript, p50, 1.32 s → 0.75 s in the
    /// `response_latency` bench). The audio path does not pay for it: its threads ask
    /// for real-time priority, and the recognition worker runs below normal priority
    /// ([`crate::RecognitionWorker`]).
    pub threads: usize,
    /// Weight arithmetic.
    pub precision: Precision,
    /// The previous-text prompt; `None` decodes without one (Whisper's own style, which
    /// drops most fillers).
    pub initial_prompt: Option<String>,
    /// Spoken language for multilingual models, as Whisper's code (`"en"`); English-only
    /// models ignore it.
    pub language: String,
    /// Windows whose no-speech probability is above this yield no text (silence would
    /// otherwise come back as an invented sentence).
    pub no_speech_threshold: f32,
    /// The encoder's window for turns shorter than 30 s.
    pub window: EncoderWindow,
}

impl Default for RecognizerOptions {
    fn default() -> Self {
        Self {
            beam_size: 1,
            threads: 2,
            precision: Precision::Int8,
            initial_prompt: Some(DISFLUENT_PROMPT.to_owned()),
            language: "en".to_owned(),
            no_speech_threshold: 0.6,
            window: EncoderWindow::DEFAULT,
        }
    }
}

/// A loaded Whisper model. Transcribing takes `&self`; one turn at a time is the
/// intended use (CTranslate2 already spreads one turn over [`RecognizerOptions::threads`]).
pub struct Recognizer {
    dir: PathBuf,
    whisper: sys::Whisper,
    tokenizer: hf::Tokenizer,
    features: LogMel,
    prompt: Vec<String>,
    multilingual: bool,
    options: RecognizerOptions,
}

impl std::fmt::Debug for Recognizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recognizer")
            .field("dir", &self.dir)
            .field("multilingual", &self.multilingual)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Recognizer {
    /// Loads the model in `dir` (a CTranslate2 Whisper conversion: `model.bin`,
    /// `config.json`, `tokenizer.json`). Takes a fraction of a second for tiny.en; do it
    /// off any latency-sensitive thread.
    pub fn load(dir: impl AsRef<Path>, options: RecognizerOptions) -> Result<Self, SpeechError> {
        let dir = dir.as_ref().to_path_buf();
        for file in MODEL_FILES {
            if !dir.join(file).is_file() {
                return Err(SpeechError::ModelFileMissing { dir, file });
            }
        }
        let load_error = |reason: String| SpeechError::ModelLoad {
            dir: dir.clone(),
            reason,
        };
        let config = ct2rs::Config {
            compute_type: match options.precision {
                Precision::Int8 => ct2rs::ComputeType::INT8,
                Precision::Float32 => ct2rs::ComputeType::FLOAT32,
            },
            num_threads_per_replica: options.threads,
            ..Default::default()
        };
        let whisper = sys::Whisper::new(&dir, config).map_err(|e| load_error(format!("{e:#}")))?;
        let tokenizer = hf::Tokenizer::new(&dir).map_err(|e| load_error(format!("{e:#}")))?;
        let multilingual = whisper.is_multilingual();
        let prompt = prompt_tokens(&tokenizer, multilingual, &options)?;
        let features = LogMel::new(whisper.n_mels());
        Ok(Self {
            dir,
            whisper,
            tokenizer,
            features,
            prompt,
            multilingual,
            options,
        })
    }

    /// The directory the model was loaded from.
    pub fn model_dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the model understands languages other than English.
    pub fn is_multilingual(&self) -> bool {
        self.multilingual
    }

    /// The options the model was loaded with.
    pub fn options(&self) -> &RecognizerOptions {
        &self.options
    }

    /// Transcribes one turn: `audio` is 16 kHz mono, samples in `[-1, 1]`, of any length
    /// (turns longer than 30 s are cut into windows at pauses and decoded in one batch).
    /// Returns the text with Whisper's casing and punctuation, trimmed; empty for silence.
    pub fn transcribe(&self, audio: &[f32]) -> Result<String, SpeechError> {
        if audio.is_empty() {
            return Ok(String::new());
        }
        let windows: Vec<&[f32]> = split_at_pauses(audio)
            .into_iter()
            .map(|w| &audio[w])
            .collect();
        let frames = match windows.as_slice() {
            [one] => self.options.window.frames_for(one.len()),
            _ => CHUNK_FRAMES,
        };
        if frames < CHUNK_FRAMES {
            // A fitted window: bounded decoding, and the full window when it runs away —
            // bounded too (a turn cut mid-word can loop there as well), keeping what it
            // says up to the bound.
            let limit =
                EXTRA_TOKENS + (Self::duration_of(audio.len()) * TOKENS_PER_SECOND).ceil() as usize;
            let bounded = Bound {
                tokens: limit,
                reject_runaway: true,
            };
            if let Some(text) = self.decode(&windows, frames, Some(bounded))? {
                return Ok(text);
            }
            let bounded = Bound {
                reject_runaway: false,
                ..bounded
            };
            return Ok(self
                .decode(&windows, CHUNK_FRAMES, Some(bounded))?
                .unwrap_or_default());
        }
        Ok(self
            .decode(&windows, CHUNK_FRAMES, None)?
            .unwrap_or_default())
    }

    /// Transcribes only the last [`TAIL`] of a turn still in progress, to judge whether
    /// it ends on a finished thought (the end of a turn is decided by how it ends, not by
    /// all of it). The tail is encoded in [`TAIL_WINDOW`], half the shortest window a
    /// whole turn gets, so the answer is there in about half the time. It starts at the
    /// quietest moment near [`TAIL`] from the end ([`TAIL_CUT_SLACK`]), between words
    /// where there is a gap; without one it may start mid-word, and its first words are
    /// not worth keeping. `None` when the decoder runs away:
    /// there is no second decode in a longer window, because a verdict that comes a second
    /// late is worth nothing (the turn then ends on the longer silence).
    pub fn transcribe_tail(&self, audio: &[f32]) -> Result<Option<String>, SpeechError> {
        let tail = &audio[tail_start(audio)..];
        if tail.is_empty() {
            return Ok(Some(String::new()));
        }
        let bound = Bound {
            tokens: EXTRA_TOKENS
                + (Self::duration_of(tail.len()) * TOKENS_PER_SECOND).ceil() as usize,
            reject_runaway: true,
        };
        self.decode(&[tail], TAIL_WINDOW.frames_for(tail.len()), Some(bound))
    }

    /// Decodes `windows` (one batch) in encoder windows of `frames`, within `bound`.
    /// `None` when a window's transcript runs away (reaches the bound or repeats itself)
    /// and the bound rejects that.
    fn decode(
        &self,
        windows: &[&[f32]],
        frames: usize,
        bound: Option<Bound>,
    ) -> Result<Option<String>, SpeechError> {
        let limit = bound.map(|b| b.tokens);
        let reject = bound.is_some_and(|b| b.reject_runaway);
        let n_mels = self.features.n_mels();
        let mut mel = Vec::with_capacity(windows.len() * n_mels * frames);
        for window in windows {
            self.features.features(window, frames, &mut mel);
        }
        let features = StorageView::new(
            &[windows.len(), n_mels, frames],
            &mut mel,
            Default::default(),
        )
        .map_err(recognition_error)?;
        let prompts = vec![self.prompt.clone(); windows.len()];
        let mut options = WhisperOptions {
            beam_size: self.options.beam_size.max(1),
            return_no_speech_prob: true,
            ..Default::default()
        };
        if let Some(limit) = limit {
            // CTranslate2's `max_length` counts the prompt and decodes at most half of
            // it: room for one token past the limit, so reaching it shows.
            options.max_length = 2 * (limit + 1) + self.prompt.len();
        }
        let results = self
            .whisper
            .generate(&features, &prompts, &options)
            .map_err(recognition_error)?;
        let mut text = String::new();
        for result in results {
            if result.no_speech_prob > self.options.no_speech_threshold {
                continue;
            }
            let Some(ids) = result.sequences_ids.first() else {
                continue;
            };
            if reject && limit.is_some_and(|limit| ids.len() > limit) {
                return Ok(None);
            }
            let ids: Vec<u32> = ids.iter().map(|&id| id as u32).collect();
            let window_text = self
                .tokenizer
                .decode(&ids, true)
                .map_err(recognition_error)?;
            let window_text = window_text.trim();
            if reject && repeats_itself(window_text) {
                return Ok(None);
            }
            if !window_text.is_empty() {
                if !text.is_empty() {
                    text.push(' ');
                }
                text.push_str(window_text);
            }
        }
        Ok(Some(text))
    }

    /// Seconds of audio in `samples` at Whisper's sample rate.
    pub fn duration_of(samples: usize) -> f64 {
        samples as f64 / f64::from(SAMPLE_RATE)
    }
}

/// Whether `text` reads like a decoder loop: it ends in the same run of 1–3 words said
/// three times over or a run of 4 or more said twice, or it says the same 6 words twice
/// anywhere. People repeat a word or two when they hesitate, seldom a whole phrase within
/// one short turn; tiny.en in a loop repeats whole sentences.
pub fn repeats_itself(text: &str) -> bool {
    let words: Vec<String> = text
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect();
    let tail_loop = (1..=words.len() / 2).any(|n| {
        let times = if n >= 4 { 2 } else { 3 };
        words.len() >= n * times
            && (1..times).all(|k| {
                let end = words.len() - k * n;
                words[end - n..end] == words[words.len() - n..]
            })
    });
    const SPAN: usize = 6;
    let mut seen = std::collections::HashMap::new();
    let repeated_span = words.windows(SPAN).enumerate().any(|(i, span)| {
        // Overlapping occurrences are a tail loop's business.
        *seen.entry(span).or_insert(i) + SPAN <= i
    });
    tail_loop || repeated_span
}

/// ct2rs reports its errors as one opaque type; keep its whole chain as the message.
fn recognition_error(e: impl std::fmt::Display) -> SpeechError {
    SpeechError::Recognition(format!("{e:#}"))
}

/// The decoder's start sequence: the optional previous-text prompt, then
/// `<|startoftranscript|>`, the language and task for multilingual models, and
/// `<|notimestamps|>`.
fn prompt_tokens(
    tokenizer: &hf::Tokenizer,
    multilingual: bool,
    options: &RecognizerOptions,
) -> Result<Vec<String>, SpeechError> {
    let special = |token: &'static str| -> Result<String, SpeechError> {
        tokenizer
            .token_to_id(token)
            .map(|_| token.to_owned())
            .ok_or(SpeechError::MissingSpecialToken { token })
    };
    let mut tokens = Vec::new();
    if let Some(prompt) = options.initial_prompt.as_deref().map(str::trim)
        && !prompt.is_empty()
    {
        tokens.push(special("<|startofprev|>")?);
        // Whisper encodes previous text with a leading space, as it appears mid-stream.
        let encoding = tokenizer
            .encode(format!(" {prompt}"), false)
            .map_err(recognition_error)?;
        tokens.extend(encoding.get_tokens().iter().cloned());
    }
    tokens.push(special("<|startoftranscript|>")?);
    if multilingual {
        let token = format!("<|{}|>", options.language);
        if tokenizer.token_to_id(&token).is_none() {
            return Err(SpeechError::UnknownLanguage(options.language.clone()));
        }
        tokens.push(token);
        tokens.push(special("<|transcribe|>")?);
    }
    tokens.push(special("<|notimestamps|>")?);
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fitted_window_holds_the_turn_and_its_padding_and_never_exceeds_thirty_seconds() {
        let second = SAMPLE_RATE as usize;
        let fitted = EncoderWindow::Fitted {
            padding: Duration::from_secs(4),
            min: Duration::from_secs(8),
        };
        assert_eq!(fitted.frames_for(second), 800, "at least the minimum");
        assert_eq!(fitted.frames_for(6 * second), 1000, "6 s of speech + 4 s");
        assert_eq!(fitted.frames_for(6 * second + 1) % 2, 0, "an even count");
        assert_eq!(fitted.frames_for(27 * second), CHUNK_FRAMES);
        assert_eq!(EncoderWindow::Full.frames_for(second), CHUNK_FRAMES);
    }

    #[test]
    fn a_tail_starts_in_a_gap_between_words_near_its_length() {
        let ms = |n: usize| n * SAMPLE_RATE as usize / 1000;
        // "Words": 440 Hz bursts; quiet gaps of 60 ms ending 4.2 s and 3.85 s before the end.
        let turn = |len: usize, gaps: &[usize]| -> Vec<f32> {
            (0..len)
                .map(|i| {
                    let before_end = len - i;
                    let quiet = gaps
                        .iter()
                        .any(|g| before_end <= *g && before_end > g - ms(60));
                    if quiet {
                        0.001
                    } else {
                        (i as f32 * 440.0 * std::f32::consts::TAU / SAMPLE_RATE as f32).sin() * 0.3
                    }
                })
                .collect()
        };
        let len = ms(6000);
        let audio = turn(len, &[ms(4200), ms(3850)]);
        let start = tail_start(&audio);
        let gap = len - ms(3850)..len - ms(3850) + ms(60);
        assert!(
            gap.contains(&start),
            "{start} in {gap:?}: the later of two gaps in reach"
        );
        // No gap within reach: somewhere within the slack, never further.
        let start = tail_start(&turn(len, &[ms(1000)]));
        let reach = len - ms(4250)..=len - ms(3750);
        assert!(reach.contains(&start), "{start} in {reach:?}");
        // Digital silence: the shortest tail allowed.
        assert_eq!(tail_start(&vec![0.0; len]), len - ms(3750));
        // A turn no longer than the tail: all of it.
        assert_eq!(tail_start(&turn(ms(4000), &[])), 0);
        assert_eq!(tail_start(&turn(ms(2000), &[])), 0);
        // Just longer: the search starts at the turn's first sample.
        assert!(tail_start(&turn(ms(4100), &[ms(4050)])) <= ms(100));
    }

    #[test]
    fn a_decoder_loop_is_told_from_a_hesitation() {
        assert!(repeats_itself(
            "I want to join your company because it helps. I want to join your company because it helps."
        ));
        assert!(repeats_itself(
            "and then we shipped it, shipped it, shipped it"
        ));
        assert!(repeats_itself(
            "The team moved fast. We fixed the build and then the team moved fast. We fixed the build."
        ));
        assert!(!repeats_itself("I, I think the the main thing was speed."));
        assert!(!repeats_itself(
            "We tested the risky option first and it cut failed deploys by half."
        ));
        assert!(!repeats_itself(""));
    }
}
