//! The hand-over of "what was played, and when it was heard" from playback
//! to the echo canceller.
//!
//! The playback callback pushes every sample it wrote to the speaker (mono,
//! after fades, silence included) into a lock-free ring, and with each
//! callback one [`Heard`] stamp: when the first of those samples leaves the
//! loudspeaker (the callback's time plus the output latency the device
//! reports). The capture worker drains both into the
//! [`CaptureProcessor`](crate::capture::CaptureProcessor), which lines the
//! reference up with the microphone by those times (see
//! [`crate::echo_align`]). Either side may reopen its device, so the link
//! holds the newest reference ring in a slot that the capture worker picks up
//! (a short lock on worker threads only, never in a callback).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use rtrb::{Consumer, Producer, RingBuffer};

/// Sample `index` of a stream (counted from its start) meets the air at
/// `at`: played by the loudspeaker, or captured by the microphone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heard {
    /// The sample's index in its stream.
    pub index: u64,
    /// When it is (or was) heard.
    pub at: Instant,
}

/// The reader half of one reference ring, with the playback rate.
#[derive(Debug)]
pub struct ReferenceSegment {
    /// Played samples, mono f32.
    pub samples: Consumer<f32>,
    /// One stamp per playback callback: when its first sample is heard.
    pub stamps: Consumer<Heard>,
    /// Their sample rate.
    pub rate: u32,
}

/// The writer half of one reference ring: what a playback callback holds.
/// Real-time safe (no allocation, lock or blocking).
#[derive(Debug)]
pub struct ReferenceWriter {
    samples: Producer<f32>,
    stamps: Producer<Heard>,
    index: u64,
}

impl ReferenceWriter {
    /// Records `samples` as played, the first of them heard at `heard_at`.
    /// Samples that do not fit (the capture stopped reading) are dropped;
    /// the next stamp places what follows correctly again.
    #[inline]
    pub fn push(&mut self, samples: &[f32], heard_at: Instant) {
        let fit = samples.len().min(self.samples.slots());
        if fit == 0 || self.stamps.slots() == 0 {
            return;
        }
        let _ = self.stamps.push(Heard {
            index: self.index,
            at: heard_at,
        });
        if let Ok(chunk) = self.samples.write_chunk_uninit(fit) {
            self.index += chunk.fill_from_iter(samples[..fit].iter().copied()) as u64;
        }
    }
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
    pub fn open(&self, rate: u32) -> ReferenceWriter {
        let (writer, segment) = Self::create(rate);
        self.publish(segment);
        writer
    }

    /// Creates a reference ring for a playback stream at `rate` holding up to
    /// one second, without publishing it (publish it once the stream that
    /// writes it is really in use).
    pub fn create(rate: u32) -> (ReferenceWriter, ReferenceSegment) {
        let (producer, consumer) = RingBuffer::new(rate as usize);
        let (stamps_tx, stamps_rx) = RingBuffer::new(1024);
        (
            ReferenceWriter {
                samples: producer,
                stamps: stamps_tx,
                index: 0,
            },
            ReferenceSegment {
                samples: consumer,
                stamps: stamps_rx,
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn each_push_is_stamped_with_its_first_sample() {
        let (mut w, mut seg) = EchoLink::create(1000);
        let t0 = Instant::now();
        w.push(&[0.1; 10], t0);
        w.push(&[0.2; 5], t0 + Duration::from_millis(10));
        assert_eq!(seg.stamps.pop().unwrap(), Heard { index: 0, at: t0 });
        assert_eq!(seg.stamps.pop().unwrap().index, 10);
        assert_eq!(seg.samples.slots(), 15);
    }
}
