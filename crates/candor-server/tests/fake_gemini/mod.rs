//! A fake Gemini API on 127.0.0.1 for the bridge tests: the Live WebSocket
//! (`BidiGenerateContent`) and `generateContent` for feedback, with scripted
//! behaviour.
//!
//! By default it behaves as the Gemini Developer API does where the bridge
//! depends on it (see the recordings in `fixtures/gemini-live-recordings`
//! and the SDKs' `types.py` / `live.ts`):
//! - JSON pretty-printed in binary frames; `setupComplete` first;
//! - an unknown model is refused at setup with the service's close
//!   (1008, "models/… is not found for API version v1beta, or is not
//!   supported for bidiGenerateContent …");
//! - `sessionResumptionUpdate` carries `newHandle` + `resumable` only (no
//!   `lastConsumedClientMessageIndex`), `{}` (not resumable) while the model
//!   generates; a handle stands for the conversation as of the last turn
//!   boundary — an answer in progress is not part of it;
//! - transcription independent of the model turn: the answer's last word
//!   after the model's first audio, the turn's last words after
//!   `turnComplete`; `generationComplete` before `turnComplete`, which comes
//!   once the turn's audio would have played;
//! - `goAway` with `timeLeft`, after which the connection is dropped;
//! - scripted unplanned drops (no close frame) mid-answer.
//!
//! `Script::transparent` and `Script::text_frames` bring back the earlier
//! behaviour (Vertex AI's transparent resumption: an exact index after
//! every chunk; text frames) for the tests of that path.
//!
//! The fake "hears" the candidate by the energy of the 16 kHz PCM it gets:
//! loud chunks are speech, and a run of quiet chunks after an answer ends the
//! candidate's turn. The counters show lost or duplicated audio: every loud
//! chunk of each answer must be heard exactly once.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
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

/// The Live models the fake offers (those the README's table lists).
pub const LIVE_MODELS: [&str; 3] = [
    "gemini-3.8-live",
    "gemini-3.1-flash-live-preview",
    "gemini-2.5-flash-native-audio-preview-12-2025",
];

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
    /// Drop the TCP connection right after the first audio of this model
    /// turn (1-based), while the model is generating.
    pub drop_in_turn: Option<usize>,
    /// Refuse the WebSocket upgrade with this HTTP status.
    pub reject_status: Option<u16>,
    /// Close with this code right after `setup`.
    pub close_on_setup: Option<u16>,
    /// Send a malformed message after the first model turn.
    pub malformed_after_first_turn: bool,
    /// `generateContent` answers with this status (200: valid feedback).
    pub feedback_status: u16,
    /// Vertex AI's transparent resumption: after every audio chunk a handle
    /// of the whole conversation with `lastConsumedClientMessageIndex`.
    pub transparent: bool,
    /// Send text frames of compact JSON instead of binary pretty-printed.
    pub text_frames: bool,
    /// Models refused at setup although listed (retired).
    pub retired: Vec<&'static str>,
    /// `goAway`'s `timeLeft`, in seconds (default 20).
    pub go_away_secs: Option<u32>,
    /// Wait this long before each model turn's first audio (the model's
    /// thinking time, subtracted in latency figures).
    pub reply_delay_ms: u64,
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
    /// `realtimeInput.text` messages (the kick-off).
    pub realtime_text: Vec<String>,
    pub audio_stream_ends: u32,
    /// Setups refused for their model.
    pub refused_models: Vec<String>,
    /// When each model turn's first audio was sent, and its scripted delay.
    pub turn_audio_sent: Vec<(Instant, u64)>,
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
    /// Scripted one-off events that happened (kept across connections).
    once: Arc<Mutex<HashSet<&'static str>>>,
}

impl Shared {
    /// True the first time `what` happens.
    fn first(&self, what: &'static str) -> bool {
        self.once.lock().unwrap().insert(what)
    }
}

impl Fake {
    pub async fn start(script: Script) -> Fake {
        let log = Arc::new(Mutex::new(Log::default()));
        let shared = Shared {
            script: Arc::new(script),
            log: log.clone(),
            snapshots: Arc::default(),
            once: Arc::default(),
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
    /// The conversation as of the last turn boundary (what a handle holds
    /// unless transparent).
    committed: Convo,
    /// Index of the last client message received (setup is 0).
    index: u64,
    speaking_until: Option<Instant>,
    turn_complete_pending: bool,
    /// The turn's last words, sent after its `turnComplete`.
    late_output: Option<String>,
    handle_seq: u64,
    chunks_since_update: u32,
    /// After `goAway`: when the connection is dropped.
    closes_at: Option<Instant>,
}

/// The service's refusal of a model, cut to what a close frame holds
/// (RFC 6455 §5.5: 125 bytes with the 2-byte code).
fn model_not_found(model: &str) -> String {
    let mut reason = format!(
        "{model} is not found for API version v1beta, or is not supported for bidiGenerateContent. \
         Call ListModels to see the list of available models and their supported methods."
    );
    let mut cut = 123;
    while !reason.is_char_boundary(cut) {
        cut -= 1;
    }
    reason.truncate(cut);
    reason
}

impl Conn {
    async fn run(s: Shared, mut ws: WebSocket) {
        let first = match ws.recv().await {
            Some(Ok(Message::Text(t))) => t.to_string(),
            Some(Ok(Message::Binary(b))) => String::from_utf8(b.to_vec()).unwrap(),
            _ => return,
        };
        let setup: Value = serde_json::from_str(&first).unwrap();
        let handle = setup["setup"]["sessionResumption"]["handle"]
            .as_str()
            .map(str::to_owned);
        {
            let mut log = s.log.lock().unwrap();
            log.setups.push(setup.clone());
            log.handles.push(handle.clone());
        }
        let model = setup["setup"]["model"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let name = model.strip_prefix("models/").unwrap_or_default();
        if !LIVE_MODELS.contains(&name) || s.script.retired.contains(&name) {
            s.log.lock().unwrap().refused_models.push(model.clone());
            let _ = ws
                .send(Message::Close(Some(CloseFrame {
                    code: 1008,
                    reason: model_not_found(&model).into(),
                })))
                .await;
            return;
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
            committed: convo.clone(),
            convo,
            index: 0,
            speaking_until: None,
            turn_complete_pending: false,
            late_output: None,
            handle_seq: 0,
            chunks_since_update: 0,
            closes_at: None,
        };
        c.send(json!({"setupComplete": {}})).await;
        if !c.s.script.transparent {
            c.resumption_update().await;
        }
        c.publish();
        c.loop_().await;
    }

    async fn send(&mut self, v: Value) {
        let msg = if self.s.script.text_frames {
            Message::Text(v.to_string().into())
        } else {
            Message::Binary(serde_json::to_vec_pretty(&v).unwrap().into())
        };
        let _ = self.ws.send(msg).await;
    }

    fn publish(&self) {
        self.s.log.lock().unwrap().latest = self.convo.clone();
    }

    /// A turn boundary: what a handle holds from now on.
    fn commit(&mut self) {
        self.committed = self.convo.clone();
    }

    fn generating(&self) -> bool {
        self.turn_complete_pending
    }

    async fn resumption_update(&mut self) {
        self.chunks_since_update = 0;
        if self.s.script.transparent {
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
        } else if self.generating() {
            // Not resumable while the model generates: no handle.
            self.send(json!({"sessionResumptionUpdate": {}})).await;
        } else {
            self.handle_seq += 1;
            let h = format!("Cg{}x{}", self.committed.turn, self.handle_seq);
            self.s
                .snapshots
                .lock()
                .unwrap()
                .insert(h.clone(), self.committed.clone());
            self.send(json!({"sessionResumptionUpdate": {"newHandle": h, "resumable": true}}))
                .await;
        }
    }

    async fn loop_(&mut self) {
        loop {
            let wait = match self.closes_at {
                Some(at) => at.saturating_duration_since(Instant::now()),
                None => Duration::from_secs(30),
            };
            let msg = match tokio::time::timeout(wait, self.ws.recv()).await {
                Ok(Some(Ok(m))) => m,
                // goAway's time is up (or the client is gone): drop.
                _ => return,
            };
            let text = match msg {
                Message::Text(t) => t.to_string(),
                Message::Binary(b) => String::from_utf8(b.to_vec()).unwrap(),
                Message::Close(_) => return,
                _ => continue,
            };
            self.index += 1;
            let v: Value = serde_json::from_str(&text).unwrap();
            if v.get("clientContent").is_some() {
                self.s.log.lock().unwrap().client_content.push(v.clone());
                if self.convo.turn == 0 && self.speak().await {
                    return;
                }
            } else if let Some(t) = v["realtimeInput"]["text"].as_str() {
                self.s.log.lock().unwrap().realtime_text.push(t.to_owned());
                if self.convo.turn == 0 && self.speak().await {
                    return;
                }
            } else if v["realtimeInput"]["audioStreamEnd"] == json!(true) {
                self.s.log.lock().unwrap().audio_stream_ends += 1;
                // The stream stopped: an answer in progress is over.
                if self.convo.answer_loud >= 10 && !self.generating() && self.end_of_answer().await
                {
                    return;
                }
            } else if let Some(a) = v.get("realtimeInput") {
                assert_eq!(a["audio"]["mimeType"], "audio/pcm;rate=16000");
                let pcm = base64::engine::general_purpose::STANDARD
                    .decode(a["audio"]["data"].as_str().unwrap())
                    .unwrap();
                if self.on_audio(&pcm).await {
                    return;
                }
                self.chunks_since_update += 1;
                if self.s.script.transparent || self.chunks_since_update >= 10 {
                    self.resumption_update().await;
                }
            } else if let Some(t) = v.get("toolResponse") {
                self.s.log.lock().unwrap().tool_responses.push(t.clone());
            }
            self.publish();
        }
    }

    fn speaking(&self) -> bool {
        self.speaking_until.is_some_and(|u| Instant::now() < u)
    }

    async fn complete_turn(&mut self) {
        self.turn_complete_pending = false;
        self.send(json!({"serverContent": {"turnComplete": true}}))
            .await;
        if let Some(late) = self.late_output.take() {
            self.send(json!({"serverContent": {"outputTranscription": {"text": late}}}))
                .await;
        }
        if !self.s.script.transparent {
            self.resumption_update().await;
        }
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
            self.complete_turn().await;
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
                    self.late_output = None;
                    self.s.log.lock().unwrap().interrupts_sent += 1;
                    self.send(json!({"serverContent": {"interrupted": true}}))
                        .await;
                    self.send(json!({"serverContent": {"turnComplete": true}}))
                        .await;
                    // The barge-in opens the candidate's turn.
                    self.commit();
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
                && self.s.first("goAway")
            {
                let secs = self.s.script.go_away_secs.unwrap_or(20);
                self.closes_at = Some(Instant::now() + Duration::from_secs(u64::from(secs)));
                self.send(json!({"goAway": {"timeLeft": format!("{secs}s")}}))
                    .await;
            }
            if first_answer
                && Some(self.convo.answer_loud) == self.s.script.drop_at_loud
                && self.s.first("drop")
            {
                if self.s.script.transparent {
                    self.resumption_update().await;
                }
                self.publish();
                // Drop without a close frame, as a network failure would.
                return true;
            }
        } else {
            self.convo.loud_run = 0;
            self.convo.quiet_run += 1;
            if self.convo.answer_loud >= 10 && self.convo.quiet_run >= 10 && !self.speaking() {
                return self.end_of_answer().await;
            }
        }
        false
    }

    /// End of the candidate's turn: its words (the last one late), then the
    /// model's answer. True when the connection was dropped on purpose.
    async fn end_of_answer(&mut self) -> bool {
        let words = self.words_left();
        for _ in 1..words {
            self.send_word().await;
        }
        let last_word = if words > 0 { self.next_word() } else { None };
        let n = self.convo.answer_loud;
        self.convo.answers_loud.push(n);
        self.convo.answer_loud = 0;
        self.convo.words_sent = 0;
        self.speak_then(last_word).await
    }

    fn words_left(&self) -> usize {
        let idx = self.convo.answers_loud.len();
        self.s.script.answers.get(idx).map_or(0, |a| {
            a.split(' ').count().saturating_sub(self.convo.words_sent)
        })
    }

    fn next_word(&mut self) -> Option<String> {
        let idx = self.convo.answers_loud.len();
        let answer = self.s.script.answers.get(idx)?;
        let w = answer.split(' ').nth(self.convo.words_sent)?;
        self.convo.words_sent += 1;
        Some(format!(" {w}"))
    }

    /// Sends the next word of the current answer; false when none is left.
    async fn send_word(&mut self) -> bool {
        match self.next_word() {
            Some(w) => {
                self.send(json!({"serverContent": {"inputTranscription": {"text": w}}}))
                    .await;
                true
            }
            None => false,
        }
    }

    /// True when the connection was dropped on purpose.
    async fn speak(&mut self) -> bool {
        self.speak_then(None).await
    }

    /// The model's next turn; `late_input` (the answer's last word) arrives
    /// after its first audio. True when the connection was dropped on
    /// purpose (`drop_in_turn`).
    async fn speak_then(&mut self, mut late_input: Option<String>) -> bool {
        let Some(text) = self.s.script.turns.get(self.convo.turn).copied() else {
            return false;
        };
        self.convo.turn += 1;
        // The answer and this turn are the conversation from now on.
        self.commit();
        self.turn_complete_pending = true;
        let last = self.convo.turn == self.s.script.turns.len();
        if !self.s.script.transparent {
            self.resumption_update().await;
        }
        if self.s.script.reply_delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(self.s.script.reply_delay_ms)).await;
        }
        let words: Vec<&str> = text.split(' ').collect();
        let chunk_ms = 100;
        let chunks = (self.s.script.turn_ms / chunk_ms).max(1) as usize;
        // The last piece of the turn's transcription comes after turnComplete.
        let spoken_words = words.len().saturating_sub(1).max(1).min(words.len());
        for i in 0..chunks {
            if i == 0 {
                self.s
                    .log
                    .lock()
                    .unwrap()
                    .turn_audio_sent
                    .push((Instant::now(), self.s.script.reply_delay_ms));
            }
            self.send(json!({"serverContent": {"modelTurn": {"parts": [
                {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": pcm_b64(chunk_ms, 220.0)}}
            ]}}}))
            .await;
            if i == 0
                && self.s.script.drop_in_turn == Some(self.convo.turn)
                && self.s.first("drop in turn")
            {
                self.publish();
                return true;
            }
            if let Some(w) = late_input.take() {
                self.send(json!({"serverContent": {"inputTranscription": {"text": w}}}))
                    .await;
            }
            // Words spread over the chunks.
            let from = i * spoken_words / chunks;
            let to = (i + 1) * spoken_words / chunks;
            if to > from {
                let piece = words[from..to].join(" ");
                self.send(json!({"serverContent": {"outputTranscription": {"text": format!(" {piece}")}}}))
                    .await;
            }
        }
        self.late_output =
            (spoken_words < words.len()).then(|| format!(" {}", words[spoken_words..].join(" ")));
        if last {
            self.convo.ended = true;
            self.send(json!({"toolCall": {"functionCalls": [{"id": "call-1", "name": "end_interview", "args": {}}]}}))
                .await;
        }
        self.send(json!({"serverContent": {"generationComplete": true}}))
            .await;
        self.speaking_until = Some(Instant::now() + Duration::from_millis(self.s.script.turn_ms));
        if self.s.script.malformed_after_first_turn && self.s.first("malformed") {
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
            self.complete_turn().await;
        }
        false
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
