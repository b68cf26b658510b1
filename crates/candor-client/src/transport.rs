//! The session WebSocket: protobuf envelopes over binary frames.
//!
//! This layer knows bytes ↔ messages and liveness, nothing of sessions: it
//! refuses plain `ws://` to anything but loopback (the token must not cross a
//! network in clear), bounds the connect time, and reports a socket that falls
//! silent (no frame, not even a pong, past a deadline) as lost, since a dead
//! TCP connection can otherwise look open for minutes. Above it, the engine
//! handles resume and replay.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use thiserror::Error;
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout_at};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use url::Url;

use candor_protocol::codec::Codec;
use candor_protocol::{ClientToServerMessage, CodecError, ServerToClientMessage};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

#[derive(Debug, Error)]
pub enum TransportError {
    #[error("invalid server address {0}")]
    BadUrl(String),
    #[error(
        "refusing an unencrypted connection to {0}: use wss:// for any server that is not on this machine"
    )]
    InsecureRemote(String),
    #[error("timed out connecting to {0}")]
    ConnectTimeout(String),
    #[error("could not connect to the interview server: {0}")]
    Connect(String),
    #[error("the connection failed: {0}")]
    Io(String),
    #[error("the server sent nothing for {0:?}")]
    Silent(Duration),
    #[error("the server closed the connection{}", reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
    Closed { reason: Option<String> },
    #[error("the server sent an unreadable message: {0}")]
    Codec(#[from] CodecError),
}

/// Connection limits.
#[derive(Debug, Clone, Copy)]
pub struct TransportConfig {
    pub connect_timeout: Duration,
    /// No inbound frame for this long → [`TransportError::Silent`].
    pub silence_timeout: Duration,
    /// How often the writer pings, so a quiet but healthy line is never
    /// mistaken for a dead one (the server's pongs count as traffic).
    pub ping_interval: Duration,
    pub max_frame_bytes: usize,
}

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            silence_timeout: Duration::from_secs(5),
            ping_interval: Duration::from_millis(1500),
            max_frame_bytes: candor_protocol::DEFAULT_MAX_FRAME_BYTES,
        }
    }
}

/// Whether `url` may be used: `wss://` anywhere, `ws://` only on loopback
/// (the rule of [`crate::endpoint`], shared with the data API).
pub fn check_url(url: &Url) -> Result<(), TransportError> {
    if !matches!(url.scheme(), "ws" | "wss") {
        return Err(TransportError::BadUrl(url.to_string()));
    }
    crate::endpoint::check(url).map_err(|e| match e {
        crate::endpoint::UrlRefused::Insecure(host) => TransportError::InsecureRemote(host),
        crate::endpoint::UrlRefused::Scheme(url) => TransportError::BadUrl(url),
    })
}

/// Opens the session socket.
/// `launch_secret`: the embedded backend's secret, sent in the handshake.
pub async fn connect(
    url: &Url,
    config: TransportConfig,
    launch_secret: Option<&str>,
) -> Result<(Sender, Receiver), TransportError> {
    check_url(url)?;
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| TransportError::BadUrl(format!("{url}: {e}")))?;
    if let Some(secret) = launch_secret {
        let value = secret
            .parse()
            .map_err(|_| TransportError::BadUrl("unusable launch secret".into()))?;
        request
            .headers_mut()
            .insert(candor_server::LAUNCH_SECRET_HEADER, value);
    }
    let ws_config = WebSocketConfig::default()
        .max_message_size(Some(config.max_frame_bytes))
        .max_frame_size(Some(config.max_frame_bytes));
    let deadline = Instant::now() + config.connect_timeout;
    let (ws, _response) = timeout_at(
        deadline,
        tokio_tungstenite::connect_async_with_config(request, Some(ws_config), true),
    )
    .await
    .map_err(|_| TransportError::ConnectTimeout(url.to_string()))?
    .map_err(|e| TransportError::Connect(e.to_string()))?;
    let (sink, stream) = ws.split();
    let codec = Codec::new(config.max_frame_bytes);
    Ok((
        Sender { sink, codec },
        Receiver {
            stream,
            codec,
            config,
            last_inbound: Instant::now(),
        },
    ))
}

/// The writing half.
#[derive(Debug)]
pub struct Sender {
    sink: futures_util::stream::SplitSink<Ws, Message>,
    codec: Codec,
}

impl Sender {
    pub async fn send(&mut self, msg: &ClientToServerMessage) -> Result<(), TransportError> {
        let frame = self.codec.encode(msg)?;
        self.sink
            .send(Message::Binary(frame.into()))
            .await
            .map_err(|e| TransportError::Io(e.to_string()))
    }

    /// Sends a ping (liveness probe; the server's pong resets the silence clock).
    pub async fn ping(&mut self) -> Result<(), TransportError> {
        self.sink
            .send(Message::Ping(Default::default()))
            .await
            .map_err(|e| TransportError::Io(e.to_string()))
    }

    /// Closes the socket politely (best effort).
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), self.sink.close()).await;
    }
}

/// The reading half.
#[derive(Debug)]
pub struct Receiver {
    stream: futures_util::stream::SplitStream<Ws>,
    codec: Codec,
    config: TransportConfig,
    last_inbound: Instant,
}

impl Receiver {
    /// The next message, or why there is none. Cancel-safe.
    pub async fn recv(&mut self) -> Result<ServerToClientMessage, TransportError> {
        loop {
            let silent_at = self.last_inbound + self.config.silence_timeout;
            let frame = timeout_at(silent_at, self.stream.next())
                .await
                .map_err(|_| TransportError::Silent(self.config.silence_timeout))?;
            self.last_inbound = Instant::now();
            match frame {
                None => return Err(TransportError::Closed { reason: None }),
                Some(Err(e)) => return Err(TransportError::Io(e.to_string())),
                Some(Ok(Message::Binary(bytes))) => return Ok(self.codec.decode_server(&bytes)?),
                Some(Ok(Message::Close(frame))) => {
                    return Err(TransportError::Closed {
                        reason: frame
                            .map(|f| f.reason.to_string())
                            .filter(|r| !r.is_empty()),
                    });
                }
                // Pings are answered by tungstenite; pongs and text only prove liveness.
                Some(Ok(_)) => continue,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn plain_websockets_only_on_loopback() {
        for ok in [
            "ws://127.0.0.1:9000/v1/session",
            "ws://localhost/v1/session",
            "ws://[::1]:80/v1/session",
            "wss://candor.example.com/v1/session",
        ] {
            assert!(check_url(&url(ok)).is_ok(), "{ok}");
        }
        assert!(matches!(
            check_url(&url("ws://candor.example.com/v1/session")),
            Err(TransportError::InsecureRemote(host)) if host == "candor.example.com"
        ));
        assert!(matches!(
            check_url(&url("ws://10.0.0.2/v1/session")),
            Err(TransportError::InsecureRemote(_))
        ));
        assert!(matches!(
            check_url(&url("http://127.0.0.1/")),
            Err(TransportError::BadUrl(_))
        ));
    }
}
