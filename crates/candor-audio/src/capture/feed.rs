//! A source fed by the program itself: samples pushed with [`Feed::push`] are
//! "spoken" into the capture in real time, and silence fills the gaps — like a
//! microphone in a quiet room that someone talks into now and then.
//!
//! The headless CLI and the tests use it to play a candidate's answers at the
//! right moments (when the interviewer hands over the turn) through the same
//! pipeline as a real microphone.

use std::collections::VecDeque;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use super::callback::CaptureCallback;
use super::pacing::{self, Pacing};
use crate::stream::StreamInfo;

/// A handle on a fed source: clone it, give one clone to
/// [`SourceSpec::Feed`](crate::SourceSpec::Feed), push audio with another.
#[derive(Clone)]
pub struct Feed {
    inner: Arc<Inner>,
}

struct Inner {
    rate: u32,
    queue: Mutex<VecDeque<f32>>,
}

impl std::fmt::Debug for Feed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feed")
            .field("rate", &self.inner.rate)
            .field("pending", &self.pending())
            .finish()
    }
}

impl PartialEq for Feed {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Feed {
    /// A mono feed at `rate` Hz.
    pub fn new(rate: u32) -> Self {
        Self {
            inner: Arc::new(Inner {
                rate,
                queue: Mutex::new(VecDeque::new()),
            }),
        }
    }

    /// The feed's sample rate.
    pub fn rate(&self) -> u32 {
        self.inner.rate
    }

    /// Queues mono samples at the feed's rate; they play after what is queued.
    pub fn push(&self, samples: &[f32]) {
        self.queue().extend(samples.iter().copied());
    }

    /// Samples queued and not played yet.
    pub fn pending(&self) -> usize {
        self.queue().len()
    }

    /// Drops everything queued.
    pub fn clear(&self) {
        self.queue().clear();
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, VecDeque<f32>> {
        // A panic while holding this lock cannot leave the queue inconsistent.
        self.inner
            .queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The driver thread: 10 ms chunks in real time, queued audio or silence.
    pub(crate) fn drive(&self, info: &StreamInfo, callback: CaptureCallback, stop: &AtomicBool) {
        pacing::drive(
            info,
            Pacing::RealTime,
            None,
            callback,
            stop,
            |_, frames, chunk| {
                let mut queue = self.queue();
                let take = queue.len().min(frames);
                chunk.extend(queue.drain(..take));
                chunk.resize(frames, 0.0);
            },
        );
    }
}
