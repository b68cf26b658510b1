//! Helpers shared by the integration tests: a server on 127.0.0.1:0 with fast
//! timings, an HTTP client for the data API, and a raw WebSocket client that
//! speaks the protocol frame by frame. Every network wait has a timeout.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use candor_api::{AuthResponse, CreateInterviewRequest, Interview, Role, Seniority};
use candor_protocol::{
    AudioChunk, AudioConfig, ClientToServerMessage, Codec, ErrorCode, ServerPayload,
    ServerToClientMessage, StartRequest,
};
use candor_server::{Config, RunningServer, Server};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const WAIT: Duration = Duration::from_secs(10);

/// A configuration whose timings make tests run in seconds.
pub fn fast_config(dir: &Path) -> Config {
    let mut c = Config::new("127.0.0.1:0".parse().unwrap(), dir);
    c.allow_local_profiles = true;
    c.commit_interval = Duration::from_millis(40);
    c.limits.start_deadline = Duration::from_millis(600);
    c.limits.idle_timeout = Duration::from_secs(3);
    c.limits.resume_grace = Duration::from_secs(5);
    c.practice.answer_silence = Duration::from_millis(600);
    c.practice.think_time = Duration::from_millis(150);
    c.practice.short_answer = Duration::from_millis(2500);
    c.practice.barge_in = Duration::from_millis(200);
    c.practice.no_answer_timeout = Duration::from_secs(8);
    c.practice.words_per_minute = 320;
    c
}

pub async fn start(dir: &Path) -> RunningServer {
    Server::start(fast_config(dir))
        .await
        .expect("server starts")
}

#[derive(Debug)]
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
}

impl Api {
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            base: format!("http://{addr}"),
            http: candor_http::client_builder().timeout(WAIT).build().unwrap(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Registers `email` (password "correct horse battery") and signs in.
    pub async fn register(&self, email: &str) -> AuthResponse {
        let body = serde_json::json!({"email": email, "password": "correct horse battery"});
        let res = self
            .http
            .post(self.url("/v1/auth/register"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 202, "{:?}", res.text().await);
        let res = self
            .http
            .post(self.url("/v1/auth/sign-in"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{:?}", res.text().await);
        res.json().await.unwrap()
    }

    pub async fn create_interview(&self, token: &str, questions: u32) -> Interview {
        let res = self
            .http
            .post(self.url("/v1/interviews"))
            .bearer_auth(token)
            .json(&CreateInterviewRequest {
                role: Role::SoftwareEngineer,
                seniority: Seniority::Mid,
                job_description: Some("Backend engineer, Rust and PostgreSQL.".into()),
                cv_text: None,
                question_count: Some(questions),
                retry: None,
            })
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        res.json().await.unwrap()
    }
}

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub async fn connect(addr: SocketAddr) -> Ws {
    let (ws, _) = tokio::time::timeout(
        WAIT,
        tokio_tungstenite::connect_async(format!("ws://{addr}/v1/session")),
    )
    .await
    .expect("connect in time")
    .expect("connect");
    ws
}

/// A new user with an interview of `questions` questions, and a socket
/// whose session has started (its `StartResponse` received).
pub async fn start_session(
    server: &RunningServer,
    email: &str,
    questions: u32,
) -> (AuthResponse, Interview, Ws) {
    let api = Api::new(server.addr());
    let auth = api.register(email).await;
    let interview = api.create_interview(&auth.token, questions).await;
    let mut ws = connect(server.addr()).await;
    send(&mut ws, start_request(&auth.token, &interview.id)).await;
    let msg = recv(&mut ws).await.expect("a reply to StartRequest");
    assert!(
        matches!(msg.payload, Some(ServerPayload::StartResponse(_))),
        "{msg:?}"
    );
    (auth, interview, ws)
}

pub fn start_request(token: &str, interview_id: &str) -> StartRequest {
    StartRequest {
        auth_token: token.into(),
        interview_id: interview_id.into(),
        audio_config: Some(AudioConfig::opus_16k_mono()),
        resume: None,
        client_info: "candor-tests".into(),
        accepted_codecs: vec![],
    }
}

pub async fn send(ws: &mut Ws, msg: impl Into<ClientToServerMessage>) {
    // A lenient codec, so tests can send frames the server must refuse.
    let bytes = Codec::new(1 << 20).encode(&msg.into()).unwrap();
    ws.send(Message::Binary(bytes.into())).await.unwrap();
}

pub async fn send_raw(ws: &mut Ws, bytes: Vec<u8>) {
    ws.send(Message::Binary(bytes.into())).await.unwrap();
}

/// The next protocol message, or None when the socket closed.
pub async fn recv(ws: &mut Ws) -> Option<ServerToClientMessage> {
    loop {
        let next = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("server answered in time");
        match next {
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return None,
            Some(Ok(Message::Binary(b))) => {
                return Some(
                    Codec::default()
                        .decode_server(&b)
                        .expect("valid server frame"),
                );
            }
            Some(Ok(_)) => continue,
        }
    }
}

/// Expects an `Error` with `code`, then the socket closing.
pub async fn expect_error_and_close(ws: &mut Ws, code: ErrorCode) -> String {
    let msg = recv(ws).await.expect("an Error before the close");
    let Some(ServerPayload::Error(e)) = msg.payload else {
        panic!("expected Error {code:?}, got {msg:?}");
    };
    assert_eq!(ErrorCode::try_from(e.code).unwrap(), code, "{}", e.message);
    assert!(!e.message.is_empty());
    assert!(recv(ws).await.is_none(), "socket closes after the error");
    e.message
}

pub fn audio(seq: u64, data: Bytes) -> AudioChunk {
    AudioChunk {
        seq,
        data,
        timestamp_us: (seq - 1) * 20_000,
        // A client marks what it cannot explain as echo as voice; the
        // server's level gate decides the rest.
        voice_activity: true,
        muted: false,
    }
}

/// A chunk sent while the candidate muted the microphone (silence).
pub fn muted_audio(seq: u64, data: Bytes) -> AudioChunk {
    AudioChunk {
        voice_activity: false,
        muted: true,
        ..audio(seq, data)
    }
}

/// 20 ms Opus frames (16 kHz mono) of `text` spoken by espeak-ng.
pub fn speech_frames(text: &str) -> Vec<Bytes> {
    let out = std::process::Command::new("espeak-ng")
        .args(["--stdout", "-s", "170", text])
        .output()
        .expect("espeak-ng runs");
    assert!(out.status.success());
    let (rate, samples) = candor_audio::clip::read_wav(&out.stdout).unwrap();
    let samples = candor_audio::clip::resample(&samples, rate, 16_000).unwrap();
    candor_server::voice::encode_clip(candor_audio::Codec::Opus, 16_000, &samples).unwrap()
}

/// 20 ms Opus frames of digital silence.
pub fn silence_frames(n: usize) -> Vec<Bytes> {
    candor_server::voice::encode_clip(candor_audio::Codec::Opus, 16_000, &vec![0.0; n * 320])
        .unwrap()
}

/// Polls an interview's results until they are no longer `processing`
/// (or [`WAIT`] passes) and returns the last answer.
pub async fn wait_results(api: &Api, token: &str, id: &str) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let res: serde_json::Value = api
            .http
            .get(api.url(&format!("/v1/interviews/{id}/results")))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if res["status"] != "processing" || tokio::time::Instant::now() > deadline {
            return res;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The interview's feedback once its results are ready (panics if they
/// failed or are still processing after [`WAIT`]).
pub async fn wait_feedback(api: &Api, token: &str, id: &str) -> candor_api::Feedback {
    let res = wait_results(api, token, id).await;
    let res: candor_api::ResultsResponse =
        serde_json::from_value(res.clone()).unwrap_or_else(|e| panic!("{e}: {res}"));
    match res {
        candor_api::ResultsResponse::Ready { feedback, .. } => feedback,
        other => panic!("results not ready: {other:?}"),
    }
}
