//! Pushes the engine's events to the UI on the channel it subscribed with.
//!
//! The UI may subscribe again (a reload); the newest channel wins and starts
//! with the current view. Capture sends at most 25 input levels per second;
//! a level that follows the previous one by less than 1/30 s is dropped here
//! too, so a burst (capture catching up after a stall) cannot reach WebKit,
//! which holds on to memory under unthrottled events.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use candor_client::EngineEvent;
use tauri::ipc::Channel;
use tokio::sync::mpsc::UnboundedReceiver;

/// The least time between two levels sent to the UI: a little under capture's
/// 40 ms, so its regular levels all pass and only bursts are thinned.
const LEVEL_INTERVAL: Duration = Duration::from_millis(1000 / 30);

/// The UI's current channel.
#[derive(Clone, Default)]
pub struct Subscriber {
    channel: Arc<Mutex<Option<Channel<EngineEvent>>>>,
}

impl std::fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Subscriber")
    }
}

impl Subscriber {
    pub fn set(&self, channel: Channel<EngineEvent>) {
        *self.channel.lock().expect("subscriber lock") = Some(channel);
    }

    pub fn send(&self, event: EngineEvent) {
        let channel = self.channel.lock().expect("subscriber lock").clone();
        if let Some(channel) = channel
            && let Err(e) = channel.send(event)
        {
            tracing::debug!(error = %e, "the UI channel is gone");
        }
    }

    /// Forwards every event of one engine until it stops.
    pub fn forward(&self, mut events: UnboundedReceiver<EngineEvent>) {
        let this = self.clone();
        tauri::async_runtime::spawn(async move {
            let mut last_level: Option<Instant> = None;
            while let Some(event) = events.recv().await {
                if let EngineEvent::Level { .. } = event {
                    let now = Instant::now();
                    if last_level.is_some_and(|t| now.duration_since(t) < LEVEL_INTERVAL) {
                        continue;
                    }
                    last_level = Some(now);
                }
                this.send(event);
            }
        });
    }
}
