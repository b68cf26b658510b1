//! Gathers the engine's events into batches, one IPC message each.
//!
//! Every message to the web view costs the GTK main thread and WebKit a
//! wake-up, so high-rate events are coalesced here, where only the latest
//! matters: the input level, the interviewer's activity, the live statistics,
//! a transcript segment's text (each message replaces the last for its
//! `segmentId`) and a model download's progress. A batch holds at most one of
//! each (the newest, in the place the first one took) and is sent at most
//! every [`FLUSH_INTERVAL`]; the first after a quiet spell goes at once.
//!
//! Every other event (views, notices, devices, echo, speech models, the
//! session summary) is discrete: it is never dropped or merged, it makes the
//! batch due at once, and nothing is merged across it, so the UI sees every
//! event in the order the engine sent it, minus superseded values.
//!
//! Sans-IO: time is passed in, so the rules are tested without a clock.

use std::time::{Duration, Instant};

use candor_client::EngineEvent;

/// The least time between two batches of coalesced events: about one frame
/// of a 30 Hz display, so every level capture sends (25 a second) still goes
/// through, while a burst after a stall is merged.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(33);

/// What a coalesced event replaces: the pending event with the same key.
#[derive(Debug, PartialEq, Eq)]
enum Key<'a> {
    Level,
    Interviewer,
    Stats,
    Transcript(u64),
    ModelDownload(&'a str),
}

/// The key of a coalesced event; `None` for a discrete one.
fn key(event: &EngineEvent) -> Option<Key<'_>> {
    match event {
        EngineEvent::Level { .. } => Some(Key::Level),
        EngineEvent::Interviewer { .. } => Some(Key::Interviewer),
        EngineEvent::Stats { .. } => Some(Key::Stats),
        EngineEvent::Transcript { segment_id, .. } => Some(Key::Transcript(*segment_id)),
        EngineEvent::ModelDownload { id, .. } => Some(Key::ModelDownload(id)),
        EngineEvent::View { .. }
        | EngineEvent::Echo { .. }
        | EngineEvent::Devices { .. }
        | EngineEvent::Notice { .. }
        | EngineEvent::SpeechModels { .. }
        | EngineEvent::SessionSummary { .. } => None,
    }
}

/// The batch being gathered and when it is due.
#[derive(Debug, Default)]
pub struct Batcher {
    pending: Vec<EngineEvent>,
    /// Events before this index are not merged into: a discrete event sits
    /// at `merge_from - 1`.
    merge_from: usize,
    /// When the pending batch became due at once (a discrete event arrived).
    urgent_since: Option<Instant>,
    /// When the first pending event arrived.
    first_at: Option<Instant>,
    last_flush: Option<Instant>,
}

impl Batcher {
    /// Adds an event that arrived at `now`.
    pub fn push(&mut self, event: EngineEvent, now: Instant) {
        self.first_at.get_or_insert(now);
        match key(&event) {
            Some(k) => {
                let tail = &mut self.pending[self.merge_from..];
                match tail
                    .iter_mut()
                    .find(|pending| key(pending).as_ref() == Some(&k))
                {
                    Some(slot) => *slot = event,
                    None => self.pending.push(event),
                }
            }
            None => {
                self.pending.push(event);
                self.merge_from = self.pending.len();
                self.urgent_since.get_or_insert(now);
            }
        }
    }

    /// When the pending batch is due; `None` when nothing is pending.
    pub fn due_at(&self) -> Option<Instant> {
        let first = self.first_at?;
        Some(match (self.urgent_since, self.last_flush) {
            (Some(urgent), _) => urgent,
            (None, Some(last)) => (last + FLUSH_INTERVAL).max(first),
            (None, None) => first,
        })
    }

    /// The pending batch, if it is due at `now`.
    pub fn take_due(&mut self, now: Instant) -> Option<Vec<EngineEvent>> {
        if self.due_at()? > now {
            return None;
        }
        self.last_flush = Some(now);
        self.take_all()
    }

    /// Whatever is pending, due or not (the engine stopped).
    pub fn take_all(&mut self) -> Option<Vec<EngineEvent>> {
        self.merge_from = 0;
        self.urgent_since = None;
        self.first_at = None;
        (!self.pending.is_empty()).then(|| std::mem::take(&mut self.pending))
    }
}

#[cfg(test)]
mod tests {
    use candor_client::ipc::{Activity, NoticeLevel, Speaker};

    use super::*;

    fn level(level: f32) -> EngineEvent {
        EngineEvent::Level {
            level,
            voice: level > 0.2,
        }
    }

    fn notice(message: &str) -> EngineEvent {
        EngineEvent::Notice {
            level: NoticeLevel::Info,
            message: message.to_owned(),
        }
    }

    fn transcript(segment_id: u64, text: &str, is_final: bool) -> EngineEvent {
        EngineEvent::Transcript {
            speaker: Speaker::Candidate,
            segment_id,
            text: text.to_owned(),
            is_final,
            start_ms: segment_id * 1000,
        }
    }

    fn interviewer(activity: Activity) -> EngineEvent {
        EngineEvent::Interviewer {
            activity,
            question_index: 1,
            question_count: 3,
        }
    }

    fn ms(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    #[test]
    fn a_burst_of_levels_becomes_the_latest_one() {
        let t0 = Instant::now();
        let mut b = Batcher::default();
        b.push(level(0.1), t0);
        assert_eq!(
            b.take_due(t0),
            Some(vec![level(0.1)]),
            "the first after a quiet spell goes at once"
        );
        for i in 1..=50 {
            b.push(level(i as f32 / 50.0), ms(t0, 1));
        }
        assert_eq!(b.take_due(ms(t0, 32)), None, "not before the interval");
        assert_eq!(b.take_due(ms(t0, 33)), Some(vec![level(1.0)]));
        assert_eq!(b.take_due(ms(t0, 100)), None, "nothing left");
    }

    #[test]
    fn the_flush_deadline_is_one_interval_after_the_last_flush() {
        let t0 = Instant::now();
        let mut b = Batcher::default();
        assert_eq!(b.due_at(), None, "nothing pending: no timer");
        b.push(level(0.1), t0);
        assert_eq!(b.due_at(), Some(t0));
        b.take_due(t0).expect("due");
        assert_eq!(b.due_at(), None);

        b.push(level(0.2), ms(t0, 10));
        assert_eq!(
            b.due_at(),
            Some(t0 + FLUSH_INTERVAL),
            "at most one batch per interval"
        );
        b.take_due(t0 + FLUSH_INTERVAL).expect("due");

        // Capture's regular 40 ms levels each go as they come.
        let later = t0 + FLUSH_INTERVAL + Duration::from_millis(40);
        b.push(level(0.3), later);
        assert_eq!(b.due_at(), Some(later));
    }

    #[test]
    fn a_discrete_event_is_due_at_once_and_carries_the_pending_ones_before_it() {
        let t0 = Instant::now();
        let mut b = Batcher::default();
        b.push(level(0.1), t0);
        b.take_due(t0).expect("due");
        b.push(level(0.2), ms(t0, 5));
        b.push(transcript(1, "So", false), ms(t0, 6));
        b.push(notice("Microphone switched"), ms(t0, 7));
        assert_eq!(b.due_at(), Some(ms(t0, 7)), "not held back by the interval");
        assert_eq!(
            b.take_due(ms(t0, 7)),
            Some(vec![
                level(0.2),
                transcript(1, "So", false),
                notice("Microphone switched")
            ])
        );
    }

    #[test]
    fn nothing_is_merged_across_a_discrete_event() {
        let t0 = Instant::now();
        let mut b = Batcher::default();
        b.push(level(0.1), t0);
        b.push(interviewer(Activity::Speaking), t0);
        b.push(notice("one"), t0);
        b.push(level(0.2), t0);
        b.push(interviewer(Activity::Listening), t0);
        b.push(level(0.3), t0);
        b.push(notice("two"), t0);
        b.push(notice("three"), t0);
        b.push(level(0.4), t0);
        assert_eq!(
            b.take_due(t0),
            Some(vec![
                level(0.1),
                interviewer(Activity::Speaking),
                notice("one"),
                level(0.3),
                interviewer(Activity::Listening),
                notice("two"),
                notice("three"),
                level(0.4),
            ]),
            "every discrete event, in order; each value the latest before the next discrete one"
        );
    }

    #[test]
    fn transcript_text_is_merged_per_segment_and_the_final_text_kept() {
        let t0 = Instant::now();
        let mut b = Batcher::default();
        b.push(level(0.0), t0);
        b.take_due(t0).expect("due");
        b.push(transcript(1, "Tell me", false), ms(t0, 1));
        b.push(transcript(2, "Sure", false), ms(t0, 2));
        b.push(transcript(1, "Tell me about it.", true), ms(t0, 3));
        b.push(transcript(2, "Sure, in my", false), ms(t0, 4));
        assert_eq!(
            b.take_due(t0 + FLUSH_INTERVAL),
            Some(vec![
                transcript(1, "Tell me about it.", true),
                transcript(2, "Sure, in my", false)
            ]),
            "one per segment, the newest text, in the order the segments began"
        );
    }

    #[test]
    fn download_progress_is_merged_per_model() {
        let t0 = Instant::now();
        let progress = |id: &str, downloaded_bytes| EngineEvent::ModelDownload {
            id: id.to_owned(),
            downloaded_bytes,
            total_bytes: 100,
        };
        let mut b = Batcher::default();
        for (i, id) in ["tiny", "base", "tiny", "base", "tiny"]
            .into_iter()
            .enumerate()
        {
            b.push(progress(id, i as u64 * 10), t0);
        }
        assert_eq!(
            b.take_due(t0),
            Some(vec![progress("tiny", 40), progress("base", 30)])
        );
    }

    #[test]
    fn every_discrete_event_survives_a_long_mixed_stream() {
        let t0 = Instant::now();
        let mut b = Batcher::default();
        let mut sent = Vec::new();
        for i in 0..1000u64 {
            let now = ms(t0, i);
            b.push(level((i % 10) as f32 / 10.0), now);
            if i % 7 == 0 {
                b.push(notice(&format!("n{i}")), now);
            }
            if i % 3 == 0 {
                b.push(transcript(i / 100, &format!("t{i}"), false), now);
            }
            if let Some(batch) = b.take_due(now) {
                sent.push(batch);
            }
        }
        sent.extend(b.take_all());
        let events: Vec<_> = sent.iter().flatten().collect();
        let notices: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                EngineEvent::Notice { message, .. } => Some(message.clone()),
                _ => None,
            })
            .collect();
        let expected: Vec<_> = (0..1000)
            .filter(|i| i % 7 == 0)
            .map(|i| format!("n{i}"))
            .collect();
        assert_eq!(notices, expected, "no discrete event lost or reordered");
        let last_level = events
            .iter()
            .rev()
            .find(|e| matches!(e, EngineEvent::Level { .. }));
        assert_eq!(last_level, Some(&&level(0.9)), "the latest level arrives");
        assert!(
            events.contains(&&transcript(9, "t999", false)),
            "the latest text of the last segment arrives"
        );
        for batch in &sent {
            let levels = batch
                .iter()
                .filter(|e| matches!(e, EngineEvent::Level { .. }));
            assert!(levels.count() <= 1 + batch.iter().filter(|e| key(e).is_none()).count());
        }
    }
}
