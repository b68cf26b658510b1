//! The real capture and playback callback bodies run under an allocation
//! guard: any allocation or free inside them is counted as a violation. They
//! are called both directly and through the callback interface the device
//! layer uses (`InputCallback` / `OutputCallback`).

use std::sync::Arc;
use std::time::Instant;

use assert_no_alloc::{AllocDisabler, assert_no_alloc, reset_violation_count, violation_count};
use candor_audio::EchoLink;
use candor_audio::capture::capture_ring;
use candor_audio::playback::{PlaybackShared, PlaybackWorker, output_stream, playback_ring};
use candor_audio::sample::{AudioSample, ChannelMode};
use candor_audio::stream::{InputCallback, OutputCallback};
use candor_audio::{Codec, PlaybackSettings};

#[global_allocator]
static ALLOC: AllocDisabler = AllocDisabler;

#[test]
fn the_guard_catches_allocations() {
    reset_violation_count();
    let v = assert_no_alloc(|| vec![1u8; 64]);
    assert!(violation_count() > 0, "the guard must see this allocation");
    drop(v);
}

#[test]
fn capture_callback_never_allocates() {
    let (mut cb_i16, mut ring) = capture_ring(44_100, 2, ChannelMode::Mix, "test");
    let (mut cb_f32, _ring2) = capture_ring(48_000, 1, ChannelMode::Pick(0), "test");
    let stereo = vec![1000i16; 882 * 2];
    let mono = vec![0.25f32; 960];
    reset_violation_count();
    assert_no_alloc(|| {
        for _ in 0..50 {
            cb_i16.process(&stereo, Instant::now());
            cb_f32.process(&mono, Instant::now());
        }
        // Overflow path: the ring (2 s) is full after 100 callbacks of 20 ms.
        for _ in 0..200 {
            cb_i16.process(&stereo, Instant::now());
        }
    });
    assert_eq!(violation_count(), 0, "capture callback allocated");
    assert!(ring.samples.slots() > 0 && ring.stamps.pop().is_ok());
}

#[test]
fn playback_callback_never_allocates() {
    let shared = Arc::new(PlaybackShared::default());
    let link = EchoLink::new();
    let reference = link.open(48_000);
    let (mut writer, mut cb) = playback_ring(48_000, 2, shared.clone(), Some(reference));
    assert_eq!(writer.write(&[0.5; 4800]), 4800);
    let settings = PlaybackSettings {
        codec: Codec::Pcm16,
        stream_rate: 48_000,
        ..PlaybackSettings::default()
    };
    let mut worker = PlaybackWorker::new(settings, writer, 48_000, shared.clone()).unwrap();
    let mut out_f32 = vec![0.0f32; 960 * 2];
    let mut out_i16 = vec![0i16; 960 * 2];
    reset_violation_count();
    assert_no_alloc(|| {
        for _ in 0..20 {
            cb.process(&mut out_f32, Instant::now());
            cb.process(&mut out_i16, Instant::now());
        }
        // Barge-in: fade, wait for the worker's boundary, then the dry ring
        // plays silence.
        let n = shared.request_flush();
        for _ in 0..2 {
            cb.process(&mut out_f32, Instant::now());
        }
        // (The worker runs outside the guard.)
        assert_no_alloc::permit_alloc(|| worker.flush(n).unwrap());
        for _ in 0..3 {
            cb.process(&mut out_f32, Instant::now());
        }
    });
    assert_eq!(violation_count(), 0, "playback callback allocated");
    let mut seg = link.take().expect("reference published");
    assert!(
        seg.samples.slots() > 0,
        "what was played reached the reference"
    );
    assert_eq!(seg.samples.pop().unwrap(), 0.5);
}

/// What a device's input callback does with a buffer of `T`.
fn device_input<C: InputCallback, T: AudioSample>(callback: &mut C, data: &[T]) {
    callback.input(data, Instant::now());
}

/// What a device's output callback does with a buffer of `T`.
fn device_output<C: OutputCallback, T: AudioSample>(callback: &mut C, out: &mut [T]) {
    callback.output(out, Instant::now());
}

#[test]
fn callbacks_through_the_device_interface_never_allocate() {
    let (mut capture, mut ring) = capture_ring(48_000, 2, ChannelMode::Mix, "device");
    let shared = Arc::new(PlaybackShared::default());
    // A stream as the device layer opens it, echo reference included.
    let (mut writer, mut playback) = output_stream(48_000, 2, shared.clone());
    assert_eq!(writer.write(&[0.25; 4800]), 4800);
    let input_u8 = vec![200u8; 960 * 2];
    let input_f64 = vec![0.5f64; 960 * 2];
    let mut out_u32 = vec![0u32; 960 * 2];
    let mut out_i8 = vec![0i8; 960 * 2];
    reset_violation_count();
    assert_no_alloc(|| {
        for _ in 0..20 {
            device_input(&mut capture, &input_u8);
            device_input(&mut capture, &input_f64);
            device_output(&mut playback, &mut out_u32);
            device_output(&mut playback, &mut out_i8);
        }
        shared.request_flush();
        device_output(&mut playback, &mut out_u32);
    });
    assert_eq!(violation_count(), 0, "a device callback allocated");
    assert!(ring.samples.slots() > 0 && ring.stamps.pop().is_ok());
    assert_eq!(writer.queued(), 0, "the callbacks played what was queued");
    assert!(writer.shared().progress() > 4800);
}
