//! The speaker disappears for good in the middle of an interview: the
//! playback's failure reaches the lifecycle, which ends the interview in its
//! error state and says the speaker stopped (the real device path, on a
//! private PulseAudio server; fails, not skips, without pulseaudio).

mod support;

use std::time::Duration;

use candor_audio::SinkSpec;
use candor_audio::test_support::PrivatePulse;
use candor_audio::watchdog::RECOVERY;
use candor_lifecycle::InterviewView;
use support::{engine_playing_to, memory, server, start_live_interview};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_speaker_gone_for_good_mid_interview_ends_it_in_an_audio_failure() {
    let pulse = PrivatePulse::start().expect("private PulseAudio server");
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path()).await;
    let url = url::Url::parse(&format!("http://{}/", server.addr())).unwrap();
    let (engine, mut events) =
        engine_playing_to(url, memory(), SinkSpec::Device { device: None }).await;
    start_live_interview(&engine, &mut events, 2).await;
    // The interviewer is speaking through the speaker.
    events.drain_for(Duration::from_secs(2)).await;

    // Every output device goes away and none comes back.
    pulse.unload_sink("speaker").unwrap();
    pulse.unload_sink("virtmic").unwrap();
    let view = events
        .until_state("error", RECOVERY + Duration::from_secs(5))
        .await;
    let InterviewView::Error { message, .. } = &view.interview else {
        unreachable!("until_state returned the error state")
    };
    assert!(
        message.contains("the speaker stopped working"),
        "the error says the speaker stopped: {message:?}"
    );
    println!("{message}");
    assert!(
        events.states().ends_with(&["live", "error"]),
        "states: {:?}",
        events.states()
    );
    engine.shutdown().await;
    server.shutdown().await;
}
