//! The hand-over of "what was played" from playback to the echo canceller.
//!
//! The playback callback pushes every sample it wrote to the speaker (mono,
//! after fades, silence included) into a lock-free ring; the capture worker
//! drains it into the echo canceller before each microphone block. Either side
//! may reopen its device, so the link holds the newest reference ring in a
//! slot that the capture worker picks up (a short lock on worker threads only,
//! never in a callback).

use std::sync::{Arc, Mutex};

use rtrb::{Consumer, Producer, RingBuffer};

/// The reader half of one reference ring, with the playback rate.
#[derive(Debug)]
pub struct ReferenceSegment {
    /// Played samples, mono f32.
    pub samples: Consumer<f32>,
    /// Their sample rate.
    pub rate: u32,
}

/// Shared between one playback and one capture.
#[derive(Debug, Default)]
pub struct EchoLink {
    slot: Mutex<Option<ReferenceSegment>>,
}

impl EchoLink {
    /// A new, empty link.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Creates a reference ring for a playback stream at `rate` holding up to
    /// one second, publishes its reader, and returns the writer.
    pub fn open(&self, rate: u32) -> Producer<f32> {
        let (producer, segment) = Self::create(rate);
        self.publish(segment);
        producer
    }

    /// Creates a reference ring for a playback stream at `rate` holding up to
    /// one second, without publishing it (publish it once the stream that
    /// writes it is really in use).
    pub fn create(rate: u32) -> (Producer<f32>, ReferenceSegment) {
        let (producer, consumer) = RingBuffer::new(rate as usize);
        (
            producer,
            ReferenceSegment {
                samples: consumer,
                rate,
            },
        )
    }

    /// Publishes a reader (replacing any not yet picked up).
    pub fn publish(&self, segment: ReferenceSegment) {
        if let Ok(mut slot) = self.slot.lock() {
            *slot = Some(segment);
        }
    }

    /// Takes the newest reader, if one was published since the last call.
    pub fn take(&self) -> Option<ReferenceSegment> {
        self.slot.lock().ok().and_then(|mut s| s.take())
    }
}
