//! A past interview through the engine against a real server: exporting it
//! into a folder, and deleting it (the results close, the history reloads
//! without it, the backend has nothing left of it).

mod support;

use std::time::Duration;

use candor_client::api::ApiClient;
use candor_client::{EngineEvent, Intent};
use candor_lifecycle::{InterviewView, Query};
use support::*;

const STEP: Duration = Duration::from_secs(30);

/// Runs a short interview (silent candidate) to its results; its id.
async fn finished_interview(engine: &candor_client::Engine, events: &mut Events) -> String {
    start_live_interview(engine, events, 1).await;
    events.drain_for(Duration::from_secs(1)).await;
    engine.intent(Intent::EndInterview).await.unwrap();
    let view = events.until_state("resultsReady", STEP).await;
    let InterviewView::ResultsReady { interview_id, .. } = view.interview else {
        unreachable!()
    };
    interview_id
}

/// The history ids of the latest loaded history view.
async fn until_history(events: &mut Events, f: impl Fn(&[String]) -> bool) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + STEP;
    loop {
        for e in events.seen.iter().rev() {
            if let EngineEvent::View { view } = e {
                if let Some(Query::Success { data }) = &view.history {
                    let ids: Vec<String> = data.items.iter().map(|i| i.id.clone()).collect();
                    if f(&ids) {
                        return ids;
                    }
                }
                break;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "history never matched"
        );
        events.drain_for(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interview_is_exported_then_deleting_it_closes_it_and_the_history_forgets_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path()).await;
    let url = url::Url::parse(&format!("http://{}/", server.addr())).unwrap();
    let (engine, mut events) = engine(url.clone(), memory()).await;
    let first = finished_interview(&engine, &mut events).await;
    engine.intent(Intent::Dismiss).await.unwrap();
    engine
        .intent(Intent::StartInterview(setup(1)))
        .await
        .unwrap();
    events.until_state("live", STEP).await;
    assert!(
        engine.delete_interview(&first).await.is_err(),
        "refused while an interview is under way"
    );
    events.drain_for(Duration::from_millis(500)).await;
    engine.intent(Intent::EndInterview).await.unwrap();
    let view = events.until_state("resultsReady", STEP).await;
    let InterviewView::ResultsReady {
        interview_id: second,
        ..
    } = view.interview
    else {
        unreachable!()
    };
    until_history(&mut events, |ids| ids.len() == 2).await;

    // Exported into a new folder; never over files already there.
    let out = tempfile::tempdir().unwrap();
    let folder = out.path().join("my interview");
    let exported = engine
        .export_interview(&second, folder.clone())
        .await
        .unwrap();
    assert_eq!(exported.folder, folder.display().to_string());
    for name in [
        "README.txt",
        "interview.ogg",
        "transcript.txt",
        "transcript.vtt",
        "report.html",
    ] {
        assert!(
            exported.files.iter().any(|f| f == name),
            "{name}: {exported:?}"
        );
        assert!(folder.join(name).is_file(), "{name}");
    }
    assert!(
        std::fs::read(folder.join("interview.ogg"))
            .unwrap()
            .starts_with(b"OggS")
    );
    let again = engine.export_interview(&second, folder.clone()).await;
    assert!(again.unwrap_err().contains("not empty"));

    // Replay: the same file, whole or a byte range at a time, as the
    // desktop's `replay` scheme asks for it.
    let file = std::fs::read(folder.join("interview.ogg")).unwrap();
    let whole = engine
        .replay_audio(&second, "interview.ogg", None)
        .await
        .unwrap();
    assert_eq!((whole.status, whole.body.len()), (200, file.len()));
    assert_eq!(whole.body, file);
    assert_eq!(whole.content_type.as_deref(), Some("audio/ogg"));
    let part = engine
        .replay_audio(&second, "interview.ogg", Some("bytes=10-109"))
        .await
        .unwrap();
    assert_eq!(part.status, 206);
    assert_eq!(
        part.content_range.as_deref(),
        Some(format!("bytes 10-109/{}", file.len()).as_str())
    );
    assert_eq!(part.body, file[10..110]);
    let past = engine
        .replay_audio(
            &second,
            "interview.ogg",
            Some(&format!("bytes={}-", file.len())),
        )
        .await
        .unwrap();
    assert_eq!(past.status, 416);
    assert!(past.body.is_empty());
    let missing = engine.replay_audio(&second, "answer-42.ogg", None).await;
    assert!(
        missing.unwrap_err().contains("no such audio"),
        "an answer that was never given"
    );

    engine.delete_interview(&second).await.unwrap();
    events.until_state("idle", STEP).await;
    let ids = until_history(&mut events, |ids| !ids.contains(&second)).await;
    assert_eq!(ids, std::slice::from_ref(&first));

    // Gone on the backend, not only from the list.
    let api = ApiClient::new(url).unwrap();
    let token = api.sign_in_local("Ada").await.unwrap().token;
    assert!(api.interview(&token, &second).await.is_err());
    assert!(api.interview(&token, &first).await.is_ok());
    assert!(
        engine.delete_interview(&second).await.is_err(),
        "a second delete is refused with the server's reason"
    );
    assert!(
        engine
            .replay_audio(&second, "interview.ogg", None)
            .await
            .is_err(),
        "nothing of a deleted interview plays"
    );
    engine.shutdown().await;
    server.shutdown().await;
}

/// The latest successful history view.
async fn until_history_page(
    events: &mut Events,
    f: impl Fn(&candor_client::ipc::History) -> bool,
) -> candor_client::ipc::History {
    let deadline = tokio::time::Instant::now() + STEP;
    loop {
        for e in events.seen.iter().rev() {
            if let EngineEvent::View { view } = e {
                if let Some(Query::Success { data }) = &view.history
                    && f(data)
                {
                    return data.clone();
                }
                break;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "history never matched"
        );
        events.drain_for(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_history_pages_past_the_first_page_and_a_ready_interview_carries_its_scores() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path()).await;
    let url = url::Url::parse(&format!("http://{}/", server.addr())).unwrap();
    let (engine, mut events) = engine(url.clone(), memory()).await;
    let ready = finished_interview(&engine, &mut events).await;
    engine.intent(Intent::Dismiss).await.unwrap();
    let api = ApiClient::new(url).unwrap();
    let token = api.sign_in_local("Ada").await.unwrap().token;
    for _ in 0..24 {
        api.create_interview(&token, &setup(1).to_request())
            .await
            .unwrap();
    }
    engine.intent(Intent::RefreshHistory).await.unwrap();
    let first = until_history_page(&mut events, |h| h.items.len() == 20).await;
    assert!(first.has_more);
    assert!(
        !first.items.iter().any(|i| i.id == ready),
        "the oldest is on a later page"
    );

    engine.intent(Intent::ShowMoreHistory).await.unwrap();
    let all = until_history_page(&mut events, |h| h.items.len() == 25).await;
    assert!(!all.has_more);
    let ids: std::collections::HashSet<&str> = all.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids.len(), 25, "no interview twice across pages");
    let oldest = all.items.last().unwrap();
    assert_eq!(oldest.id, ready);
    assert!(!oldest.scores.is_empty(), "{oldest:?}");
    assert!(oldest.overall_score.is_some());
    assert!(oldest.duration_sec.is_some());
    assert!(all.items[0].scores.is_empty(), "not started: no scores");
    engine.shutdown().await;
    server.shutdown().await;
}
