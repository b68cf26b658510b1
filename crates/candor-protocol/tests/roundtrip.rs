//! Every message survives encode → decode unchanged, through the codec.

use candor_protocol::codec::Codec;
use candor_protocol::*;

fn client_messages() -> Vec<ClientToServerMessage> {
    vec![
        StartRequest {
            auth_token: "tok-123".into(),
            interview_id: "iv-1".into(),
            audio_config: Some(AudioConfig::opus_16k_mono()),
            resume: Some(ResumeRequest {
                session_id: "s-9".into(),
                last_server_seq: 41,
                captured_seq: 977,
            }),
            client_info: "candor-desktop/0.1.0 linux".into(),
            accepted_codecs: vec![AudioCodec::Opus as i32, AudioCodec::Pcm16 as i32],
        }
        .into(),
        AudioChunk {
            seq: 7,
            data: vec![0xfc, 0xff, 0xfe].into(),
            timestamp_us: 140_000,
            voice_activity: true,
            muted: false,
        }
        .into(),
        AudioChunk {
            seq: 8,
            data: vec![0xf8, 0xff, 0xfe].into(),
            timestamp_us: 160_000,
            voice_activity: false,
            muted: true,
        }
        .into(),
        EndRequest {}.into(),
        AudioAck { seq: 99 }.into(),
    ]
}

fn server_messages() -> Vec<ServerToClientMessage> {
    vec![
        StartResponse {
            session_id: "s-9".into(),
            audio_config: Some(AudioConfig::pcm16_mono(24_000)),
            resumed: true,
            last_client_seq: 12,
            limits: Some(ServerLimits {
                max_frame_bytes: 65_536,
                idle_timeout_ms: 10_000,
                resume_grace_ms: 60_000,
                max_session_ms: 3_600_000,
                start_deadline_ms: 5_000,
            }),
            planned_questions: 5,
            engine: "practice".into(),
        }
        .into(),
        AudioChunk {
            seq: 1,
            data: vec![1, 2, 3, 4].into(),
            timestamp_us: 0,
            voice_activity: false,
            muted: false,
        }
        .into(),
        PartialTranscript {
            speaker: Speaker::Interviewer as i32,
            segment_id: 3,
            text: "Tell me about a time you disagreed".into(),
            is_final: false,
            start_ms: 1200,
        }
        .into(),
        SessionEnded {
            reason: EndReason::UserInitiated as i32,
            message: "Thanks!".into(),
            results_pending: true,
            last_client_seq: 1500,
        }
        .into(),
        Error::new(ErrorCode::Unauthenticated, "token expired").into(),
        Interrupted { last_seq: 88 }.into(),
        InterviewerState {
            activity: InterviewerActivity::Speaking as i32,
            question_index: 2,
            question_count: 5,
        }
        .into(),
        AudioAck { seq: 1500 }.into(),
        GoAway {
            deadline_ms: 30_000,
            reason: "server draining".into(),
        }
        .into(),
    ]
}

#[test]
fn every_client_message_round_trips() {
    let codec = Codec::default();
    let messages = client_messages();
    let kinds: Vec<&str> = messages.iter().map(|m| m.kind()).collect();
    assert_eq!(
        kinds,
        [
            "StartRequest",
            "AudioChunk",
            "AudioChunk",
            "EndRequest",
            "AudioAck"
        ]
    );
    for msg in messages {
        let frame = codec.encode(&msg).unwrap();
        assert_eq!(codec.decode_client(&frame).unwrap(), msg);
    }
}

#[test]
fn every_server_message_round_trips() {
    let codec = Codec::default();
    let messages = server_messages();
    assert_eq!(messages.len(), 9, "one per payload variant");
    for msg in messages {
        let frame = codec.encode(&msg).unwrap();
        assert_eq!(codec.decode_server(&frame).unwrap(), msg, "{}", msg.kind());
    }
}

#[test]
fn an_empty_envelope_decodes_as_an_error_even_with_no_payload() {
    // An empty EndRequest is still a payload (the oneof tag is on the wire).
    let frame = Codec::default()
        .encode(&ClientToServerMessage::from(EndRequest {}))
        .unwrap();
    assert!(!frame.is_empty());
    assert!(matches!(
        Codec::default().decode_client(&[]),
        Err(CodecError::Empty)
    ));
}

#[test]
fn the_token_never_appears_in_debug_output() {
    let msg = &client_messages()[0];
    let debug = format!("{msg:?}");
    assert!(!debug.contains("tok-123"), "{debug}");
    assert!(debug.contains("<redacted>"));
}

#[test]
fn error_codes_default_retryable_as_documented() {
    assert!(!Error::new(ErrorCode::Unauthenticated, "").retryable);
    assert!(!Error::new(ErrorCode::NotFound, "").retryable);
    assert!(Error::new(ErrorCode::ResourceExhausted, "").retryable);
    assert!(Error::new(ErrorCode::EngineUnavailable, "").retryable);
    assert_eq!(
        Error::new(ErrorCode::StartTimeout, "no start").to_string(),
        "CODE_START_TIMEOUT: no start"
    );
}

#[test]
fn audio_config_frame_sizes() {
    assert_eq!(AudioConfig::opus_16k_mono().samples_per_frame(), 320);
    assert_eq!(AudioConfig::pcm16_mono(24_000).samples_per_frame(), 480);
}
