//! The capture worker thread.
//!
//! The worker owns everything that may allocate or take time: it drains the
//! callback's ring, feeds the echo canceller with the played reference, runs
//! the [`CaptureProcessor`], and hands frames and events to a
//! [`CaptureSink`]. It is not woken by the callback, because waking a thread
//! is a syscall and the callback makes none: with nothing to do it sleeps
//! until the callback that completes the next 20 ms frame is due (when it
//! took the last callback's samples, plus as many callbacks of that size as
//! the frame still needs; see [`frame_wait`] and [`idle_wait`]; not from
//! the stamp's time, which is when the samples were captured, a source
//! latency earlier), whatever the device's callback size (PulseAudio hands
//! capture over in ~4 ms fragments, or in 20 ms ones that may end just
//! short of a frame and may come in two callbacks: see [`CallbackSizes`]), and
//! polls every 2 ms only while it is late or no
//! stream runs. Each wake-up of a sleeping thread costs ~30 µs of a core on a
//! virtual machine, so a 2 ms poll alone was ~1.3 % of a core against the
//! ~2.2 % the whole chain costs. It also
//! watches the stream's flow (see [`crate::watchdog`]) and asks the device
//! driver to reopen a stream that stopped delivering.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::time::{Duration, Instant};

use super::callback::CaptureRing;
use super::events::{CaptureEvent, CaptureSink};
use super::processor::{CaptureOutput, CaptureProcessor, CaptureSettings};
use super::report::EchoReport;
use crate::echo_link::{EchoLink, Heard, ReferenceSegment};
use crate::error::AudioError;
use crate::stream::{StreamInfo, StreamMessage};
use crate::watchdog::{DeviceControl, RECOVERY, STALL, Verdict, Watchdog};

/// How often the worker looks while a callback is late or no stream runs.
const POLL: Duration = Duration::from_millis(2);
/// How long after samples are due the worker looks for them (the callback
/// has run and queued them by then).
const DUE_SLACK: Duration = Duration::from_millis(1);
/// The longest the worker sleeps at once, so a stop is seen within it.
const LONGEST_WAIT: Duration = Duration::from_millis(50);

/// How long a worker with nothing to do sleeps at `now`: until `due` (when
/// the source should have queued the samples that complete the next frame),
/// or a poll interval while none is due or they are late.
fn idle_wait(now: Instant, due: Option<Instant>) -> Duration {
    due.map(|due| due.saturating_duration_since(now))
        .filter(|wait| *wait > POLL)
        .map_or(POLL, |wait| wait.min(LONGEST_WAIT))
}

/// How long until the callback that completes the next frame, `until`
/// samples away, when callbacks bring `chunk` samples at `rate` Hz: samples
/// come a callback's worth at a time, so a frame a few samples short waits
/// for the whole next callback, and one many small callbacks away for all
/// of them.
fn frame_wait(until: usize, chunk: usize, rate: u32) -> Duration {
    let callbacks = until.div_ceil(chunk.max(1)).max(1);
    Duration::from_secs_f64((callbacks * chunk) as f64 / f64::from(rate.max(1)))
}

/// The callback size the worker expects next: the largest of the last
/// four. A device may hand one period over in several callbacks run back to
/// back: PulseAudio splits a 20 ms fragment where its memory blocks end
/// (936 + 24 samples at 48 kHz), and the next samples are a whole period
/// away, not another 24 samples' worth (waiting for those, the worker polled
/// for the rest of the period: ~100 extra wake-ups a second). A burst after
/// a stall counts for four callbacks only.
#[derive(Debug, Default)]
struct CallbackSizes {
    last: [usize; 4],
    next: usize,
}

impl CallbackSizes {
    /// Counts a callback of `samples`; returns the size expected next.
    fn push(&mut self, samples: usize) -> usize {
        self.last[self.next] = samples;
        self.next = (self.next + 1) % self.last.len();
        self.last.iter().copied().max().unwrap_or(samples)
    }
}

/// What the worker reads from its source's driver.
pub(crate) type SourceMessage = StreamMessage<CaptureRing>;

/// The capture worker's state (see the module docs).
pub(crate) struct Worker<S> {
    settings: CaptureSettings,
    sink: S,
    echo: Option<Arc<EchoLink>>,
    started_tx: Sender<StreamInfo>,
    control: Option<Arc<DeviceControl>>,
    reference: Option<Reference>,
    ref_buf: Vec<f32>,
}

/// The reference being read: its ring, the stamp of the samples being
/// read, and the index of the next sample.
struct Reference {
    segment: ReferenceSegment,
    current: Option<Heard>,
    next: u64,
    /// The processor has been told of this stream.
    announced: bool,
}

/// How a pass went.
enum Pass {
    /// Audio was processed: look again at once.
    Busy,
    /// Nothing to do: wait a poll interval.
    Idle,
    /// The finite source ended and all its frames were handed over.
    Ended,
}

/// The worker loop's state between passes.
struct State {
    active: Option<Active>,
    /// The sequence number of the next frame, across reopens.
    next_seq: u64,
    input: Vec<f32>,
    watchdog: Watchdog,
    /// The longest the worker ran behind a callback since the last echo
    /// report.
    behind: Duration,
    /// When the callback completing the next frame should have queued its
    /// samples: when the worker took the last callback's samples (at or
    /// after that callback ran) plus [`frame_wait`] (in callbacks of the
    /// size [`CallbackSizes`] expects) and [`DUE_SLACK`].
    due: Option<Instant>,
}

/// The stream being processed.
struct Active {
    ring: CaptureRing,
    info: StreamInfo,
    processor: CaptureProcessor,
    consumed: u64,
    started: bool,
    sizes: CallbackSizes,
}

impl<S: CaptureSink> Worker<S> {
    /// A worker handing its output to `sink`; `started_tx` learns of each
    /// stream's first samples, `control` reopens a device that stalls.
    pub(crate) fn new(
        settings: CaptureSettings,
        sink: S,
        echo: Option<Arc<EchoLink>>,
        started_tx: Sender<StreamInfo>,
        control: Option<Arc<DeviceControl>>,
    ) -> Self {
        Self {
            settings,
            sink,
            echo,
            started_tx,
            control,
            reference: None,
            ref_buf: Vec::with_capacity(4800),
        }
    }

    /// Runs until `stop`, the end of a finite source, or a failure, which
    /// it reports to the sink and which stops the source's driver too.
    pub(crate) fn run(&mut self, rx: &Receiver<SourceMessage>, stop: &AtomicBool) {
        let mut state = State {
            active: None,
            next_seq: 0,
            input: Vec::with_capacity(48_000),
            watchdog: Watchdog::new(48_000, Instant::now()),
            behind: Duration::ZERO,
            due: None,
        };
        while !stop.load(Ordering::Relaxed) {
            crate::priority::serve_pending();
            match self.pass(rx, &mut state) {
                Ok(Pass::Busy) => {}
                Ok(Pass::Idle) => std::thread::sleep(idle_wait(Instant::now(), state.due)),
                Ok(Pass::Ended) => {
                    self.sink.event(CaptureEvent::Ended);
                    return;
                }
                Err(e) => {
                    self.sink.event(CaptureEvent::Failed(e));
                    stop.store(true, Ordering::Relaxed);
                    return;
                }
            }
        }
    }

    /// One pass: new streams and losses, then the queued audio, then the
    /// flow watch.
    fn pass(&mut self, rx: &Receiver<SourceMessage>, s: &mut State) -> Result<Pass, AudioError> {
        let now = Instant::now();
        while let Ok(msg) = rx.try_recv() {
            match msg {
                StreamMessage::Opened(ring, info) => {
                    if let Some(a) = s.active.take() {
                        s.next_seq = a.processor.next_seq();
                    }
                    s.watchdog.new_stream(ring.rate, now);
                    if let Some(r) = self.reference.as_mut() {
                        r.announced = false;
                    }
                    s.due = None;
                    s.active = Some(Active {
                        processor: CaptureProcessor::new(ring.rate, self.settings, s.next_seq)?,
                        ring,
                        info,
                        consumed: 0,
                        started: false,
                        sizes: CallbackSizes::default(),
                    });
                }
                StreamMessage::DeviceLost(e) => {
                    if s.watchdog.backend_lost(now) {
                        self.sink.event(CaptureEvent::DeviceLost(e));
                    }
                }
                StreamMessage::Failed(e) => return Err(e),
            }
        }
        let Some(a) = s.active.as_mut() else {
            return Ok(Pass::Idle);
        };
        self.feed_reference(&mut a.processor)?;
        let ended = a.ring.counters.ended.load(Ordering::Acquire);
        let mut got_any = false;
        while let Ok(stamp) = a.ring.stamps.pop() {
            let n = (stamp.end_index - a.consumed) as usize;
            s.input.clear();
            if let Ok(chunk) = a.ring.samples.read_chunk(n) {
                let (x, y) = chunk.as_slices();
                s.input.extend_from_slice(x);
                s.input.extend_from_slice(y);
                chunk.commit_all();
            }
            a.consumed = stamp.end_index;
            if n > 0 && !a.started {
                a.started = true;
                let _ = self.started_tx.send(a.info.clone());
                self.sink.event(CaptureEvent::Started(a.info.clone()));
            }
            got_any = true;
            s.behind = s.behind.max(now.saturating_duration_since(stamp.at));
            let sink = &mut self.sink;
            let behind = &mut s.behind;
            let overruns = &a.ring.counters.overrun_samples;
            a.processor.process(&s.input, stamp, &mut |o| match o {
                CaptureOutput::Frame(f) => sink.frame(f),
                CaptureOutput::Level(l) => sink.event(CaptureEvent::Level(l)),
                CaptureOutput::StrongEcho(on) => sink.event(CaptureEvent::StrongEcho(on)),
                CaptureOutput::Echo(report) => sink.event(CaptureEvent::Echo(EchoReport {
                    worker_behind: std::mem::take(behind),
                    overrun_samples: overruns.load(Ordering::Relaxed),
                    ..report
                })),
            })?;
            if n > 0 {
                let chunk = a.sizes.push(n);
                let until = a.processor.input_until_frame();
                s.due = Some(now + frame_wait(until, chunk, a.ring.rate) + DUE_SLACK);
            }
        }
        if ended && !got_any && a.ring.stamps.is_empty() {
            return Ok(Pass::Ended);
        }
        if let Some(control) = self.control.as_deref() {
            match s.watchdog.observe(a.consumed, Instant::now(), control) {
                Verdict::Quiet => {}
                Verdict::Lost => self
                    .sink
                    .event(CaptureEvent::DeviceLost(AudioError::DeviceLost(format!(
                        "{} delivered no audio for {STALL:?}",
                        a.info.name
                    )))),
                Verdict::Failed => {
                    return Err(AudioError::DeviceLost(format!(
                        "no input device delivered audio within {RECOVERY:?}"
                    )));
                }
            }
        }
        Ok(if got_any { Pass::Busy } else { Pass::Idle })
    }

    /// Hands the processor what was played since the last pass, each run of
    /// samples with when its first one is heard.
    fn feed_reference(&mut self, processor: &mut CaptureProcessor) -> Result<(), AudioError> {
        if let Some(link) = &self.echo
            && let Some(segment) = link.take()
        {
            self.reference = Some(Reference {
                segment,
                current: None,
                next: 0,
                announced: false,
            });
        }
        let Some(r) = self.reference.as_mut() else {
            return Ok(());
        };
        if !r.announced {
            processor.new_reference(r.segment.rate)?;
            r.announced = true;
        }
        loop {
            // The current stamp's samples run up to the next stamp (the
            // callback pushes a stamp before its samples).
            let next_stamp = r.segment.stamps.peek().ok().copied();
            let end = next_stamp.map_or(r.next + r.segment.samples.slots() as u64, |h| h.index);
            if let Some(cur) = r.current
                && end > r.next
            {
                let n = ((end - r.next) as usize).min(r.segment.samples.slots());
                self.ref_buf.clear();
                if let Ok(chunk) = r.segment.samples.read_chunk(n) {
                    let (x, y) = chunk.as_slices();
                    self.ref_buf.extend_from_slice(x);
                    self.ref_buf.extend_from_slice(y);
                    chunk.commit_all();
                }
                let offset = (r.next - cur.index) as f64 / f64::from(r.segment.rate);
                let heard = Heard {
                    index: r.next,
                    at: cur.at + std::time::Duration::from_secs_f64(offset),
                };
                processor.feed_reference(&self.ref_buf, heard)?;
                r.next += n as u64;
            }
            match next_stamp {
                Some(h) => {
                    let _ = r.segment.stamps.pop();
                    r.next = r.next.max(h.index);
                    r.current = Some(h);
                }
                None => return Ok(()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn the_next_frame_comes_with_the_callback_that_brings_its_last_sample() {
        // (samples to the next frame, the callback's size, the wait) at 48 kHz
        let cases = [
            // PulseAudio's ~4 ms fragments: five of them, not one.
            (960, 192, 20 * MS),
            (700, 192, 16 * MS),
            // 20 ms callbacks that end just short of a frame: the next
            // callback, not a poll every 2 ms until it comes.
            (4, 960, 20 * MS),
            (960, 960, 20 * MS),
            // Long callbacks: each brings a frame or more.
            (960, 4800, 100 * MS),
        ];
        for (until, chunk, want) in cases {
            assert_eq!(frame_wait(until, chunk, 48_000), want, "{until} in {chunk}");
        }
    }

    #[test]
    fn a_period_split_over_callbacks_is_still_waited_for_whole() {
        let mut sizes = CallbackSizes::default();
        // 20 ms periods, one of them in two callbacks: after its 24-sample
        // tail the next frame (5 samples away) is a period away, not 0.5 ms.
        for n in [960, 960, 936] {
            assert_eq!(sizes.push(n), 960);
        }
        let chunk = sizes.push(24);
        assert_eq!(frame_wait(5, chunk, 48_000), 20 * MS);
        // A burst after a stall is forgotten after four callbacks.
        assert_eq!(sizes.push(4800), 4800);
        for _ in 0..3 {
            assert_eq!(sizes.push(960), 4800);
        }
        assert_eq!(sizes.push(960), 960);
    }

    #[test]
    fn an_idle_worker_sleeps_until_the_next_frame_is_due() {
        let now = Instant::now();
        // (due, the wait)
        let cases = [
            // No stream yet, or the last callback delivered nothing: poll.
            (None, POLL),
            // The next frame's samples are 20 ms away: sleep until they
            // are queued, not ten times on the way (nor at each of the
            // device's 4 ms fragments).
            (Some(now + 20 * MS), 20 * MS),
            (Some(now + 3 * MS), 3 * MS),
            // Due within a poll, due now, or late: poll until they come.
            (Some(now + POLL), POLL),
            (Some(now + MS), POLL),
            (Some(now), POLL),
            (Some(now - 30 * MS), POLL),
            // A source with long callbacks: a stop is still seen in time.
            (Some(now + 500 * MS), LONGEST_WAIT),
        ];
        for (due, want) in cases {
            assert_eq!(
                idle_wait(now, due),
                want,
                "due in {:?}",
                due.map(|d| d.saturating_duration_since(now))
            );
        }
    }
}
