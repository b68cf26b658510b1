//! The speaker heard by the microphone through a real audio server: a
//! private PulseAudio whose speaker monitor is looped into the virtual
//! microphone by `module-loopback` (its own latency, 200 ms by default, and
//! its own rate adaptation), at 0 dB. The playback and the capture run on
//! the devices through cpal as the client runs them, sharing one
//! `EchoLink`, so the reference is timed by the latencies PulseAudio
//! reports. Frames are judged as the server judges them (the client's
//! voice flag and the speech threshold, onset 2, hangover 10).
//!
//! A silent candidate gets no answer, no interruption and under 0.5 s of
//! speech; a candidate answering while the echo still rings, or
//! interrupting the interviewer's second question, is heard. Fails, not
//! skips, without pulseaudio or espeak-ng.

mod common;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use candor_audio::codec::{CAPTURE_FRAME_SAMPLES, EncoderSettings, OpusEncoder};
use candor_audio::echo_trial::{self, Judged};
use candor_audio::resample::MonoResampler;
use candor_audio::test_support::PrivatePulse;
use candor_audio::{
    Capture, CaptureSettings, ChannelSink, EchoLink, EncodedFrame, Playback, PlaybackSettings,
    SinkSpec, SourceSpec, wav,
};
use common::espeak;

/// The interviewer's question as the server sends it: 16 kHz Opus packets.
fn question(dir: &Path) -> Vec<Vec<u8>> {
    let path = dir.join("question.wav");
    espeak(
        "Tell me about a time you led a difficult project, and what you learned from it.",
        &path,
    );
    let (rate, samples) = wav::read_mono(&path).unwrap();
    let mut r = MonoResampler::new(rate, 16_000).unwrap();
    let mut x = Vec::new();
    r.process(&samples, &mut x).unwrap();
    let mut enc = OpusEncoder::new(EncoderSettings::default()).unwrap();
    x.chunks_exact(CAPTURE_FRAME_SAMPLES)
        .map(|f| enc.encode_vec(f).unwrap())
        .collect()
}

/// The candidate's answer as a WAV file for the virtual microphone.
fn answer(dir: &Path) -> PathBuf {
    let path = dir.join("answer.wav");
    let status = std::process::Command::new("espeak-ng")
        .args(["-v", "en+f3", "-s", "165", "-w"])
        .arg(&path)
        .arg("I migrated our billing system to a new platform without downtime.")
        .status()
        .expect("espeak-ng is required for this test (apt-get install espeak-ng)");
    assert!(status.success());
    path
}

/// When the candidate speaks, relative to the interviewer's question.
#[derive(Clone, Copy)]
enum Candidate {
    Silent,
    /// This long after the question was pushed.
    Interrupts(Duration),
    /// This long after the question finished playing.
    Answers(Duration),
}

/// What one session measured, on the capture's timeline.
struct Session {
    frames: Vec<EncodedFrame>,
    /// The question was pushed …
    pushed: Instant,
    /// … and finished playing.
    drained: Instant,
}

impl Session {
    /// The judge's verdict per frame (the server's gate).
    fn judged(&self) -> Vec<Judged> {
        echo_trial::judge(self.frames.iter().map(|f| (f.voice, f.level_db)), true)
    }

    fn speaking(&self) -> Vec<bool> {
        self.judged().iter().map(|j| j.speaking).collect()
    }

    fn speech_s(&self) -> f64 {
        self.speaking().iter().filter(|s| **s).count() as f64 * 0.02
    }

    /// Barge-ins by the interviewer's rule while the question is being
    /// played (from its push until the playback drained it).
    fn interruptions(&self) -> usize {
        let playing = |k: usize| (self.pushed..=self.drained).contains(&self.frames[k].captured_at);
        echo_trial::interruptions(&self.judged(), playing)
    }

    /// Speech after the question was heard to its end: an answer.
    fn answered(&self, loop_latency: Duration) -> bool {
        let end = self.drained + loop_latency;
        self.frames
            .iter()
            .zip(self.speaking())
            .any(|(f, s)| s && f.captured_at > end)
    }
}

fn session(pulse: &PrivatePulse, packets: &[Vec<u8>], answer: &Path, who: Candidate) -> Session {
    let link = EchoLink::new();
    let (events, _events_rx) = mpsc::channel();
    let playback = Playback::start(
        &SinkSpec::Device { device: None },
        PlaybackSettings {
            stream_rate: 16_000,
            ..PlaybackSettings::default()
        },
        events,
        Some(link.clone()),
    )
    .expect("open the speaker");
    let (sink, frames, _capture_events) = ChannelSink::new();
    let capture = Capture::start(
        &SourceSpec::Device { device: None },
        CaptureSettings::default(),
        sink,
        Some(link),
    )
    .expect("open the microphone");
    capture.wait_started(Duration::from_secs(5)).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let secs = packets.len() as f64 * 0.02;
    if let Candidate::Interrupts(_) = who {
        // A first question, unanswered, as in a session: the near-end
        // decision learns the room while it plays.
        for (seq, p) in packets.iter().enumerate() {
            playback.push(seq as u64, p.clone());
        }
        assert!(playback.wait_drained(Duration::from_secs_f64(secs + 5.0)));
        std::thread::sleep(Duration::from_secs(1));
    }
    let pushed = Instant::now();
    let first_seq = match who {
        Candidate::Interrupts(_) => packets.len() as u64,
        _ => 0,
    };
    for (seq, p) in packets.iter().enumerate() {
        playback.push(first_seq + seq as u64, p.clone());
    }
    std::thread::scope(|s| {
        if let Candidate::Interrupts(after) = who {
            s.spawn(move || {
                std::thread::sleep(after);
                pulse.play_into_mic(answer).unwrap();
            });
        }
        assert!(playback.wait_drained(Duration::from_secs_f64(secs + 5.0)));
    });
    let drained = Instant::now();
    match who {
        Candidate::Answers(after) => {
            std::thread::sleep(after);
            pulse.play_into_mic(answer).unwrap();
            std::thread::sleep(Duration::from_millis(500));
        }
        _ => std::thread::sleep(Duration::from_secs(3)),
    }
    capture.stop();
    playback.stop();
    Session {
        frames: frames.try_iter().collect(),
        pushed,
        drained,
    }
}

fn report(name: &str, s: &Session, loop_latency: Duration) {
    println!(
        "{name}: answered {} interruptions {} speech {:.2} s",
        s.answered(loop_latency),
        s.interruptions(),
        s.speech_s()
    );
}

/// A private PulseAudio whose speaker is looped into its microphone at
/// 0 dB, with the question's packets and the answer's WAV.
struct Room {
    pulse: PrivatePulse,
    loop_latency: Duration,
    packets: Vec<Vec<u8>>,
    answer: PathBuf,
    _dir: tempfile::TempDir,
}

fn looped_room() -> Room {
    let pulse = PrivatePulse::start().expect("private PulseAudio server");
    let loop_latency = Duration::from_millis(200);
    pulse
        .loop_speaker_into_mic(loop_latency)
        .expect("module-loopback");
    let dir = tempfile::tempdir().unwrap();
    Room {
        packets: question(dir.path()),
        answer: answer(dir.path()),
        pulse,
        loop_latency,
        _dir: dir,
    }
}

#[test]
fn a_speaker_looped_into_the_mic_is_not_the_candidate() {
    let Room {
        pulse,
        loop_latency,
        packets,
        answer,
        _dir,
    } = looped_room();

    let silent = session(&pulse, &packets, &answer, Candidate::Silent);
    report("silent", &silent, loop_latency);
    assert!(!silent.answered(loop_latency), "a phantom answer");
    assert_eq!(silent.interruptions(), 0, "the interviewer was cut off");
    assert!(
        silent.speech_s() < 0.5,
        "{:.2} s of phantom speech",
        silent.speech_s()
    );

    // As soon as the question has played: its echo is still on its way
    // through the loopback.
    let answers = session(
        &pulse,
        &packets,
        &answer,
        Candidate::Answers(Duration::ZERO),
    );
    report("answer", &answers, loop_latency);
    assert!(answers.answered(loop_latency), "the answer was not heard");
    assert!(
        answers.speech_s() > 1.5,
        "only {:.2} s heard",
        answers.speech_s()
    );
    assert_eq!(answers.interruptions(), 0);
}

#[test]
fn a_barge_in_over_the_looped_speaker_is_heard() {
    let Room {
        pulse,
        loop_latency,
        packets,
        answer,
        _dir,
    } = looped_room();
    // Into the second question of the session (the first one taught the
    // decision the room; see `crate::double_talk`: its coupling starts
    // pessimistic).
    let barge = session(
        &pulse,
        &packets,
        &answer,
        Candidate::Interrupts(Duration::from_millis(1500)),
    );
    report("barge-in", &barge, loop_latency);

    assert!(barge.interruptions() >= 1, "the barge-in was missed");
}
