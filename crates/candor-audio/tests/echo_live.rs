//! Echo cancellation through the live wiring: a `Playback` and a `Capture`
//! share one `EchoLink`, as the client engine wires them. The playback plays
//! into the loudspeaker of a simulated room (a tap sink clocked like a
//! device) and the capture records its microphone (a live source on its own
//! clock), which hears what the loudspeaker played 60 ms later, ×0.4,
//! low-passed. Only the real reference path (playback callback → link →
//! capture worker → canceller) tells the canceller what was played.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use candor_audio::codec::{CAPTURE_FRAME_SAMPLES, EncoderSettings, OpusEncoder};
use candor_audio::resample::MonoResampler;
use candor_audio::{
    Capture, CaptureSettings, ChannelSink, EchoLink, Generator, Playback, PlaybackEvent,
    PlaybackSettings, SinkSpec, SourceSpec, Tap, VoiceProcessing, wav,
};
use common::decode_all;

const RATE: u32 = 48_000;
/// The acoustic delay from loudspeaker to microphone.
const DELAY: usize = RATE as usize * 60 / 1000;
/// 20 ms windows at 48 kHz and at 16 kHz.
const WIN48: usize = 960;
const WIN16: usize = 320;

#[derive(Default)]
struct Room {
    played: Mutex<Vec<f32>>,
    speaker_start: OnceLock<Instant>,
    mic_start: OnceLock<Instant>,
    /// The echo the microphone picked up, by microphone sample.
    echo: Mutex<Vec<f32>>,
    lowpass: Mutex<f32>,
    /// Microphone samples whose loudspeaker sample was not played yet.
    early: AtomicU64,
}

impl Room {
    fn loudspeaker(self: &Arc<Self>) -> Tap {
        let room = self.clone();
        Tap::new(move |_, block| {
            room.speaker_start.get_or_init(Instant::now);
            room.played.lock().unwrap().extend_from_slice(block);
        })
    }

    fn microphone(self: &Arc<Self>) -> Generator {
        let room = self.clone();
        Generator::new(move |index, out| {
            let mic_start = *room.mic_start.get_or_init(Instant::now);
            let Some(speaker_start) = room.speaker_start.get() else {
                room.echo.lock().unwrap().extend(out.iter().map(|_| 0.0));
                return;
            };
            // Both run on their own clock from their own start: microphone
            // sample n is heard at the time loudspeaker sample n + offset
            // is played.
            let offset =
                (mic_start.duration_since(*speaker_start).as_secs_f64() * f64::from(RATE)) as i64;
            // Both threads are clocked like devices, but on a loaded machine
            // the loudspeaker's may be scheduled late: the microphone then
            // waits for it (as if its own callback ran late) rather than
            // hearing a loudspeaker that has not played yet.
            let last = index as i64 + out.len() as i64 + offset - DELAY as i64;
            let waited = Instant::now();
            let played = loop {
                let played = room.played.lock().unwrap();
                if played.len() as i64 > last || waited.elapsed() > Duration::from_secs(1) {
                    break played;
                }
                drop(played);
                std::thread::sleep(Duration::from_millis(1));
            };
            let mut lp = room.lowpass.lock().unwrap();
            let mut echo = room.echo.lock().unwrap();
            for (i, s) in out.iter_mut().enumerate() {
                let k = index as i64 + i as i64 + offset - DELAY as i64;
                let x = match usize::try_from(k) {
                    Ok(k) if k < played.len() => played[k],
                    Ok(_) => {
                        room.early.fetch_add(1, Ordering::Relaxed);
                        0.0
                    }
                    Err(_) => 0.0,
                };
                *lp += 0.35 * (0.4 * x - *lp);
                *s = *lp;
                echo.push(*lp);
            }
        })
    }
}

fn far_end_packets(dir: &std::path::Path) -> Vec<Vec<u8>> {
    let path = dir.join("far.wav");
    let status = std::process::Command::new("espeak-ng")
        .args(["-v", "en-us", "-s", "160", "-w"])
        .arg(&path)
        .arg(
            "Tell me about a time you led a difficult project, and what you learned from it. \
             Why do you want to work here?",
        )
        .status()
        .expect("espeak-ng is required for this test (apt-get install espeak-ng)");
    assert!(status.success());
    let (rate, samples) = wav::read_mono(&path).unwrap();
    let mut r = MonoResampler::new(rate, 16_000).unwrap();
    let mut x = Vec::new();
    r.process(&samples, &mut x).unwrap();
    let mut enc = OpusEncoder::new(EncoderSettings::default()).unwrap();
    x.chunks_exact(CAPTURE_FRAME_SAMPLES)
        .map(|f| enc.encode_vec(f).unwrap())
        .collect()
}

/// What one live run measured.
struct Run {
    /// Echo power at the microphone over the measured windows.
    echo: f64,
    /// Power of the encoded → decoded capture over the same windows.
    out: f64,
    early: u64,
}

impl Run {
    fn erle_db(&self) -> f64 {
        10.0 * (self.echo / self.out.max(1e-20)).log10()
    }
}

/// Plays the far end through the room with the canceller on or off, the
/// playback running `lead` before the microphone opens, and measures echo in
/// and out over far-end-only windows.
fn live_run(packets: &[Vec<u8>], echo_cancellation: bool, lead: Duration) -> Run {
    let room = Arc::new(Room::default());
    let link = EchoLink::new();
    let playback = Playback::start(
        &SinkSpec::Tap {
            rate: RATE,
            tap: room.loudspeaker(),
        },
        PlaybackSettings::default(),
        |_: PlaybackEvent| {},
        Some(link.clone()),
    )
    .unwrap();
    // The playback may run a while before the microphone opens.
    std::thread::sleep(lead);
    let (sink, frames, _events) = ChannelSink::new();
    let settings = CaptureSettings {
        processing: VoiceProcessing {
            echo_cancellation,
            noise_suppression: false,
            high_pass: true,
        },
        ..CaptureSettings::default()
    };
    let capture = Capture::start(
        &SourceSpec::Live {
            rate: RATE,
            generator: room.microphone(),
            duration: None,
        },
        settings,
        sink,
        Some(link),
    )
    .unwrap();
    capture.wait_started(Duration::from_secs(2)).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    // The server sends the answer in one burst.
    for (seq, p) in packets.iter().enumerate() {
        playback.push(seq as u64, p.clone());
    }
    let secs = packets.len() as f64 * 0.02;
    assert!(playback.wait_drained(Duration::from_secs_f64(secs + 5.0)));
    std::thread::sleep(Duration::from_millis(300));
    capture.stop();
    playback.stop();

    let frames: Vec<_> = frames.try_iter().collect();
    assert!(frames.windows(2).all(|w| w[1].seq == w[0].seq + 1));
    let out = decode_all(&frames);
    let echo = room.echo.lock().unwrap().clone();
    let windows = (echo.len() / WIN48).min(out.len() / WIN16);
    let power = |x: &[f32]| x.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / x.len() as f64;
    let echo_w: Vec<f64> = (0..windows)
        .map(|w| power(&echo[w * WIN48..(w + 1) * WIN48]))
        .collect();
    let out_w: Vec<f64> = (0..windows)
        .map(|w| power(&out[w * WIN16..(w + 1) * WIN16]))
        .collect();
    // Far-end-only windows where the echo is really there, after the
    // canceller's first 2 s with echo (it converges on the echo path).
    let peak = echo_w.iter().copied().fold(0.0, f64::max);
    let first = echo_w
        .iter()
        .position(|e| *e > peak * 1e-3)
        .expect("echo at the mic");
    let measured: Vec<usize> = (first + 100..windows)
        .filter(|w| echo_w[*w] > peak * 1e-3)
        .collect();
    assert!(measured.len() > 100, "{} windows of echo", measured.len());
    Run {
        echo: measured.iter().map(|w| echo_w[*w]).sum(),
        out: measured.iter().map(|w| out_w[*w]).sum(),
        early: room.early.load(Ordering::Relaxed),
    }
}

fn check(lead: Duration) {
    let dir = tempfile::tempdir().unwrap();
    let packets = far_end_packets(dir.path());
    std::thread::scope(|s| {
        let on = s.spawn(|| live_run(&packets, true, lead));
        let off = live_run(&packets, false, lead);
        let on = on.join().unwrap();
        assert_eq!((on.early, off.early), (0, 0), "the room heard the future");
        // Without the canceller the echo goes through (only the codec).
        assert!(
            off.erle_db().abs() < 3.0,
            "AEC off: {:.1} dB",
            off.erle_db()
        );
        let gain = on.erle_db() - off.erle_db();
        println!(
            "lead {lead:?}: echo reduced by {:.1} dB with AEC, {:.1} dB without: {gain:.1} dB",
            on.erle_db(),
            off.erle_db()
        );
        assert!(gain >= 20.0, "echo reduced by only {gain:.1} dB");
    });
}

#[test]
fn echo_of_the_live_playback_is_cancelled_in_the_capture() {
    check(Duration::from_millis(100));
}

#[test]
fn echo_is_cancelled_when_the_playback_ran_long_before_the_mic_opened() {
    // The reference ring (1 s) fills up before the capture reads it.
    check(Duration::from_millis(2500));
}
