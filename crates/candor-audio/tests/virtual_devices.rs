//! The real device path (cpal, PulseAudio host) against a private PulseAudio
//! server with a virtual microphone and speaker. These tests fail, not skip,
//! when pulseaudio or espeak-ng is missing.
//!
//! Device loss is provoked three ways: unloading a null sink's module (the
//! device vanishes; PulseAudio 16 moves our stream to another device and
//! cpal's PulseAudio host ignores the server's notice, so only the
//! supervisor's device-list check sees it), suspending a sink (the device
//! stays listed but audio stops; only the workers' flow watch sees it), and
//! unloading every sink (nothing left: `Failed` within the recovery bound).
//!
//! Not detectable here: when the user changes the system default while a
//! stream plays on a device it chose, PulseAudio moves the stream to the new
//! default (cpal marks no stream as placed by the user). The device is still
//! listed and audio keeps flowing, and cpal exposes neither the move notice
//! nor the stream's current device, so the pipeline cannot tell; its
//! `StreamInfo` then names the device it opened, not the one playing.

mod common;

use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use candor_audio::codec::{CAPTURE_FRAME_SAMPLES, EncoderSettings, OpusEncoder};
use candor_audio::devices::{Direction, list_devices};
use candor_audio::test_support::{PrivatePulse, RATE};
use candor_audio::watchdog::RECOVERY;
use candor_audio::{
    AudioError, Capture, CaptureEvent, CaptureSettings, ChannelSink, EncodedFrame, Playback,
    PlaybackEvent, PlaybackSettings, SinkSpec, SourceSpec, StreamInfo, wav,
};
use common::{decode_all, espeak, frequency, rms_db, sine};

fn pulse() -> PrivatePulse {
    PrivatePulse::start().expect("private PulseAudio server")
}

/// First and last index whose 20 ms window is louder than `db`.
fn active_span(x: &[f32], rate: u32, db: f64) -> Option<(f64, f64)> {
    let w = rate as usize / 50;
    let loud: Vec<usize> = (0..x.len() / w)
        .filter(|i| rms_db(&x[i * w..(i + 1) * w]) > db)
        .collect();
    Some((
        *loud.first()? as f64 * 0.02,
        (*loud.last()? + 1) as f64 * 0.02,
    ))
}

#[test]
fn devices_are_listed_with_defaults() {
    let _p = pulse();
    let inputs = list_devices(Direction::Input).unwrap();
    let mic = inputs
        .iter()
        .find(|d| d.is_default)
        .expect("a default input");
    assert!(mic.name.contains("VirtMic"), "{inputs:?}");
    let cfg = mic.default_config.as_ref().unwrap();
    assert_eq!(cfg.rate, RATE);
    let outputs = list_devices(Direction::Output).unwrap();
    assert!(
        outputs
            .iter()
            .any(|d| d.is_default && d.name.contains("Speaker")),
        "{outputs:?}"
    );
}

/// The default input (the virtual microphone) captured into channels, once
/// its samples flow.
fn capture_default_mic() -> (Capture, Receiver<EncodedFrame>, Receiver<CaptureEvent>) {
    let (sink, frames, events) = ChannelSink::new();
    let capture = Capture::start(
        &SourceSpec::Device { device: None },
        CaptureSettings::default(),
        sink,
        None,
    )
    .expect("open the default input");
    let info = capture
        .wait_started(Duration::from_secs(5))
        .expect("samples arrive");
    assert!(info.name.contains("VirtMic"), "{info:?}");
    (capture, frames, events)
}

#[test]
fn speech_into_the_virtual_mic_comes_out_as_opus_frames() {
    let p = pulse();
    let dir = tempfile::tempdir().unwrap();
    let speech = dir.path().join("answer.wav");
    espeak(
        "I led the migration of our billing system to a new platform.",
        &speech,
    );
    let (rate, samples) = wav::read_mono(&speech).unwrap();
    let (s0, s1) = active_span(&samples, rate, -40.0).unwrap();
    let speech_len = s1 - s0;

    let (capture, frames, events) = capture_default_mic();
    std::thread::sleep(Duration::from_millis(300));
    p.play_into_mic(&speech).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    capture.stop();
    let frames: Vec<_> = frames.try_iter().collect();
    assert!(frames.len() > 100, "{} frames", frames.len());
    assert!(frames.windows(2).all(|w| w[1].seq == w[0].seq + 1));
    let pcm = decode_all(&frames);
    let (c0, c1) = active_span(&pcm, 16_000, -40.0).expect("speech in the capture");
    let captured_len = c1 - c0;
    assert!(
        (captured_len - speech_len).abs() < 0.3,
        "speech {speech_len:.2} s, captured {captured_len:.2} s"
    );
    let voiced = &pcm[(c0 * 16_000.0) as usize..(c1 * 16_000.0) as usize];
    let level = rms_db(voiced);
    assert!(level > -35.0, "speech level {level:.1} dBFS");
    let voice_frames = frames.iter().filter(|f| f.voice).count() as f64 * 0.02;
    assert!(
        voice_frames > speech_len * 0.6 && voice_frames < speech_len + 0.6,
        "voice activity {voice_frames:.2} s for {speech_len:.2} s of speech"
    );
    let levels = events
        .try_iter()
        .filter(|e| matches!(e, CaptureEvent::Level(_)))
        .count();
    assert!(levels > 10, "level updates arrive");
}

/// The frames' capture times stay as far behind the moment they arrive as
/// the device's latency says, as the echo canceller's alignment needs:
/// through seconds in which speech played into the virtual microphone makes
/// its server split periods and deliver at a rate off the system clock
/// (stamps that stop following the device's latency drift hundreds of ms).
#[test]
fn frames_are_stamped_with_when_they_were_captured() {
    let p = pulse();
    let dir = tempfile::tempdir().unwrap();
    let speech = dir.path().join("answer.wav");
    espeak(
        "I led the migration of our billing system to a new platform, and we shipped it on time.",
        &speech,
    );
    let (capture, frames, _events) = capture_default_mic();
    // How long after its capture each frame arrived (ms), in order.
    let mut ages = Vec::new();
    std::thread::scope(|scope| {
        let player = scope.spawn(|| {
            std::thread::sleep(Duration::from_millis(1500));
            // Returns once the speech has played (about five seconds).
            p.play_into_mic(&speech).unwrap();
            std::thread::sleep(Duration::from_millis(500));
        });
        while !player.is_finished() {
            if let Ok(f) = frames.recv_timeout(Duration::from_millis(100)) {
                ages.push(f.captured_at.elapsed().as_secs_f64() * 1000.0);
            }
        }
    });
    capture.stop();
    assert!(ages.len() > 250, "{} frames", ages.len());
    // Medians of the first and last second: a scheduling hiccup moves one
    // frame, stamps that drift from the device move them all.
    let median = |x: &[f64]| {
        let mut x = x.to_vec();
        x.sort_by(f64::total_cmp);
        x[x.len() / 2]
    };
    let (early, late) = (median(&ages[25..75]), median(&ages[ages.len() - 50..]));
    assert!(
        (late - early).abs() < 30.0,
        "frames arrive {early:.1} ms after their capture at first, {late:.1} ms at the end"
    );
    assert!(
        (20.0..150.0).contains(&early),
        "frames arrive {early:.1} ms after their capture"
    );
}

#[test]
fn tone_played_back_is_heard_whole_on_the_speaker_monitor() {
    let p = pulse();
    let (playback, events) = default_output_playback();
    let rec = p.record_speaker().unwrap();
    assert!(rec.wait_flowing(Duration::from_secs(3)), "parecord runs");
    std::thread::sleep(Duration::from_millis(100));
    let tone = sine(440.0, 0.4, 16_000, 16_000 * 2);
    let pushed_secs = tone.len() as f64 / 16_000.0;
    // The recording's own clock at the moment the tone is handed over.
    let pushed_at = rec.received() as f64 / f64::from(RATE);
    push_opus(&playback, &tone);
    assert!(
        playback.wait_drained(Duration::from_secs(6)),
        "the tone is played out"
    );
    // The server's 40 ms buffer and the recording's 20 ms.
    std::thread::sleep(Duration::from_millis(200));
    let stats = playback.stats();
    playback.stop();
    let failures: Vec<_> = events
        .try_iter()
        .filter(|e| matches!(e, PlaybackEvent::Failed(_)))
        .collect();
    assert!(failures.is_empty(), "{failures:?}");
    let heard = rec.finish();
    let (t0, t1) = active_span(&heard, RATE, -30.0).expect("the tone on the monitor");
    assert!(
        ((t1 - t0) - pushed_secs).abs() <= 0.1,
        "heard {:.2} s of a {pushed_secs:.2} s tone",
        t1 - t0
    );
    let onset = t0 - pushed_at;
    assert!(
        (-0.03..0.25).contains(&onset),
        "the tone started {onset:.3} s after it was pushed"
    );
    let mid =
        &heard[((t0 + 0.3) * f64::from(RATE)) as usize..((t1 - 0.3) * f64::from(RATE)) as usize];
    let f = frequency(mid, RATE);
    assert!((f - 440.0).abs() <= 2.0, "frequency {f}");
    let level = rms_db(mid);
    assert!(
        (level - rms_db(&tone)).abs() <= 1.0,
        "level {level:.2} dBFS, pushed {:.2} dBFS",
        rms_db(&tone)
    );
    let j = stats.jitter;
    assert_eq!((j.dropped, j.late, j.concealed), (0, 0, 0), "{stats:?}");
    assert_eq!(j.played, 100, "{stats:?}");
    println!(
        "heard {:.3} s of {pushed_secs:.3} s, {onset:.3} s after the push, {f:.2} Hz, {level:.2} dBFS",
        t1 - t0
    );
}

#[test]
fn unknown_device_name_is_no_device() {
    let _p = pulse();
    let (sink, _f, _e) = ChannelSink::new();
    let err = Capture::start(
        &SourceSpec::Device {
            device: Some("no such microphone".into()),
        },
        CaptureSettings::default(),
        sink,
        None,
    )
    .unwrap_err();
    assert!(matches!(err, AudioError::NoDevice(_)), "{err:?}");
    let err = Playback::start(
        &SinkSpec::Device {
            device: Some("no such speaker".into()),
        },
        PlaybackSettings::default(),
        |_: PlaybackEvent| {},
        None,
    )
    .unwrap_err();
    assert!(matches!(err, AudioError::NoDevice(_)), "{err:?}");
}

#[test]
fn refused_access_is_a_permission_denial() {
    let p = pulse();
    let guard = p.deny_access();
    let (sink, _f, _e) = ChannelSink::new();
    let err = Capture::start(
        &SourceSpec::Device { device: None },
        CaptureSettings::default(),
        sink,
        None,
    )
    .unwrap_err();
    assert!(err.is_permission_denied(), "{err:?}");
    let err = Playback::start(
        &SinkSpec::Device { device: None },
        PlaybackSettings::default(),
        |_: PlaybackEvent| {},
        None,
    )
    .unwrap_err();
    assert!(err.is_permission_denied(), "{err:?}");
    drop(guard);
    // With access restored the same call works: the denial was the cause.
    let (sink, _f, _e) = ChannelSink::new();
    let c = Capture::start(
        &SourceSpec::Device { device: None },
        CaptureSettings::default(),
        sink,
        None,
    )
    .unwrap();
    c.wait_started(Duration::from_secs(5)).unwrap();
}

/// A capture of the default input that has started, its frames and events.
fn default_input_capture() -> (Capture, Receiver<EncodedFrame>, Receiver<CaptureEvent>) {
    let (sink, frames, events) = ChannelSink::new();
    let capture = Capture::start(
        &SourceSpec::Device { device: None },
        CaptureSettings::default(),
        sink,
        None,
    )
    .unwrap();
    capture.wait_started(Duration::from_secs(5)).unwrap();
    (capture, frames, events)
}

/// A playback of 16 kHz Opus on the default output, and its events.
fn default_output_playback() -> (Playback, Receiver<PlaybackEvent>) {
    let (events_tx, events) = mpsc::channel();
    let playback = Playback::start(
        &SinkSpec::Device { device: None },
        PlaybackSettings {
            stream_rate: 16_000,
            ..PlaybackSettings::default()
        },
        events_tx,
        None,
    )
    .expect("open the default output");
    (playback, events)
}

/// Pushes 16 kHz `audio` as the server would: 20 ms Opus packets.
fn push_opus(playback: &Playback, audio: &[f32]) {
    let mut enc = OpusEncoder::new(EncoderSettings::default()).unwrap();
    for (seq, frame) in audio.chunks_exact(CAPTURE_FRAME_SAMPLES).enumerate() {
        playback.push(seq as u64, enc.encode_vec(frame).unwrap());
    }
}

/// Waits for the first event matching `want`, returning it and how long it took.
fn wait_event<E>(
    events: &Receiver<E>,
    timeout: Duration,
    want: impl Fn(&E) -> bool,
) -> Option<(E, Duration)> {
    let t0 = Instant::now();
    let deadline = t0 + timeout;
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        match events.recv_timeout(left) {
            Ok(e) if want(&e) => return Some((e, t0.elapsed())),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
}

/// What capture and playback events say about their stream's life.
trait StreamEvent: std::fmt::Debug + Sized {
    fn is_lost(&self) -> bool;
    fn started_on(&self) -> Option<&StreamInfo>;
    fn failed_with(&self) -> Option<&AudioError>;
}

impl StreamEvent for CaptureEvent {
    fn is_lost(&self) -> bool {
        matches!(self, CaptureEvent::DeviceLost(_))
    }
    fn started_on(&self) -> Option<&StreamInfo> {
        match self {
            CaptureEvent::Started(info) => Some(info),
            _ => None,
        }
    }
    fn failed_with(&self) -> Option<&AudioError> {
        match self {
            CaptureEvent::Failed(e) => Some(e),
            _ => None,
        }
    }
}

impl StreamEvent for PlaybackEvent {
    fn is_lost(&self) -> bool {
        matches!(self, PlaybackEvent::DeviceLost(_))
    }
    fn started_on(&self) -> Option<&StreamInfo> {
        match self {
            PlaybackEvent::Started(info) => Some(info),
            _ => None,
        }
    }
    fn failed_with(&self) -> Option<&AudioError> {
        match self {
            PlaybackEvent::Failed(e) => Some(e),
            _ => None,
        }
    }
}

/// Waits for the stream to run (`Started`).
fn runs<E: StreamEvent>(events: &Receiver<E>, within: Duration) {
    wait_event(events, within, |e| e.started_on().is_some()).expect("the stream runs");
}

/// The loss is reported within `report_limit`, then the stream runs again,
/// within `resume_within`, on a device whose name contains `resumed_on`.
fn lost_then_resumed<E: StreamEvent>(
    events: &Receiver<E>,
    report_limit: Duration,
    resume_within: Duration,
    resumed_on: &str,
) {
    let (lost, after) =
        wait_event(events, Duration::from_secs(2), E::is_lost).expect("DeviceLost is reported");
    assert!(after < report_limit, "reported after {after:?}");
    let (started, resumed) = wait_event(events, resume_within, |e| e.started_on().is_some())
        .expect("the stream resumes");
    let info = started.started_on().unwrap();
    assert!(info.name.contains(resumed_on), "resumed on {info:?}");
    println!("{lost:?} after {after:?}; {started:?} {resumed:?} later");
}

/// With no device left: the loss is reported, then the failure, which comes
/// [`RECOVERY`] after the loss (within 2 s), not a restart. `gone` is when
/// the first device started going away: the loss cannot be seen before, and
/// may well be before the last one has gone (so timing from after the
/// removals would see the failure early).
fn lost_then_failed<E: StreamEvent>(events: &Receiver<E>, gone: Instant) -> E {
    wait_event(events, Duration::from_secs(2), E::is_lost).expect("DeviceLost is reported");
    let (failed, _) = wait_event(events, Duration::from_secs(8), |e| {
        e.failed_with().is_some() || e.started_on().is_some()
    })
    .expect("Failed is reported");
    let total = gone.elapsed();
    assert!(failed.failed_with().is_some(), "{failed:?}");
    assert!(
        total >= RECOVERY && total < RECOVERY + Duration::from_secs(2),
        "failed after {total:?}"
    );
    println!("{failed:?} after {total:?}");
    failed
}

/// Frames keep coming, in sequence, for `span` after a reopen.
fn frames_flow(frames: &Receiver<EncodedFrame>, span: Duration) {
    let before: Vec<_> = frames.try_iter().collect();
    std::thread::sleep(span);
    let after: Vec<_> = frames.try_iter().collect();
    let expected = span.as_secs_f64() / 0.02;
    assert!(
        after.len() as f64 > expected * 0.7,
        "{} frames in {span:?} after the reopen",
        after.len()
    );
    let all: Vec<u64> = before.iter().chain(&after).map(|f| f.seq).collect();
    assert!(
        all.windows(2).all(|w| w[1] == w[0] + 1),
        "sequence continues"
    );
}

#[test]
fn unplugged_mic_is_reported_and_capture_resumes_on_the_default() {
    let p = pulse();
    let (capture, frames, events) = default_input_capture();
    std::thread::sleep(Duration::from_millis(300));
    // The USB headset goes away: its source vanishes. PulseAudio moves the
    // stream to another source on its own and cpal says nothing.
    p.unload_sink("virtmic").unwrap();
    lost_then_resumed(
        &events,
        Duration::from_millis(1000),
        Duration::from_secs(3),
        "Speaker",
    );
    frames_flow(&frames, Duration::from_millis(500));
    capture.stop();
}

#[test]
fn a_mic_that_goes_silent_is_lost_and_capture_moves_to_the_default() {
    let p = pulse();
    p.pactl(&["set-default-source", "speaker.monitor"]).unwrap();
    let (sink, frames, events) = ChannelSink::new();
    let capture = Capture::start(
        &SourceSpec::Device {
            device: Some("Monitor of VirtMic".into()),
        },
        CaptureSettings::default(),
        sink,
        None,
    )
    .unwrap();
    let info = capture.wait_started(Duration::from_secs(5)).unwrap();
    assert!(info.name.contains("VirtMic"), "{info:?}");
    std::thread::sleep(Duration::from_millis(300));
    // The chosen device stays listed but stops delivering (suspended).
    p.pactl(&["suspend-sink", "virtmic", "1"]).unwrap();
    lost_then_resumed(
        &events,
        Duration::from_millis(1200),
        Duration::from_secs(4),
        "Speaker",
    );
    frames_flow(&frames, Duration::from_millis(500));
    capture.stop();
}

#[test]
fn with_no_input_left_capture_fails_within_the_bound() {
    let p = pulse();
    let (capture, _frames, events) = default_input_capture();
    std::thread::sleep(Duration::from_millis(300));
    let gone = Instant::now();
    p.unload_sink("virtmic").unwrap();
    p.unload_sink("speaker").unwrap();
    lost_then_failed(&events, gone);
    capture.stop();
}

#[test]
fn unplugged_speaker_is_reported_and_playback_resumes_on_the_default() {
    let p = pulse();
    let (playback, events) = default_output_playback();
    assert!(playback.info().name.contains("Speaker"));
    runs(&events, Duration::from_secs(2));
    std::thread::sleep(Duration::from_millis(300));
    p.unload_sink("speaker").unwrap();
    lost_then_resumed(
        &events,
        Duration::from_millis(1000),
        Duration::from_secs(3),
        "VirtMic",
    );
    // What is played now comes out of the remaining device.
    let rec = p.record("virtmic.monitor").unwrap();
    assert!(rec.wait_flowing(Duration::from_secs(3)));
    let tone = sine(440.0, 0.4, 16_000, 16_000 / 2);
    push_opus(&playback, &tone);
    assert!(playback.wait_drained(Duration::from_secs(3)));
    std::thread::sleep(Duration::from_millis(200));
    let heard = rec.finish();
    let (t0, t1) = active_span(&heard, RATE, -30.0).expect("the tone on the new device");
    assert!(((t1 - t0) - 0.5).abs() <= 0.1, "heard {:.2} s", t1 - t0);
    playback.stop();
}

#[test]
fn a_speaker_that_stops_taking_audio_is_lost_and_playback_moves_to_the_default() {
    let p = pulse();
    // The user chose the speaker; the system default is the other device.
    // (Changing the default later would move the stream there by itself.)
    p.pactl(&["set-default-sink", "virtmic"]).unwrap();
    let (events_tx, events) = mpsc::channel();
    let playback = Playback::start(
        &SinkSpec::Device {
            device: Some("Speaker".into()),
        },
        PlaybackSettings::default(),
        events_tx,
        None,
    )
    .unwrap();
    runs(&events, Duration::from_secs(2));
    std::thread::sleep(Duration::from_millis(300));
    // The chosen device stays listed but stops asking for audio (suspended).
    p.pactl(&["suspend-sink", "speaker", "1"]).unwrap();
    lost_then_resumed(
        &events,
        Duration::from_millis(1200),
        Duration::from_secs(4),
        "VirtMic",
    );
    playback.stop();
}

#[test]
fn with_no_output_left_playback_tells_its_sink_it_failed_within_the_bound() {
    let p = pulse();
    let (playback, events) = default_output_playback();
    runs(&events, Duration::from_secs(2));
    // Mid-answer: a tone is playing when the speaker goes.
    let tone = sine(440.0, 0.4, 16_000, 16_000 * 2);
    push_opus(&playback, &tone);
    std::thread::sleep(Duration::from_millis(300));
    // Every output device goes away for good.
    let gone = Instant::now();
    p.unload_sink("speaker").unwrap();
    p.unload_sink("virtmic").unwrap();
    let failed = lost_then_failed(&events, gone);
    assert!(
        matches!(&failed, PlaybackEvent::Failed(AudioError::DeviceLost(_))),
        "{failed:?}"
    );
    // Failing for good ends the worker: nothing more is reported.
    assert!(
        events.recv_timeout(Duration::from_millis(500)).is_err(),
        "no event after Failed"
    );
    // Closing a stream the server killed must not hang the caller.
    let stopping = Instant::now();
    playback.stop();
    assert!(
        stopping.elapsed() < Duration::from_secs(5),
        "stop took {:?}",
        stopping.elapsed()
    );
}
