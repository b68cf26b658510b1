//! The clock of the sources that are not devices (files, generators, fed
//! audio): each delivers 10 ms chunks to the same [`CaptureCallback`] a
//! device would, either paced like a device (and at a device callback's
//! priority: [`crate::priority`]) or as fast as the worker takes them
//! (waiting for ring space instead of dropping, so nothing is lost).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::callback::CaptureCallback;
use crate::sample::AudioSample;
use crate::stream::StreamInfo;

/// How a file or generator source is paced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pacing {
    /// Like a device: one 10 ms chunk every 10 ms.
    #[default]
    RealTime,
    /// As fast as the worker consumes (no drops).
    AsFastAsPossible,
}

/// Runs `callback` over a stream described by `info`, 10 ms at a time, until
/// `total` frames were delivered (endless with `None`) or `stop` is set, then
/// marks the stream ended. `fill(first_frame, frames, chunk)` appends the
/// chunk's interleaved samples to the empty `chunk`.
pub(crate) fn drive<T: AudioSample>(
    info: &StreamInfo,
    pacing: Pacing,
    total: Option<u64>,
    mut callback: CaptureCallback,
    stop: &AtomicBool,
    mut fill: impl FnMut(u64, usize, &mut Vec<T>),
) {
    if pacing == Pacing::RealTime {
        // Like a device's callback thread (see `crate::devices`): a paced
        // source late on a busy machine delivers late, and its stamps move
        // against the audio. One that runs as fast as it can is batch work
        // and stays at the caller's priority.
        crate::priority::raise_current_thread();
    }
    let channels = usize::from(info.channels.max(1));
    let chunk_frames = (u64::from(info.rate) / 100).max(1);
    let mut chunk = Vec::with_capacity(chunk_frames as usize * channels);
    let started = Instant::now();
    let mut done = 0u64;
    loop {
        let frames = match total {
            Some(t) if done >= t => break,
            Some(t) => chunk_frames.min(t - done),
            None => chunk_frames,
        };
        // The first chunk is due at once; each later one after the previous
        // chunk's duration, like a device delivering a full buffer.
        if !wait_turn(
            pacing,
            started,
            done,
            info.rate,
            frames as usize,
            &callback,
            stop,
        ) {
            break;
        }
        chunk.clear();
        fill(done, frames as usize, &mut chunk);
        done += frames;
        callback.process(&chunk, stamp_time(pacing, started, done, info.rate));
    }
    callback.counters().ended.store(true, Ordering::Release);
}

/// The time stamped on a chunk: the real time for paced sources, a virtual
/// clock (start + samples / rate) for fast ones, so that capture timestamps
/// stay consistent with the audio even when it runs 100× faster.
fn stamp_time(pacing: Pacing, started: Instant, frames_after: u64, rate: u32) -> Instant {
    match pacing {
        Pacing::RealTime => Instant::now(),
        Pacing::AsFastAsPossible => {
            started + Duration::from_secs_f64(frames_after as f64 / f64::from(rate))
        }
    }
}

/// Waits until the next chunk is due (real time) or there is room for
/// `need` frames (fast). Returns false when asked to stop.
fn wait_turn(
    pacing: Pacing,
    started: Instant,
    frames_done: u64,
    rate: u32,
    need: usize,
    callback: &CaptureCallback,
    stop: &AtomicBool,
) -> bool {
    loop {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        match pacing {
            Pacing::RealTime => {
                let due = started + Duration::from_secs_f64(frames_done as f64 / f64::from(rate));
                let now = Instant::now();
                if now >= due {
                    return true;
                }
                std::thread::sleep((due - now).min(Duration::from_millis(20)));
            }
            Pacing::AsFastAsPossible => {
                if callback.free_slots() >= need {
                    return true;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
}

#[cfg(target_os = "linux")]
#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::callback::capture_ring;
    use crate::priority::test_support::{raised_and_not, scheduling};
    use crate::sample::ChannelMode;

    /// The scheduling of the thread that fills a 30 ms source paced `pacing`.
    fn filled_at(pacing: Pacing) -> (Option<i32>, i32) {
        std::thread::spawn(move || {
            let info = StreamInfo {
                name: "test".into(),
                rate: 48_000,
                channels: 1,
                format: crate::stream::PcmFormat::F32,
            };
            let (callback, _ring) = capture_ring(48_000, 1, ChannelMode::default(), "test");
            let mut seen = None;
            drive::<f32>(
                &info,
                pacing,
                Some(1440),
                callback,
                &AtomicBool::new(false),
                |_, n, chunk| {
                    seen.get_or_insert_with(scheduling);
                    chunk.resize(n, 0.0);
                },
            );
            crate::priority::serve_pending();
            seen.expect("the source was filled")
        })
        .join()
        .unwrap()
    }

    #[test]
    fn a_paced_source_runs_like_a_device_callback_and_a_fast_one_as_it_was_started() {
        let (raised, plain) = raised_and_not();
        assert_eq!(filled_at(Pacing::RealTime), raised);
        assert_eq!(filled_at(Pacing::AsFastAsPossible), plain);
    }
}
