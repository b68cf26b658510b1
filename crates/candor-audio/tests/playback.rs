//! Playback through the real worker and callback into a WAV sink clocked like
//! a device: packets pushed faster than real time are all played, in order,
//! without gaps; a flush fades out and drops what was queued, and the next
//! answer plays in full.

mod common;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use candor_audio::codec::{CAPTURE_FRAME_SAMPLES, EncoderSettings, OpusEncoder};
use candor_audio::jitter::JitterConfig;
use candor_audio::{Codec, Playback, PlaybackEvent, PlaybackSettings, SinkSpec, wav};
use common::{goertzel_power, rms_db, sine};

const RATE: u32 = 48_000;
/// 20 ms at 48 kHz.
const FRAME: usize = 960;

/// Deterministic 16-bit "speech-like" noise: every sample is distinct enough
/// that a dropped, repeated or reordered frame cannot go unnoticed.
fn pcm_frames(frames: usize) -> Vec<Vec<i16>> {
    let mut x = 0x2545_f491_u32;
    (0..frames)
        .map(|_| {
            (0..FRAME)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    ((x % 20_001) as i32 - 10_000) as i16
                })
                .collect()
        })
        .collect()
}

fn payload(frame: &[i16]) -> Vec<u8> {
    frame.iter().flat_map(|s| s.to_le_bytes()).collect()
}

fn pcm_settings(jitter: JitterConfig) -> PlaybackSettings {
    PlaybackSettings {
        codec: Codec::Pcm16,
        stream_rate: RATE,
        jitter,
    }
}

/// Plays `frames` pushed by `schedule` (a list of (when, how many frames))
/// into a WAV sink and checks that the file holds exactly those samples, in
/// order and without a gap, and that nothing was dropped.
fn played_exactly(jitter: JitterConfig, schedule: &[(Duration, usize)]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.wav");
    let frames = pcm_frames(schedule.iter().map(|s| s.1).sum());
    let (events, reported) = mpsc::channel();
    let playback = Playback::start(
        &SinkSpec::Wav {
            path: path.clone(),
            rate: RATE,
            channels: 1,
        },
        pcm_settings(jitter),
        events,
        None,
    )
    .unwrap();
    let t0 = Instant::now();
    let mut seq = 0usize;
    for (at, n) in schedule {
        if let Some(wait) = at.checked_sub(t0.elapsed()) {
            std::thread::sleep(wait);
        }
        for f in &frames[seq..seq + n] {
            playback.push(seq as u64, payload(f));
            seq += 1;
        }
    }
    assert!(
        playback.wait_drained(Duration::from_secs(20)),
        "everything pushed is played"
    );
    let stats = playback.stats();
    playback.stop();
    let reported: Vec<PlaybackEvent> = reported.try_iter().collect();
    assert!(
        matches!(reported.as_slice(), [PlaybackEvent::Started(info)] if info.name.ends_with("out.wav")),
        "the sink reported its stream running, and nothing else: {reported:?}"
    );

    let (_, out) = wav::read_mono(&path).unwrap();
    let start = out
        .iter()
        .position(|s| *s != 0.0)
        .expect("audio was played");
    let expected: Vec<f32> = frames
        .iter()
        .flatten()
        .map(|s| f32::from(*s) / 32768.0)
        .collect();
    let played = &out[start..(start + expected.len()).min(out.len())];
    assert_eq!(played.len(), expected.len(), "the whole stream was written");
    if let Some(i) = played.iter().zip(&expected).position(|(a, b)| a != b) {
        panic!(
            "sample {i} (frame {}) differs: a frame was lost, repeated, reordered or delayed",
            i / FRAME
        );
    }
    assert!(
        out[start + expected.len()..].iter().all(|s| *s == 0.0),
        "nothing is played after the stream"
    );
    let j = stats.jitter;
    assert_eq!((j.dropped, j.late, j.concealed), (0, 0, 0), "{stats:?}");
    assert_eq!(j.played, frames.len() as u64, "{stats:?}");
    assert_eq!(stats.callback_underruns, 0, "{stats:?}");
}

#[test]
fn a_burst_faster_than_real_time_is_played_whole_and_in_order() {
    // Two seconds at once, then the rest at four times real time.
    let mut schedule = vec![(Duration::ZERO, 100)];
    for k in 0..5 {
        schedule.push((Duration::from_millis(50 * k), 10));
    }
    played_exactly(JitterConfig::default(), &schedule);
}

#[test]
fn a_stream_running_ahead_of_real_time_loses_nothing() {
    // A server that keeps ~100 ms ahead: a standing surplus of a few frames
    // for seconds. The jitter buffer may lower its target (it does so after
    // 25 such frames here), but must not drop audio to do it.
    let jitter = JitterConfig {
        shrink_after: 25,
        ..JitterConfig::default()
    };
    let mut schedule = vec![(Duration::ZERO, 8)];
    for k in 1..=142u64 {
        schedule.push((Duration::from_millis(20 * k), 1));
    }
    played_exactly(jitter, &schedule);
}

/// A tone as the server would send an answer: Opus packets, starting and
/// ending softly (40 ms ramps, as speech does).
fn opus_tone(freq: f64, amp: f64, frames: usize) -> Vec<Vec<u8>> {
    let mut tone = sine(freq, amp, 16_000, CAPTURE_FRAME_SAMPLES * frames);
    let (n, ramp) = (tone.len(), 640);
    for i in 0..ramp {
        let g = i as f32 / ramp as f32;
        tone[i] *= g;
        tone[n - 1 - i] *= g;
    }
    let mut enc = OpusEncoder::new(EncoderSettings::default()).unwrap();
    tone.chunks_exact(CAPTURE_FRAME_SAMPLES)
        .map(|f| enc.encode_vec(f).unwrap())
        .collect()
}

#[test]
fn flush_fades_out_drops_the_queue_and_the_next_answer_plays_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.wav");
    let playback = Playback::start(
        &SinkSpec::Wav {
            path: path.clone(),
            rate: RATE,
            channels: 1,
        },
        PlaybackSettings::default(),
        |_: PlaybackEvent| {},
        None,
    )
    .unwrap();
    // The interviewer's answer: 3 s of 440 Hz, sent at once.
    let first = opus_tone(440.0, 0.4, 150);
    for (seq, p) in first.iter().enumerate() {
        playback.push(seq as u64, p.clone());
    }
    let second = opus_tone(660.0, 0.3, 50);
    std::thread::sleep(Duration::from_millis(600));
    // Barge-in, and straight away the next answer (1 s of 660 Hz), as when
    // its packets were already waiting.
    let flushed_at = playback.stats().played_samples as usize;
    playback.flush();
    for (i, p) in second.iter().enumerate() {
        playback.push((first.len() + i) as u64, p.clone());
    }
    assert!(playback.wait_drained(Duration::from_secs(5)));
    let stats = playback.stats();
    playback.stop();

    let (_, out) = wav::read_mono(&path).unwrap();
    // Classify 10 ms windows: the old answer (440 Hz), the new one (660 Hz).
    let w = RATE as usize / 100;
    let (mut old, mut new) = (Vec::new(), Vec::new());
    for (i, win) in out.chunks_exact(w).enumerate() {
        if rms_db(win) < -40.0 {
            continue;
        }
        let (p440, p660) = (
            goertzel_power(win, RATE, 440.0),
            goertzel_power(win, RATE, 660.0),
        );
        if p440 > p660 {
            old.push(i);
        } else {
            new.push(i);
        }
    }
    let old_end = (old.last().expect("the first answer played") + 1) * w;
    let ms = |samples: usize| samples as f64 * 1000.0 / f64::from(RATE);
    // Dropped: the old answer stops within the queued 30 ms, the 10 ms fade
    // and one 10 ms device period of the flush, not 2.4 s later.
    assert!(
        old_end <= flushed_at + 6 * w,
        "old answer ran {:.0} ms past the flush",
        ms(old_end) - ms(flushed_at)
    );
    // The next answer plays whole, after the old one.
    let heard_new = new.len() as f64 * 0.01;
    assert!(
        (heard_new - 1.0).abs() <= 0.03,
        "next answer heard for {heard_new:.2} s of 1 s"
    );
    assert!(new.first().unwrap() * w >= old_end - w);
    // No click: no jump larger than the tones' own steepest step allows.
    let max_step = out
        .windows(2)
        .map(|p| (p[1] - p[0]).abs())
        .fold(0.0f32, f32::max);
    let at = out
        .windows(2)
        .position(|p| (p[1] - p[0]).abs() == max_step)
        .unwrap_or(0);
    assert!(
        max_step < 0.06,
        "a jump of {max_step:.3} (click) at {:.1} ms, the flush at {:.1} ms; {stats:?}",
        ms(at),
        ms(flushed_at)
    );
    let j = stats.jitter;
    assert_eq!((j.dropped, j.late, j.concealed), (0, 0, 0), "{stats:?}");
}
