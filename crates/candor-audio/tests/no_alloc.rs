//! The real capture and playback callback bodies run under an allocation
//! guard: any allocation or free inside them is counted as a violation.

use std::sync::Arc;
use std::time::Instant;

use assert_no_alloc::{AllocDisabler, assert_no_alloc, reset_violation_count, violation_count};
use candor_audio::EchoLink;
use candor_audio::capture::capture_ring;
use candor_audio::playback::{PlaybackShared, PlaybackWorker, playback_ring};
use candor_audio::sample::ChannelMode;
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
            cb.process(&mut out_f32);
            cb.process(&mut out_i16);
        }
        // Barge-in: fade, wait for the worker's boundary, then the dry ring
        // plays silence.
        let n = shared.request_flush();
        for _ in 0..2 {
            cb.process(&mut out_f32);
        }
        // (The worker runs outside the guard.)
        assert_no_alloc::permit_alloc(|| worker.flush(n).unwrap());
        for _ in 0..3 {
            cb.process(&mut out_f32);
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
