//! Conformance with real Live API traffic: the sessions Google's JS SDK
//! recorded against the Gemini Developer API (`fixtures/gemini-live-recordings`,
//! Apache-2.0, see the README there).
//!
//! - Every server message in them parses into the bridge's wire types
//!   (unknown fields such as `executableCode` or `usageMetadata` are ignored,
//!   not fatal), and the service's framing holds: `setupComplete` (`{}`)
//!   first, JSON pretty-printed.
//! - The messages the bridge sends for the same steps (setup, text input,
//!   audio input, tool response) have the recorded shape: the same field
//!   names, nesting and JSON types.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use candor_api::{InterviewStatus, Role, Seniority};
use candor_audio::Codec;
use candor_server::GeminiConfig;
use candor_server::engine::gemini::wire::{self, ClientMessage, ServerMessage};
use candor_server::engine::gemini::{Bridge, kickoff, setup_message};
use candor_server::store::InterviewRecord;
use serde_json::Value;

/// One recorded message.
#[derive(Debug)]
struct Entry {
    from_client: bool,
    /// The size the recorder noted (bytes of the frame).
    size: usize,
    text: String,
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gemini-live-recordings")
}

/// `>N {json}` (client) and `<N {json…}` (server, spanning lines until
/// the next entry).
fn parse_log(text: &str) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    for line in text.lines() {
        let head = line.chars().next();
        if let Some(dir @ ('>' | '<')) = head {
            let rest = &line[1..];
            let (size, body) = rest.split_once(' ').unwrap_or((rest, ""));
            out.push(Entry {
                from_client: dir == '>',
                size: size.parse().expect("a size after the direction"),
                text: body.to_owned(),
            });
        } else if let Some(last) = out.last_mut() {
            last.text.push('\n');
            last.text.push_str(line);
        }
    }
    out
}

fn recordings() -> Vec<(String, Vec<Entry>)> {
    let mut out: Vec<(String, Vec<Entry>)> = std::fs::read_dir(dir())
        .expect("the recordings are in the repository")
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".websocket.log"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, parse_log(&std::fs::read_to_string(&p).unwrap()))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(out.len(), 10, "all ten recordings");
    out
}

/// Every key path with its JSON type; array elements share `[]`. The
/// contents of free-form objects (`response`, `args`, `parameters`) are
/// not part of the shape.
fn shape(v: &Value) -> BTreeMap<String, &'static str> {
    fn walk(v: &Value, path: String, out: &mut BTreeMap<String, &'static str>) {
        let kind = match v {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        out.insert(path.clone(), kind);
        let free = ["response", "args", "parameters"]
            .iter()
            .any(|f| path.ends_with(&format!(".{f}")));
        match v {
            Value::Object(m) if !free => {
                for (k, x) in m {
                    walk(x, format!("{path}.{k}"), out);
                }
            }
            Value::Array(a) => {
                for x in a {
                    walk(x, format!("{path}[]"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = BTreeMap::new();
    walk(v, String::new(), &mut out);
    out
}

#[test]
fn every_recorded_server_message_parses_into_the_wire_types() {
    let mut parsed = 0;
    for (name, entries) in recordings() {
        let server: Vec<&Entry> = entries.iter().filter(|e| !e.from_client).collect();
        if name.contains("invalid_input") {
            // The service closed this one right after setupComplete.
            assert_eq!(server.len(), 1, "{name}");
        }
        let first: ServerMessage = serde_json::from_str(&server[0].text).unwrap();
        assert!(
            first.setup_complete.is_some(),
            "{name}: setupComplete comes first"
        );
        assert_eq!(server[0].text, "{\n  \"setupComplete\": {}\n}\n", "{name}");
        for e in server {
            assert!(
                e.text.contains("\n  "),
                "{name}: pretty-printed JSON: {}",
                e.text
            );
            assert!(e.size > 0, "{name}");
            let m: ServerMessage = serde_json::from_str(&e.text)
                .unwrap_or_else(|err| panic!("{name}: {err}: {}", e.text));
            // Whatever the bridge knows of a message is kept; the rest
            // (usageMetadata, executableCode, …) is ignored.
            let v: Value = serde_json::from_str(&e.text).unwrap();
            let known = [
                "setupComplete",
                "serverContent",
                "toolCall",
                "toolCallCancellation",
                "goAway",
                "sessionResumptionUpdate",
            ];
            for k in v.as_object().unwrap().keys() {
                if known.contains(&k.as_str()) {
                    let back = serde_json::to_value(&m).unwrap();
                    assert!(back.get(k).is_some(), "{name}: {k} lost in parsing");
                }
            }
            parsed += 1;
        }
    }
    assert!(parsed >= 20, "only {parsed} server messages");
}

#[test]
fn recorded_content_reaches_the_bridge() {
    let all = recordings();
    let find = |n: &str| &all.iter().find(|(name, _)| name.contains(n)).unwrap().1;
    let server = |n: &str| -> Vec<ServerMessage> {
        find(n)
            .iter()
            .filter(|e| !e.from_client)
            .map(|e| serde_json::from_str(&e.text).unwrap())
            .collect()
    };
    // Output transcription arrives in its own serverContent messages.
    let words: String = server("transcription_enabled")
        .iter()
        .filter_map(|m| m.server_content.as_ref()?.output_transcription.as_ref())
        .map(|t| t.text.as_str())
        .collect();
    assert!(
        words.starts_with("We could talk about anything you like."),
        "{words}"
    );
    // generationComplete and turnComplete as flags.
    let text = server("send_text_in_async_session");
    assert!(text.iter().any(|m| {
        m.server_content
            .as_ref()
            .is_some_and(|c| c.generation_complete)
    }));
    // Text parts of a model turn.
    let said: String = server("realtime_text_input")
        .iter()
        .filter_map(|m| m.server_content.as_ref()?.model_turn.as_ref())
        .flat_map(|t| t.parts.iter().filter_map(|p| p.text.clone()))
        .collect();
    assert_eq!(said, "Yes, I'm here! How can I help you today?");
    // A tool call with its id and arguments.
    let call = server("should_send_tool_response.")
        .into_iter()
        .find_map(|m| m.tool_call)
        .expect("a toolCall");
    assert_eq!(call.function_calls[0].name, "get_current_weather");
    assert_eq!(
        call.function_calls[0].id.as_deref(),
        Some("function-call-5831923424298605773")
    );
    assert_eq!(
        call.function_calls[0].args.as_ref().unwrap()["location"],
        "Redmond, WA"
    );
}

fn interview() -> InterviewRecord {
    InterviewRecord {
        id: "i".into(),
        user_id: "u".into(),
        role: Role::Behavioural,
        seniority: Seniority::Mid,
        job_description: None,
        cv_text: None,
        question_count: 2,
        status: InterviewStatus::Created,
        created_at_ms: 0,
        updated_at_ms: 0,
        retry_of: None,
    }
}

/// The recorded client message of each kind (`setup`, `realtimeInput.text`, …).
fn recorded_client(kind: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for (_, entries) in recordings() {
        for e in entries.iter().filter(|e| e.from_client) {
            let v: Value = serde_json::from_str(&e.text).unwrap();
            let matches = match kind {
                "text" => v["realtimeInput"]["text"].is_string(),
                "audio" => v["realtimeInput"]["audio"].is_object(),
                k => v.get(k).is_some(),
            };
            if matches {
                out.push(v);
            }
        }
    }
    assert!(!out.is_empty(), "a recorded {kind} message");
    out
}

fn json(m: &ClientMessage) -> Value {
    serde_json::to_value(m).unwrap()
}

#[test]
fn the_bridge_sends_what_the_recorded_client_sent() {
    // Text input (the kick-off) and audio input: exactly the recorded shape.
    let ours = json(&ClientMessage::RealtimeInput(kickoff()));
    for rec in recorded_client("text") {
        assert_eq!(shape(&ours), shape(&rec), "{ours} vs {rec}");
    }
    let ours = json(&wire::audio_input(&[0, 0, 1, 0]));
    for rec in recorded_client("audio") {
        assert_eq!(shape(&ours), shape(&rec), "{ours} vs {rec}");
        assert_eq!(
            ours["realtimeInput"]["audio"]["mimeType"],
            rec["realtimeInput"]["audio"]["mimeType"]
        );
    }

    // The tool response to the recorded tool call, as the bridge makes it.
    let call: ServerMessage = recordings()
        .iter()
        .flat_map(|(_, es)| es.iter())
        .filter(|e| !e.from_client)
        .map(|e| serde_json::from_str::<ServerMessage>(&e.text).unwrap())
        .find(|m| m.tool_call.is_some())
        .unwrap();
    let mut bridge = Bridge::new(Codec::Pcm16, 24_000, 2).unwrap();
    bridge.on_message(call, 0);
    let out = bridge.take_outbox();
    assert_eq!(out.len(), 1, "every call is answered");
    let ours = json(&out[0]);
    assert_eq!(
        ours["toolResponse"]["functionResponses"][0]["id"],
        "function-call-5831923424298605773"
    );
    for rec in recorded_client("toolResponse") {
        assert_eq!(shape(&ours), shape(&rec), "{ours} vs {rec}");
    }

    // Setup: every field the recordings set that Candor sets too has the
    // same place and type, and the model is named `models/…`.
    let ours = json(&ClientMessage::Setup(setup_message(
        &GeminiConfig::default(),
        &interview(),
    )));
    let ours_shape = shape(&ours);
    let mut shared = 0;
    for rec in recorded_client("setup") {
        for (path, kind) in shape(&rec) {
            if let Some(k) = ours_shape.get(&path) {
                assert_eq!(*k, kind, "setup{path}");
                shared += 1;
            }
        }
        assert!(
            rec["setup"]["model"]
                .as_str()
                .unwrap()
                .starts_with("models/")
        );
    }
    assert!(
        ours["setup"]["model"]
            .as_str()
            .unwrap()
            .starts_with("models/")
    );
    assert!(shared > 10, "the setups share their fields ({shared})");
    for path in [
        ".setup.generationConfig.responseModalities[]",
        ".setup.realtimeInputConfig.automaticActivityDetection.disabled",
        ".setup.outputAudioTranscription",
        ".setup.tools[].functionDeclarations[].name",
    ] {
        assert!(ours_shape.contains_key(path), "Candor's setup has {path}");
    }
}
