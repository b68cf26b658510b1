//! Pushes the engine's events to the UI on the channel it subscribed with.
//!
//! Events go in batches, one IPC message each (`Channel<Vec<EngineEvent>>`):
//! the forwarder gathers what the engine sends with a [`Batcher`], which
//! merges high-rate events (levels, transcript text, the interviewer's
//! activity) and sends at most one batch of them per frame, while discrete
//! events (views, notices, …) go at once, in order. It waits on the engine's
//! channel, or on the batch's deadline while one is pending: nothing polls.
//!
//! The UI may subscribe again (a reload); the newest channel wins and starts
//! with the current view.

mod batch;

use std::sync::{Arc, Mutex};
use std::time::Instant;

use candor_client::EngineEvent;
use tauri::ipc::Channel;
use tokio::sync::mpsc::UnboundedReceiver;

use batch::Batcher;

/// The UI's event channel: each message is a batch of events, in order.
pub type EventChannel = Channel<Vec<EngineEvent>>;

/// What woke the forwarder: an event (`None`: the engine stopped), or the
/// pending batch's deadline.
enum Wake {
    Event(Option<EngineEvent>),
    Due,
}

/// The UI's current channel.
#[derive(Clone, Default)]
pub struct Subscriber {
    channel: Arc<Mutex<Option<EventChannel>>>,
}

impl std::fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Subscriber")
    }
}

impl Subscriber {
    pub fn set(&self, channel: EventChannel) {
        *self.channel.lock().expect("subscriber lock") = Some(channel);
    }

    /// Sends one event at once, as a batch of its own.
    pub fn send(&self, event: EngineEvent) {
        self.send_batch(vec![event]);
    }

    fn send_batch(&self, batch: Vec<EngineEvent>) {
        let channel = self.channel.lock().expect("subscriber lock").clone();
        if let Some(channel) = channel
            && let Err(e) = channel.send(batch)
        {
            tracing::debug!(error = %e, "the UI channel is gone");
        }
    }

    /// Forwards every event of one engine, in batches, until it stops.
    pub fn forward(&self, mut events: UnboundedReceiver<EngineEvent>) {
        let this = self.clone();
        tauri::async_runtime::spawn(async move {
            let mut batcher = Batcher::default();
            loop {
                let wake = match batcher.due_at() {
                    None => Wake::Event(events.recv().await),
                    Some(due) => tokio::select! {
                        biased;
                        event = events.recv() => Wake::Event(event),
                        () = tokio::time::sleep_until(due.into()) => Wake::Due,
                    },
                };
                match wake {
                    Wake::Event(Some(event)) => batcher.push(event, Instant::now()),
                    Wake::Event(None) => break,
                    Wake::Due => {}
                }
                // Whatever else is already queued joins this batch.
                while let Ok(event) = events.try_recv() {
                    batcher.push(event, Instant::now());
                }
                if let Some(batch) = batcher.take_due(Instant::now()) {
                    this.send_batch(batch);
                }
            }
            // The engine stopped: what it sent last goes without waiting.
            if let Some(batch) = batcher.take_all() {
                this.send_batch(batch);
            }
        });
    }
}
