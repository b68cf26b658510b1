//! The codec's limits and the order checkers, plus decoding of arbitrary and
//! mutated bytes (a property-based fuzz that runs in the normal test suite).

use candor_protocol::codec::Codec;
use candor_protocol::*;
use proptest::prelude::*;

fn chunk(seq: u64) -> AudioChunk {
    AudioChunk {
        seq,
        data: vec![0u8; 40].into(),
        timestamp_us: seq * 20_000,
        voice_activity: false,
        muted: false,
    }
}

fn start() -> ClientToServerMessage {
    StartRequest {
        auth_token: "t".into(),
        interview_id: "i".into(),
        audio_config: Some(AudioConfig::opus_16k_mono()),
        ..Default::default()
    }
    .into()
}

#[test]
fn oversized_frames_are_refused_before_parsing() {
    let codec = Codec::new(64);
    let big = ClientToServerMessage::from(AudioChunk {
        data: vec![0u8; 100].into(),
        ..chunk(1)
    });
    let err = codec.encode(&big).unwrap_err();
    assert!(matches!(err, CodecError::TooLarge { limit: 64, .. }));
    assert_eq!(err.code(), ErrorCode::FrameTooLarge);
    let frame = Codec::default().encode(&big).unwrap();
    assert!(matches!(
        codec.decode_client(&frame),
        Err(CodecError::TooLarge { size, limit: 64 }) if size == frame.len()
    ));
}

#[test]
fn garbage_is_malformed() {
    let err = Codec::default()
        .decode_client(&[0xff, 0xff, 0xff, 0xff])
        .unwrap_err();
    assert!(matches!(err, CodecError::Malformed(_)));
    assert_eq!(err.code(), ErrorCode::Malformed);
}

#[test]
fn client_order_requires_start_first_and_only_once() {
    let mut order = ClientOrder::new();
    assert_eq!(
        order.check(&chunk(1).into()),
        Err(OrderError::StartRequired { got: "AudioChunk" })
    );
    assert_eq!(order.check(&start()), Ok(Verdict::Accept));
    assert_eq!(
        order.check(&start()),
        Err(OrderError::DuplicateStart {
            got: "StartRequest"
        })
    );
}

#[test]
fn client_order_accepts_in_order_drops_duplicates_refuses_gaps() {
    let mut order = ClientOrder::new();
    order.check(&start()).unwrap();
    assert_eq!(order.check(&chunk(1).into()), Ok(Verdict::Accept));
    assert_eq!(order.check(&chunk(2).into()), Ok(Verdict::Accept));
    assert_eq!(order.check(&chunk(2).into()), Ok(Verdict::Duplicate));
    assert_eq!(order.check(&chunk(1).into()), Ok(Verdict::Duplicate));
    assert_eq!(
        order.check(&chunk(4).into()),
        Err(OrderError::SeqGap {
            expected: 3,
            got: 4
        })
    );
    assert_eq!(order.check(&chunk(0).into()), Err(OrderError::ZeroSeq));
    assert_eq!(order.last_audio_seq(), 2);
    assert_eq!(order.check(&EndRequest {}.into()), Ok(Verdict::Accept));
    assert_eq!(
        order.check(&chunk(3).into()),
        Err(OrderError::AfterEnd { got: "AudioChunk" })
    );
    assert_eq!(
        order.check(&AudioAck { seq: 5 }.into()),
        Ok(Verdict::Accept)
    );
}

#[test]
fn a_resumed_connection_continues_after_what_the_server_holds() {
    let mut order = ClientOrder::new();
    order.check(&start()).unwrap();
    order.resume_after(40);
    assert_eq!(order.check(&chunk(39).into()), Ok(Verdict::Duplicate));
    assert_eq!(order.check(&chunk(41).into()), Ok(Verdict::Accept));
}

#[test]
fn server_order_requires_start_response_or_error_first() {
    let mut order = ServerOrder::new(0);
    let transcript: ServerToClientMessage = PartialTranscript::default().into();
    assert_eq!(
        order.check(&transcript),
        Err(OrderError::StartResponseRequired {
            got: "PartialTranscript"
        })
    );
    assert_eq!(
        order.check(&StartResponse::default().into()),
        Ok(Verdict::Accept)
    );
    assert_eq!(order.check(&transcript), Ok(Verdict::Accept));
    assert_eq!(order.check(&chunk(1).into()), Ok(Verdict::Accept));
    assert_eq!(
        order.check(&SessionEnded::default().into()),
        Ok(Verdict::Accept)
    );
    assert_eq!(
        order.check(&chunk(2).into()),
        Err(OrderError::AfterEnd { got: "AudioChunk" })
    );

    let mut refused = ServerOrder::new(0);
    let error: ServerToClientMessage = Error::new(ErrorCode::NotFound, "gone").into();
    assert_eq!(refused.check(&error), Ok(Verdict::Accept));
    assert!(refused.check(&transcript).is_err());

    // A resume of a session that ended meanwhile: `SessionEnded` alone.
    let mut too_late = ServerOrder::new(7);
    assert_eq!(
        too_late.check(&SessionEnded::default().into()),
        Ok(Verdict::Accept)
    );
    assert_eq!(
        too_late.check(&chunk(8).into()),
        Err(OrderError::AfterEnd { got: "AudioChunk" })
    );
}

#[test]
fn server_order_after_resume_drops_replayed_audio() {
    let mut order = ServerOrder::new(10);
    order.check(&StartResponse::default().into()).unwrap();
    assert_eq!(order.check(&chunk(9).into()), Ok(Verdict::Duplicate));
    assert_eq!(order.check(&chunk(11).into()), Ok(Verdict::Accept));
    assert_eq!(order.last_audio_seq(), 11);
}

fn valid_frames() -> Vec<Vec<u8>> {
    let codec = Codec::default();
    let mut frames = vec![codec.encode(&start()).unwrap()];
    frames.push(
        codec
            .encode(&ClientToServerMessage::from(chunk(3)))
            .unwrap(),
    );
    frames.push(
        codec
            .encode(&ServerToClientMessage::from(PartialTranscript {
                speaker: 1,
                segment_id: 2,
                text: "Hello there".into(),
                is_final: true,
                start_ms: 5,
            }))
            .unwrap(),
    );
    frames
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4096, .. ProptestConfig::default() })]

    /// Arbitrary bytes never panic the decoder, whatever the limit.
    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512), limit in 0usize..1024) {
        let codec = Codec::new(limit);
        let client = codec.decode_client(&bytes);
        let server = codec.decode_server(&bytes);
        if bytes.len() > limit {
            prop_assert!(matches!(client, Err(CodecError::TooLarge { .. })), "over-limit frames must be refused");
            prop_assert!(matches!(server, Err(CodecError::TooLarge { .. })), "over-limit frames must be refused");
        }
        // Whatever decodes, the order checkers must also digest without panicking.
        if let Ok(msg) = client {
            let _ = ClientOrder::new().check(&msg);
            let mut order = ClientOrder::new();
            let _ = order.check(&start());
            let _ = order.check(&msg);
        }
        if let Ok(msg) = server {
            let _ = ServerOrder::new(0).check(&msg);
        }
    }

    /// Valid frames with a few bytes flipped, truncated or extended: the
    /// inputs most likely to reach deep parser paths.
    #[test]
    fn decoding_mutated_frames_never_panics(
        which in 0usize..3,
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6),
        cut in any::<usize>(),
        tail in proptest::collection::vec(any::<u8>(), 0..16),
    ) {
        let mut frame = valid_frames()[which].clone();
        for (at, byte) in flips {
            let len = frame.len();
            frame[at % len] ^= byte;
        }
        frame.truncate(cut % (frame.len() + 1));
        frame.extend(tail);
        let codec = Codec::default();
        let _ = codec.decode_client(&frame);
        let _ = codec.decode_server(&frame);
    }

    /// Any audio chunk the encoder produces decodes back to itself.
    #[test]
    fn audio_chunks_round_trip(seq in any::<u64>(), ts in any::<u64>(), vad in any::<bool>(), muted in any::<bool>(), data in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let msg = ClientToServerMessage::from(AudioChunk { seq, data: data.into(), timestamp_us: ts, voice_activity: vad, muted });
        let codec = Codec::default();
        prop_assert_eq!(codec.decode_client(&codec.encode(&msg).unwrap()).unwrap(), msg);
    }

    /// Transcript text of any Unicode content round-trips.
    #[test]
    fn transcripts_round_trip(text in "\\PC{0,200}", seg in any::<u64>(), fin in any::<bool>()) {
        let msg = ServerToClientMessage::from(PartialTranscript { speaker: 2, segment_id: seg, text, is_final: fin, start_ms: 0 });
        let codec = Codec::default();
        prop_assert_eq!(codec.decode_server(&codec.encode(&msg).unwrap()).unwrap(), msg);
    }

    /// The seq tracker delivers exactly once and in order, whatever arrives.
    #[test]
    fn seq_tracker_delivers_exactly_once_in_order(seqs in proptest::collection::vec(0u64..40, 0..200)) {
        let mut tracker = SeqTracker::default();
        let mut delivered = Vec::new();
        for seq in seqs {
            if let Ok(Verdict::Accept) = tracker.accept(seq) {
                delivered.push(seq);
            }
        }
        let expected: Vec<u64> = (1..=delivered.len() as u64).collect();
        prop_assert_eq!(delivered, expected);
    }
}
