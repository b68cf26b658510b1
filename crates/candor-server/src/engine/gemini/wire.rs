//! The Gemini Live API's wire format (`BidiGenerateContent` over WebSocket):
//! serde types for the JSON messages, camelCase as the API spells them.
//!
//! Only the parts Candor uses are modelled; unknown fields are ignored, so a
//! newer API adding fields does not break the bridge. The types derive both
//! directions so the test suite's fake Live server speaks the same format.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Path of the Live WebSocket under the API origin.
pub const LIVE_PATH: &str =
    "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent";

/// MIME type of the candidate audio sent upstream.
pub const INPUT_MIME: &str = "audio/pcm;rate=16000";

/// The `realtimeInput` message carrying one chunk of candidate audio
/// (16 kHz PCM16 little-endian).
pub fn audio_input(pcm: &[u8]) -> ClientMessage {
    use base64::Engine as _;
    ClientMessage::RealtimeInput(RealtimeInput::audio(Blob {
        mime_type: INPUT_MIME.into(),
        data: base64::engine::general_purpose::STANDARD.encode(pcm),
    }))
}

/// Client → server: exactly one of the fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ClientMessage {
    Setup(Setup),
    ClientContent(ClientContent),
    RealtimeInput(RealtimeInput),
    ToolResponse(ToolResponse),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Setup {
    /// `models/<name>`.
    pub model: String,
    pub generation_config: GenerationConfig,
    pub system_instruction: Content,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Tool>,
    pub realtime_input_config: RealtimeInputConfig,
    pub session_resumption: SessionResumptionConfig,
    pub context_window_compression: ContextWindowCompression,
    pub input_audio_transcription: Empty,
    pub output_audio_transcription: Empty,
}

/// `{}`: a feature switched on with its defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerationConfig {
    pub response_modalities: Vec<String>,
    pub speech_config: SpeechConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpeechConfig {
    pub voice_config: VoiceConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VoiceConfig {
    pub prebuilt_voice_config: PrebuiltVoiceConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrebuiltVoiceConfig {
    pub voice_name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Content {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default)]
    pub parts: Vec<Part>,
}

impl Content {
    pub fn text(role: Option<&str>, text: impl Into<String>) -> Self {
        Self {
            role: role.map(str::to_owned),
            parts: vec![Part {
                text: Some(text.into()),
                inline_data: None,
            }],
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Part {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline_data: Option<Blob>,
}

/// Base64 data with its MIME type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Blob {
    pub mime_type: String,
    pub data: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tool {
    pub function_declarations: Vec<FunctionDeclaration>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionDeclaration {
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RealtimeInputConfig {
    pub automatic_activity_detection: AutomaticActivityDetection,
    /// `START_OF_ACTIVITY_INTERRUPTS`: the candidate can barge in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_handling: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AutomaticActivityDetection {
    pub disabled: bool,
    /// Silence that ends the candidate's turn. Interview answers have
    /// thinking pauses, so it is longer than the API's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub silence_duration_ms: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_padding_ms: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionResumptionConfig {
    /// The handle of the session to resume; absent for a new session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextWindowCompression {
    pub sliding_window: SlidingWindow,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger_tokens: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlidingWindow {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_tokens: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientContent {
    pub turns: Vec<Content>,
    pub turn_complete: bool,
}

/// Realtime input: exactly one of the fields per message.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RealtimeInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<Blob>,
    /// Text as realtime input: the form of a text turn every Live model
    /// accepts (the kick-off uses it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The candidate's audio stopped (socket detached): the service flushes
    /// its voice-activity state; the next audio message reopens the stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_stream_end: Option<bool>,
}

impl RealtimeInput {
    pub fn audio(blob: Blob) -> Self {
        Self {
            audio: Some(blob),
            ..Self::default()
        }
    }

    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: Some(text.into()),
            ..Self::default()
        }
    }

    pub fn audio_stream_end() -> Self {
        Self {
            audio_stream_end: Some(true),
            ..Self::default()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolResponse {
    pub function_responses: Vec<FunctionResponse>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    pub response: Value,
}

/// Server → client. The API sets one of the fields (plus, at times,
/// `usageMetadata`); all are optional here so an unknown kind parses as
/// "nothing we use".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerMessage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup_complete: Option<Empty>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_content: Option<ServerContent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call: Option<ToolCall>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_cancellation: Option<ToolCallCancellation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub go_away: Option<GoAway>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_resumption_update: Option<SessionResumptionUpdate>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerContent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_turn: Option<Content>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub turn_complete: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub generation_complete: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub interrupted: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_transcription: Option<Transcription>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_transcription: Option<Transcription>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transcription {
    #[serde(default)]
    pub text: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolCall {
    #[serde(default)]
    pub function_calls: Vec<FunctionCall>,
}

/// Tool calls the model withdrew (the candidate interrupted the turn that
/// made them): they must not take effect.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolCallCancellation {
    #[serde(default)]
    pub ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionCall {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GoAway {
    /// Protobuf JSON duration, e.g. `"50s"` or `"1.5s"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_left: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionResumptionUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_handle: Option<String>,
    #[serde(default)]
    pub resumable: bool,
    /// Index (0-based, counting every client message on the connection,
    /// `setup` included) of the last client message the handle's state
    /// includes. Sent only in Vertex AI's "transparent" resumption mode, which
    /// the Gemini Developer API does not offer; without it the link knows
    /// only that a handle received after a model turn includes the
    /// candidate's audio up to that turn (see `link`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "opt_u64_string"
    )]
    pub last_consumed_client_message_index: Option<u64>,
}

/// Protobuf JSON writes 64-bit integers as strings; accept both.
mod opt_u64_string {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(n) => s.serialize_str(&n.to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum N {
            S(String),
            U(u64),
        }
        match Option::<N>::deserialize(d)? {
            None => Ok(None),
            Some(N::U(n)) => Ok(Some(n)),
            Some(N::S(s)) => s.parse().map(Some).map_err(serde::de::Error::custom),
        }
    }
}

/// Parses a protobuf JSON duration (`"50s"`, `"0.5s"`) into milliseconds.
pub fn duration_ms(s: &str) -> Option<u64> {
    let secs: f64 = s.strip_suffix('s')?.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| (secs * 1000.0).round() as u64)
}

/// `audio/pcm;rate=24000` → 24000 (None if not PCM; the API's default 24 kHz
/// when the rate is not stated).
pub fn pcm_rate(mime: &str) -> Option<u32> {
    let mut parts = mime.split(';').map(str::trim);
    if !parts.next()?.eq_ignore_ascii_case("audio/pcm") {
        return None;
    }
    for p in parts {
        if let Some(r) = p.strip_prefix("rate=") {
            return r.parse().ok().filter(|r| *r > 0);
        }
    }
    Some(24_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_messages_are_tagged_camel_case() {
        let m = ClientMessage::RealtimeInput(RealtimeInput::audio(Blob {
            mime_type: INPUT_MIME.into(),
            data: "AAA=".into(),
        }));
        assert_eq!(
            serde_json::to_value(&m).unwrap(),
            serde_json::json!({"realtimeInput": {"audio": {"mimeType": "audio/pcm;rate=16000", "data": "AAA="}}})
        );
    }

    #[test]
    fn server_messages_parse_with_unknown_fields() {
        let m: ServerMessage = serde_json::from_str(
            r#"{"serverContent":{"modelTurn":{"parts":[{"inlineData":{"mimeType":"audio/pcm;rate=24000","data":"AAA="}}]},
                "outputTranscription":{"text":"Hel"},"somethingNew":1},"usageMetadata":{"totalTokenCount":5}}"#,
        )
        .unwrap();
        let c = m.server_content.unwrap();
        assert_eq!(c.output_transcription.unwrap().text, "Hel");
        assert!(!c.turn_complete);
        let u: ServerMessage = serde_json::from_str(
            r#"{"sessionResumptionUpdate":{"newHandle":"h1","resumable":true,"lastConsumedClientMessageIndex":"12"}}"#,
        )
        .unwrap();
        let u = u.session_resumption_update.unwrap();
        assert_eq!(u.last_consumed_client_message_index, Some(12));
        assert!(
            serde_json::from_str::<ServerMessage>(r#"{"serverContent":{"turnComplete":"yes"}}"#)
                .is_err()
        );
    }

    #[test]
    fn durations_and_rates() {
        assert_eq!(duration_ms("50s"), Some(50_000));
        assert_eq!(duration_ms("0.25s"), Some(250));
        assert_eq!(duration_ms("-1s"), None);
        assert_eq!(duration_ms("5"), None);
        assert_eq!(pcm_rate("audio/pcm;rate=24000"), Some(24_000));
        assert_eq!(pcm_rate("audio/pcm"), Some(24_000));
        assert_eq!(pcm_rate("audio/wav"), None);
    }
}
