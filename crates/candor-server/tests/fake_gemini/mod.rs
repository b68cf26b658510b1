//! A fake Gemini API on 127.0.0.1 for the bridge tests: the Live WebSocket
//! (`BidiGenerateContent`: setup/setupComplete, realtimeInput, serverContent
//! with modelTurn inlineData audio, input/output transcriptions, interrupted,
//! turnComplete, toolCall, goAway, sessionResumptionUpdate) and
//! `generateContent` for feedback, with scripted behaviour.
//!
//! The fake "hears" the candidate by the energy of the 16 kHz PCM it gets:
//! loud chunks are speech, and a run of quiet chunks after an answer ends the
//! candidate's turn. Every consumed audio chunk is followed by a resumption
//! update whose handle snapshots the whole conversation, so a resumed
//! connection continues exactly where the handle says; the final count of
//! consumed chunks therefore shows lost or duplicated audio.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::{Value, json};
use tokio::time::Instant;

pub const KEY: &str = "test-key-123";
pub const LIVE_PATH: &str =
    "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent";

/// How the fake Live API behaves.
#[derive(Debug, Clone, Default)]
pub struct Script {
    /// Model turns, in order; the last one calls `end_interview`.
    pub turns: Vec<&'static str>,
    /// The transcription of each answer, one word per 10 loud chunks.
    pub answers: Vec<&'static str>,
    /// Length of each model turn's audio.
    pub turn_ms: u64,
    /// Interrupt the model when the candidate speaks over it.
    pub barge_in: bool,
    /// Send `goAway` once the first answer has this many loud chunks.
    pub go_away_at_loud: Option<u32>,
    /// Drop the TCP connection once the first answer has this many loud chunks.
    pub drop_at_loud: Option<u32>,
    /// Refuse the WebSocket upgrade with this HTTP status.
    pub reject_status: Option<u16>,
    /// Close with this code right after `setup`.
    pub close_on_setup: Option<u16>,
    /// Send a malformed message after the first model turn.
    pub malformed_after_first_turn: bool,
    /// `generateContent` answers with this status (200: valid feedback).
    pub feedback_status: u16,
}

/// The conversation, as a resumption handle captures it.
#[derive(Debug, Clone, Default)]
pub struct Convo {
    /// Next model turn.
    pub turn: usize,
    /// Candidate audio chunks consumed.
    pub consumed: u64,
    pub answer_loud: u32,
    pub quiet_run: u32,
    pub loud_run: u32,
    pub words_sent: usize,
    /// Loud chunks of each finished answer.
    pub answers_loud: Vec<u32>,
    pub go_away_sent: bool,
    pub dropped: bool,
    pub malformed_sent: bool,
    pub ended: bool,
}

#[derive(Debug, Default)]
pub struct Log {
    pub setups: Vec<Value>,
    /// Handle each connection resumed with.
    pub handles: Vec<Option<String>>,
    pub keys: Vec<String>,
    pub tool_responses: Vec<Value>,
    pub client_content: Vec<Value>,
    /// Conversation state of the newest connection.
    pub latest: Convo,
    pub interrupts_sent: u32,
    pub feedback_requests: Vec<Value>,
    pub feedback_api_keys: Vec<String>,
}

pub struct Fake {
    pub addr: SocketAddr,
    pub log: Arc<Mutex<Log>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone)]
struct Shared {
    script: Arc<Script>,
    log: Arc<Mutex<Log>>,
    snapshots: Arc<Mutex<HashMap<String, Convo>>>,
}

impl Fake {
    pub async fn start(script: Script) -> Fake {
        let log = Arc::new(Mutex::new(Log::default()));
        let shared = Shared {
            script: Arc::new(script),
            log: log.clone(),
            snapshots: Arc::default(),
        };
        let app = Router::new()
            .route(LIVE_PATH, get(live))
            .route("/v1beta/models/{action}", post(generate))
            .with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Fake { addr, log, task }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn log(&self) -> std::sync::MutexGuard<'_, Log> {
        self.log.lock().unwrap()
    }
}

async fn live(
    State(s): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
    ws: WebSocketUpgrade,
) -> Response {
    let key = q.get("key").cloned().unwrap_or_default();
    s.log.lock().unwrap().keys.push(key.clone());
    if key != KEY {
        return (StatusCode::FORBIDDEN, "API key not valid").into_response();
    }
    if let Some(status) = s.script.reject_status {
        return StatusCode::from_u16(status).unwrap().into_response();
    }
    ws.on_upgrade(move |socket| async move { Conn::run(s, socket).await })
}

fn pcm_b64(ms: u64, hz: f64) -> String {
    let n = (24_000 * ms / 1000) as usize;
    let bytes: Vec<u8> = (0..n)
        .flat_map(|i| {
            let v = (0.3 * 32767.0 * (2.0 * std::f64::consts::PI * hz * i as f64 / 24_000.0).sin())
                as i16;
            v.to_le_bytes()
        })
        .collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

struct Conn {
    s: Shared,
    ws: WebSocket,
    convo: Convo,
    /// Index of the last client message received (setup is 0).
    index: u64,
    speaking_until: Option<Instant>,
    turn_complete_pending: bool,
    handle_seq: u64,
}

impl Conn {
    async fn run(s: Shared, mut ws: WebSocket) {
        let Some(Ok(Message::Text(first))) = ws.recv().await else {
            return;
        };
        let setup: Value = serde_json::from_str(first.as_str()).unwrap();
        let handle = setup["setup"]["sessionResumption"]["handle"]
            .as_str()
            .map(str::to_owned);
        {
            let mut log = s.log.lock().unwrap();
            log.setups.push(setup.clone());
            log.handles.push(handle.clone());
        }
        if let Some(code) = s.script.close_on_setup {
            let _ = ws
                .send(Message::Close(Some(CloseFrame {
                    code,
                    reason: "API key not valid. Please pass a valid API key.".into(),
                })))
                .await;
            return;
        }
        let snapshot = handle
            .as_ref()
            .and_then(|h| s.snapshots.lock().unwrap().get(h).cloned());
        let convo = match &handle {
            Some(_) => match snapshot {
                Some(c) => c,
                None => {
                    let _ = ws
                        .send(Message::Close(Some(CloseFrame {
                            code: 1008,
                            reason: "unknown session handle".into(),
                        })))
                        .await;
                    return;
                }
            },
            None => Convo::default(),
        };
        let mut c = Conn {
            s,
            ws,
            convo,
            index: 0,
            speaking_until: None,
            turn_complete_pending: false,
            handle_seq: 0,
        };
        c.send(json!({"setupComplete": {}})).await;
        c.loop_().await;
    }

    async fn send(&mut self, v: Value) {
        let _ = self.ws.send(Message::Text(v.to_string().into())).await;
    }

    fn publish(&self) {
        self.s.log.lock().unwrap().latest = self.convo.clone();
    }

    async fn resumption_update(&mut self) {
        self.handle_seq += 1;
        let h = format!("h-{}-{}", self.convo.consumed, self.handle_seq);
        self.s
            .snapshots
            .lock()
            .unwrap()
            .insert(h.clone(), self.convo.clone());
        self.send(json!({"sessionResumptionUpdate": {
            "newHandle": h, "resumable": true,
            "lastConsumedClientMessageIndex": self.index.to_string()
        }}))
        .await;
    }

    async fn loop_(&mut self) {
        loop {
            let msg = match tokio::time::timeout(Duration::from_secs(30), self.ws.recv()).await {
                Ok(Some(Ok(m))) => m,
                _ => return,
            };
            let text = match msg {
                Message::Text(t) => t.to_string(),
                Message::Close(_) => return,
                _ => continue,
            };
            self.index += 1;
            let v: Value = serde_json::from_str(&text).unwrap();
            if v.get("clientContent").is_some() {
                self.s.log.lock().unwrap().client_content.push(v.clone());
                if self.convo.turn == 0 {
                    self.speak().await;
                }
            } else if let Some(a) = v.get("realtimeInput") {
                assert_eq!(a["audio"]["mimeType"], "audio/pcm;rate=16000");
                let pcm = base64::engine::general_purpose::STANDARD
                    .decode(a["audio"]["data"].as_str().unwrap())
                    .unwrap();
                if self.on_audio(&pcm).await {
                    return;
                }
                self.resumption_update().await;
            } else if let Some(t) = v.get("toolResponse") {
                self.s.log.lock().unwrap().tool_responses.push(t.clone());
            }
            self.publish();
        }
    }

    fn speaking(&self) -> bool {
        self.speaking_until.is_some_and(|u| Instant::now() < u)
    }

    /// Returns true when the connection was dropped on purpose.
    async fn on_audio(&mut self, pcm: &[u8]) -> bool {
        self.convo.consumed += 1;
        let samples: Vec<i16> = pcm
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect();
        let rms = (samples.iter().map(|s| (*s as f64).powi(2)).sum::<f64>()
            / samples.len().max(1) as f64)
            .sqrt();
        let loud = rms > 1500.0;
        if self.turn_complete_pending && !self.speaking() {
            self.turn_complete_pending = false;
            self.send(json!({"serverContent": {"turnComplete": true}}))
                .await;
        }
        if self.convo.ended {
            return false;
        }
        if loud {
            self.convo.loud_run += 1;
            self.convo.quiet_run = 0;
            if self.speaking() {
                if self.s.script.barge_in && self.convo.loud_run >= 5 {
                    self.speaking_until = None;
                    self.turn_complete_pending = false;
                    self.s.log.lock().unwrap().interrupts_sent += 1;
                    self.send(json!({"serverContent": {"interrupted": true}}))
                        .await;
                } else {
                    return false;
                }
            }
            self.convo.answer_loud += 1;
            if self.convo.answer_loud.is_multiple_of(10) {
                self.send_word().await;
            }
            let first_answer = self.convo.answers_loud.is_empty();
            if first_answer
                && Some(self.convo.answer_loud) == self.s.script.go_away_at_loud
                && !self.convo.go_away_sent
            {
                self.convo.go_away_sent = true;
                self.send(json!({"goAway": {"timeLeft": "20s"}})).await;
            }
            if first_answer
                && Some(self.convo.answer_loud) == self.s.script.drop_at_loud
                && !self.convo.dropped
            {
                self.convo.dropped = true;
                self.resumption_update().await;
                self.publish();
                // Drop without a close frame, as a network failure would.
                return true;
            }
        } else {
            self.convo.loud_run = 0;
            self.convo.quiet_run += 1;
            if self.convo.answer_loud >= 10 && self.convo.quiet_run >= 10 && !self.speaking() {
                // End of the candidate's turn: the rest of its words, then the model.
                while self.send_word().await {}
                let n = self.convo.answer_loud;
                self.convo.answers_loud.push(n);
                self.convo.answer_loud = 0;
                self.convo.words_sent = 0;
                self.speak().await;
            }
        }
        false
    }

    /// Sends the next word of the current answer; false when none is left.
    async fn send_word(&mut self) -> bool {
        let idx = self.convo.answers_loud.len();
        let Some(answer) = self.s.script.answers.get(idx) else {
            return false;
        };
        let words: Vec<&str> = answer.split(' ').collect();
        let Some(w) = words.get(self.convo.words_sent) else {
            return false;
        };
        self.convo.words_sent += 1;
        self.send(json!({"serverContent": {"inputTranscription": {"text": format!(" {w}")}}}))
            .await;
        true
    }

    async fn speak(&mut self) {
        let Some(text) = self.s.script.turns.get(self.convo.turn).copied() else {
            return;
        };
        self.convo.turn += 1;
        let last = self.convo.turn == self.s.script.turns.len();
        let words: Vec<&str> = text.split(' ').collect();
        let chunk_ms = 100;
        let chunks = (self.s.script.turn_ms / chunk_ms).max(1) as usize;
        for i in 0..chunks {
            self.send(json!({"serverContent": {"modelTurn": {"parts": [
                {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": pcm_b64(chunk_ms, 220.0)}}
            ]}}}))
            .await;
            // Words spread over the chunks.
            let from = i * words.len() / chunks;
            let to = (i + 1) * words.len() / chunks;
            if to > from {
                let piece = words[from..to].join(" ");
                self.send(json!({"serverContent": {"outputTranscription": {"text": format!(" {piece}")}}}))
                    .await;
            }
        }
        if last {
            self.convo.ended = true;
            self.send(json!({"toolCall": {"functionCalls": [{"id": "call-1", "name": "end_interview", "args": {}}]}}))
                .await;
        }
        self.send(json!({"serverContent": {"generationComplete": true}}))
            .await;
        self.speaking_until = Some(Instant::now() + Duration::from_millis(self.s.script.turn_ms));
        self.turn_complete_pending = true;
        if self.s.script.malformed_after_first_turn && !self.convo.malformed_sent {
            self.convo.malformed_sent = true;
            let _ = self
                .ws
                .send(Message::Text(
                    "{\"serverContent\": {\"turnComplete\": \"maybe\"".into(),
                ))
                .await;
        }
        if last {
            // The goodbye completes without waiting for audio from the candidate.
            tokio::time::sleep(Duration::from_millis(self.s.script.turn_ms)).await;
            self.turn_complete_pending = false;
            self.send(json!({"serverContent": {"turnComplete": true}}))
                .await;
        }
    }
}

/// `POST /v1beta/models/{model}:generateContent`.
async fn generate(
    State(s): State<Shared>,
    axum::extract::Path(action): axum::extract::Path<String>,
    headers: axum::http::HeaderMap,
    body: String,
) -> Response {
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    {
        let mut log = s.log.lock().unwrap();
        log.feedback_requests
            .push(json!({"action": action, "body": v}));
        log.feedback_api_keys.push(
            headers
                .get("x-goog-api-key")
                .and_then(|h| h.to_str().ok())
                .unwrap_or_default()
                .to_owned(),
        );
    }
    if s.script.feedback_status != 200 {
        return (
            StatusCode::from_u16(s.script.feedback_status).unwrap(),
            json!({"error": {"code": s.script.feedback_status, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}).to_string(),
        )
            .into_response();
    }
    let model_json = json!({
        "summary": "Clear, concrete answers; the second one lacked a result.",
        "scores": [
            {"category": "structure", "score": 72, "reason": "The migration answer followed situation, action, result."},
            {"category": "specificity", "score": 55, "reason": "The cache answer named no numbers."},
            {"category": "communication", "score": 80, "reason": "Short, direct sentences."}
        ],
        "strengths": ["You named your own role in the migration."],
        "improvements": ["Say what the fix changed, with a number."],
        "weakest_answer": {
            "question": "What was the hardest bug you fixed?",
            "why": "No outcome was given.",
            "better_answer": "I found a race in our cache layer and fixed it, which cut errors by [X]%."
        }
    });
    json!({"candidates": [{"content": {"role": "model", "parts": [{"text": model_json.to_string()}]}, "finishReason": "STOP"}]})
        .to_string()
        .into_response()
}
