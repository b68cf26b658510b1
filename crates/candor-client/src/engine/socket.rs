//! The session socket's tasks: connecting, then one task writing what the
//! [`ClientSession`] transmits (with keep-alive pings) and one reading what
//! the server sends. Each reports to the driver tagged with its attempt's
//! generation, so a stale socket's news is ignored.
//!
//! [`ClientSession`]: crate::session::ClientSession

use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use url::Url;

use super::Internal;
use crate::latency::LatencyLog;
use crate::session::Transmit;
use crate::transport::{self, TransportConfig};

/// Opens the socket and starts its reader and writer.
pub(super) async fn connect(
    generation: u64,
    url: Url,
    config: TransportConfig,
    launch_secret: Option<String>,
    internal: mpsc::UnboundedSender<Internal>,
    latency: LatencyLog,
) {
    match transport::connect(&url, config, launch_secret.as_deref()).await {
        Ok((sender, receiver)) => {
            let (writer, outgoing) = mpsc::unbounded_channel();
            tokio::spawn(write_loop(
                generation,
                sender,
                outgoing,
                config.ping_interval,
                internal.clone(),
                latency,
            ));
            tokio::spawn(read_loop(generation, receiver, internal.clone()));
            let _ = internal.send(Internal::SocketOpened { generation, writer });
        }
        Err(e) => {
            let _ = internal.send(Internal::SocketLost {
                generation,
                reason: e.to_string(),
            });
        }
    }
}

async fn write_loop(
    generation: u64,
    mut sender: transport::Sender,
    mut outgoing: mpsc::UnboundedReceiver<Transmit>,
    ping_interval: Duration,
    internal: mpsc::UnboundedSender<Internal>,
    latency: LatencyLog,
) {
    let mut ping = tokio::time::interval(ping_interval);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ping.tick().await;
    let result = loop {
        tokio::select! {
            item = outgoing.recv() => match item {
                None => break Ok(()),
                Some(transmit) => {
                    if let Err(e) = sender.send(&transmit.message).await { break Err(e); }
                    if let Some(frame) = transmit.frame {
                        latency.record(frame.captured_at, frame.encoded_at, Instant::now());
                    }
                }
            },
            _ = ping.tick() => {
                if let Err(e) = sender.ping().await { break Err(e); }
            }
        }
    };
    match result {
        Ok(()) => sender.close().await,
        Err(e) => {
            let _ = internal.send(Internal::SocketLost {
                generation,
                reason: e.to_string(),
            });
        }
    }
}

async fn read_loop(
    generation: u64,
    mut receiver: transport::Receiver,
    internal: mpsc::UnboundedSender<Internal>,
) {
    loop {
        let report = match receiver.recv().await {
            Ok(message) => Internal::Server {
                generation,
                message,
            },
            Err(e) => Internal::SocketLost {
                generation,
                reason: e.to_string(),
            },
        };
        let lost = matches!(report, Internal::SocketLost { .. });
        if internal.send(report).is_err() || lost {
            return;
        }
    }
}
