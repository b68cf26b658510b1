//! Shutting the engine down mid-interview: when `shutdown` returns, the
//! audio streams have stopped and what they wrote is complete (a WAV
//! speaker's header counts every sample played), so a process that exits
//! right after — the CLI after its results — loses nothing.

mod support;

use std::time::Duration;

use candor_audio::SinkSpec;
use support::{engine_playing_to, memory, server, start_live_interview};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_speaker_recording_is_complete_when_shutdown_returns() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path()).await;
    let url = url::Url::parse(&format!("http://{}/", server.addr())).unwrap();
    let wav = dir.path().join("interviewer.wav");
    let output = SinkSpec::Wav {
        path: wav.clone(),
        rate: 48_000,
        channels: 1,
    };
    let (engine, mut events) = engine_playing_to(url, memory(), output).await;
    start_live_interview(&engine, &mut events, 2).await;
    // The interviewer speaks its first question for a while.
    events.drain_for(Duration::from_secs(3)).await;

    engine.shutdown().await;
    let (rate, samples) = candor_audio::wav::read_mono(&wav).expect("a complete WAV file");
    let seconds = samples.len() as f64 / f64::from(rate);
    assert!(seconds > 2.0, "the recording holds {seconds:.2} s");
    assert!(
        samples.iter().any(|s| s.abs() > 0.01),
        "the interviewer is in the recording"
    );
    server.shutdown().await;
}
