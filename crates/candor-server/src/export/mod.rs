//! Export: everything stored for one interview, as files the candidate
//! keeps — the audio as Ogg Opus (the whole conversation, and each of their
//! answers alone), the transcript (plain text and WebVTT), and the report
//! (one HTML page), with a README saying what is there and what is not. The
//! data API serves it as one zip ([`Bundle::to_zip`]); the client unpacks it
//! into the folder the candidate chose. Replay serves the same audio files
//! one at a time ([`audio_file`]).
//!
//! What is not stored is not exported: sessions recorded before the
//! interviewer's voice was stored have the candidate's side only, and the
//! README and report say so.
//!
//! Modules: `ogg_opus` (the container, no codec), `mix` (both voices on one
//! timeline), `transcript` (text and cues), `report` (the page). An
//! answer's stored Opus frames are copied into the container as they are;
//! the whole conversation is decoded, mixed and coded once more; PCM16
//! sessions are coded to Opus with `candor-audio` (through
//! [`crate::voice`]).

mod mix;
mod ogg_opus;
mod report;
mod transcript;

use std::io::Write;

use candor_api::{Feedback, InterviewStatus};
use thiserror::Error;

use crate::results::{AnswerWindow, answer_windows};
use crate::store::{AudioFormat, InterviewRecord, Store, StoreError, StoredCodec, StoredFrame};

pub use ogg_opus::{GRANULE_RATE, PRE_SKIP, packet_samples};

/// Why an interview could not be exported.
#[derive(Debug, Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Only an interview with results is exported (its report is part of it).
    #[error("this interview has no results yet")]
    NotReady,
    #[error("the stored audio cannot be read: {0}")]
    Audio(String),
    #[error("the export could not be packed: {0}")]
    Pack(String),
}

/// One file of an export.
#[derive(Debug, Clone)]
pub struct ExportFile {
    /// A plain file name (no directory).
    pub name: String,
    pub bytes: Vec<u8>,
}

/// All files of one interview's export.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// A folder name for it: `candor-interview-2026-12-01-0615-software-engineer`.
    pub folder: String,
    pub files: Vec<ExportFile>,
}

impl Bundle {
    pub fn file(&self, name: &str) -> Option<&ExportFile> {
        self.files.iter().find(|f| f.name == name)
    }

    /// The files as a zip, stored (Opus does not compress and the rest is
    /// small), in the bundle's order.
    pub fn to_zip(&self) -> Result<Vec<u8>, ExportError> {
        let pack = |e: zip::result::ZipError| ExportError::Pack(e.to_string());
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(false);
        for f in &self.files {
            zip.start_file(f.name.as_str(), options).map_err(pack)?;
            zip.write_all(&f.bytes)
                .map_err(|e| ExportError::Pack(e.to_string()))?;
        }
        Ok(zip.finish().map_err(pack)?.into_inner())
    }
}

/// The candidate's voice as Opus packets with their start on the session
/// clock (ms).
struct Voice {
    packets: Vec<(u64, Vec<u8>)>,
    input_rate: u32,
}

/// Stored frames as Opus packets placed by their capture stamps (the
/// session clock follows the capture clock from the first frame on, within
/// that frame's trip over the network). PCM16 is coded to Opus here.
fn voice(frames: Vec<StoredFrame>, codec: StoredCodec, rate: u32) -> Result<Voice, ExportError> {
    match codec {
        StoredCodec::Opus => Ok(Voice {
            packets: frames
                .into_iter()
                .map(|f| (f.timestamp_us / 1000, f.data))
                .collect(),
            input_rate: rate,
        }),
        StoredCodec::Pcm16 => {
            // Contiguous 16 kHz PCM, coded in one pass, placed from the
            // first frame's stamp on.
            let start_ms = frames.first().map_or(0, |f| f.timestamp_us / 1000);
            let mut samples = Vec::new();
            let mut decoder =
                candor_audio::codec::AudioDecoder::new(candor_audio::Codec::Pcm16, rate)
                    .map_err(|e| ExportError::Audio(e.to_string()))?;
            for f in &frames {
                decoder
                    .decode(&f.data, &mut samples)
                    .map_err(|e| ExportError::Audio(e.to_string()))?;
            }
            let packets = crate::voice::encode_clip(candor_audio::Codec::Opus, rate, &samples)
                .map_err(|e| ExportError::Audio(e.to_string()))?;
            Ok(Voice {
                packets: packets
                    .into_iter()
                    .enumerate()
                    .map(|(i, p)| (start_ms + i as u64 * 20, p.to_vec()))
                    .collect(),
                input_rate: rate,
            })
        }
    }
}

fn ogg(
    packets: &[&[u8]],
    input_rate: u32,
    serial: u32,
    title: String,
) -> Result<Vec<u8>, ExportError> {
    let tags = ogg_opus::Tags {
        comments: vec![format!("TITLE={title}"), "ARTIST=You".to_owned()],
    };
    ogg_opus::write(packets, input_rate, serial, &tags)
        .map_err(|i| ExportError::Audio(format!("frame {} is not an Opus packet", i + 1)))
}

fn role_slug(interview: &InterviewRecord) -> String {
    interview.role.as_str().replace('_', "-")
}

/// The interviewer's voice as the session sent it: chunks with the session
/// time each was due to play (ms), and their coding.
struct Interviewer {
    packets: Vec<(u64, Vec<u8>)>,
    format: AudioFormat,
}

/// What an export is built from: an interview with results, its feedback
/// and both voices (the interviewer's when it was stored).
struct Stored {
    interview: InterviewRecord,
    feedback: Feedback,
    timeline: crate::store::Timeline,
    voice: Voice,
    interviewer: Option<Interviewer>,
    title: String,
}

fn load(store: &dyn Store, interview_id: &str) -> Result<Stored, ExportError> {
    let interview = store
        .interview(interview_id)?
        .ok_or(StoreError::NotFound("interview"))?;
    if interview.status != InterviewStatus::Ready {
        return Err(ExportError::NotReady);
    }
    let json = store.results(interview_id)?.ok_or(ExportError::NotReady)?;
    let feedback: Feedback =
        serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let timeline = store
        .timeline(&feedback.session_id)?
        .ok_or(StoreError::NotFound("session"))?;
    let input = timeline.session.input;
    // Sessions stored before the format was recorded came from Candor's
    // clients, which always sent 16 kHz Opus.
    let (codec, rate) = input.map_or((StoredCodec::Opus, 16_000), |i| (i.codec, i.sample_rate_hz));
    let frames = store.candidate_frames(&timeline.session.id)?;
    let voice = voice(frames, codec, rate)?;
    let interviewer = match timeline.session.output {
        Some(format) => {
            let frames = store.interviewer_frames(&timeline.session.id)?;
            (!frames.is_empty()).then(|| Interviewer {
                packets: frames
                    .into_iter()
                    .map(|f| (f.timestamp_us / 1000, f.data))
                    .collect(),
                format,
            })
        }
        None => None,
    };
    let title = format!("Candor interview, {}", report::utc(interview.created_at_ms));
    Ok(Stored {
        interview,
        feedback,
        timeline,
        voice,
        interviewer,
        title,
    })
}

/// The whole conversation: both voices mixed on the session clock when the
/// interviewer's was stored, else the candidate's packets as they are.
/// Returns the packets and the rate they were coded at.
fn conversation(stored: &Stored) -> Result<(Vec<Vec<u8>>, u32, bool), ExportError> {
    let voice = &stored.voice;
    let Some(interviewer) = &stored.interviewer else {
        let packets = voice.packets.iter().map(|(_, p)| p.clone()).collect();
        return Ok((packets, voice.input_rate, false));
    };
    let candidate = mix::TrackSource {
        packets: voice
            .packets
            .iter()
            .map(|(ms, p)| (*ms, p.as_slice()))
            .collect(),
        codec: candor_audio::Codec::Opus,
        rate_hz: voice.input_rate,
    };
    let other = mix::TrackSource {
        packets: interviewer
            .packets
            .iter()
            .map(|(ms, p)| (*ms, p.as_slice()))
            .collect(),
        codec: match interviewer.format.codec {
            StoredCodec::Opus => candor_audio::Codec::Opus,
            StoredCodec::Pcm16 => candor_audio::Codec::Pcm16,
        },
        rate_hz: interviewer.format.sample_rate_hz,
    };
    // The conversation starts where the session does (the transcript's
    // times are on the session clock).
    let (packets, rate) = mix::conversation(candidate, other, &stored.timeline.speech)?;
    Ok((
        packets.into_iter().map(|p| p.to_vec()).collect(),
        rate,
        true,
    ))
}

/// The audio files of an interview whose names `wanted` accepts — the whole
/// interview (`interview.ogg`) and each answer (`answer-NN.ogg`) — each with
/// the README's line for it.
fn audio_files(
    stored: &Stored,
    wanted: &dyn Fn(&str) -> bool,
) -> Result<Vec<(ExportFile, String)>, ExportError> {
    let Stored {
        feedback,
        timeline,
        voice,
        title,
        ..
    } = stored;
    let mut files = Vec::new();
    if voice.packets.is_empty() {
        return Ok(files);
    }
    let name = "interview.ogg";
    if wanted(name) {
        let (packets, rate, both) = conversation(stored)?;
        let all: Vec<&[u8]> = packets.iter().map(Vec::as_slice).collect();
        let length = transcript::clock(ogg_opus::duration_samples(&all) * 1000 / GRANULE_RATE);
        files.push((
            ExportFile {
                name: name.into(),
                bytes: ogg(&all, rate, 1, format!("{title}: the whole interview"))?,
            },
            if both {
                format!("{name}: the whole interview, the interviewer and you ({length}).")
            } else {
                format!("{name}: your voice through the whole interview ({length}).")
            },
        ));
    }
    for w in answer_windows(timeline) {
        let AnswerWindow {
            question_index,
            from_ms,
            to_ms,
        } = w;
        let name = answer_file_name(question_index);
        if !wanted(&name) {
            continue;
        }
        let packets: Vec<&[u8]> = voice
            .packets
            .iter()
            .filter(|(at, _)| (from_ms..to_ms).contains(at))
            .map(|(_, p)| p.as_slice())
            .collect();
        if packets.is_empty() {
            continue;
        }
        let question = feedback
            .questions
            .iter()
            .find(|q| q.index == question_index)
            .map(|q| q.question.clone())
            .unwrap_or_default();
        let line = format!(
            "{name}: your answer to question {question_index} ({}, from {} to {} of the interview{}).",
            transcript::clock(ogg_opus::duration_samples(&packets) * 1000 / GRANULE_RATE),
            transcript::clock(from_ms),
            transcript::clock(to_ms),
            if question.is_empty() {
                String::new()
            } else {
                format!(": \"{question}\"")
            }
        );
        files.push((
            ExportFile {
                name,
                bytes: ogg(
                    &packets,
                    voice.input_rate,
                    1 + question_index,
                    format!("{title}: answer {question_index}"),
                )?,
            },
            line,
        ));
    }
    Ok(files)
}

/// The file name of an answer's audio.
pub fn answer_file_name(question_index: u32) -> String {
    format!("answer-{question_index:02}.ogg")
}

/// One audio file of an export (`interview.ogg` or `answer-NN.ogg`) for
/// replay, built alike: `None` if the interview has no such file.
pub fn audio_file(
    store: &dyn Store,
    interview_id: &str,
    name: &str,
) -> Result<Option<ExportFile>, ExportError> {
    let stored = load(store, interview_id)?;
    Ok(audio_files(&stored, &|n| n == name)?
        .into_iter()
        .next()
        .map(|(file, _)| file))
}

/// Builds the export of `interview_id` (which must have results).
pub fn build(store: &dyn Store, interview_id: &str) -> Result<Bundle, ExportError> {
    let stored = load(store, interview_id)?;
    let when = report::utc(stored.interview.created_at_ms);
    // "2026-12-01 06:15 UTC" → "2026-12-01-0615".
    let stamp = when
        .trim_end_matches(" UTC")
        .replace(' ', "-")
        .replace(':', "");
    let folder = format!("candor-interview-{stamp}-{}", role_slug(&stored.interview));

    let (mut files, audio_files): (Vec<ExportFile>, Vec<String>) =
        audio_files(&stored, &|_| true)?.into_iter().unzip();
    let Stored {
        interview,
        feedback,
        title,
        ..
    } = &stored;
    let audio_note = if files.is_empty() {
        "No audio of this interview is stored, so there is none here.".to_owned()
    } else if stored.interviewer.is_some() {
        "interview.ogg holds the whole conversation, the interviewer's voice and yours; each answer-NN.ogg holds your voice alone.".to_owned()
    } else {
        "The audio files hold your voice only: this interview was recorded before Candor kept the interviewer's voice, so it is not in them; its words are in the transcript.".to_owned()
    };

    files.push(ExportFile {
        name: "transcript.txt".into(),
        bytes: transcript::plain_text(title, &feedback.transcript).into_bytes(),
    });
    files.push(ExportFile {
        name: "transcript.vtt".into(),
        bytes: transcript::webvtt(&feedback.transcript).into_bytes(),
    });
    files.push(ExportFile {
        name: "report.html".into(),
        bytes: report::html(interview, feedback, &audio_note).into_bytes(),
    });
    let mut readme = format!("{title}\n\nExported by Candor. What is here:\n\n");
    for line in &audio_files {
        readme.push_str(&format!("- {line}\n"));
    }
    readme.push_str("- transcript.txt: what was said, by whom and when.\n");
    readme.push_str("- transcript.vtt: the same as WebVTT subtitles, timed to interview.ogg.\n");
    readme.push_str(
        "- report.html: your feedback as one page (open it in a browser; it prints too).\n\n",
    );
    readme.push_str(&audio_note);
    readme.push_str("\nThe audio is Ogg Opus (RFC 7845): most players and browsers play it.\n");
    files.insert(
        0,
        ExportFile {
            name: "README.txt".into(),
            bytes: readme.into_bytes(),
        },
    );
    Ok(Bundle { folder, files })
}
