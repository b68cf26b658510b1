//! The whole state × event matrix of the lifecycle core.
//!
//! Each row is an event (with the payload variants that lead to different
//! outcomes); each column a state (connection sub-states included). A cell is
//! the state the machine must be in afterwards, `=` for "accepted, same state"
//! or `-` for "rejected, nothing changed". Adding a state or an event kind
//! without extending the table fails `every_event_kind_has_a_row`.

mod support;

use std::collections::BTreeSet;

use candor_lifecycle::{Event as E, FailureKind as K, MicProblem, Timer};
use support::{Ev, STATES, code_of, fail, reach, timer};

/// A row label, the event it feeds, and the expected cell per column.
type Row = (&'static str, fn() -> Ev, &'static str);

const COLUMNS: &str = "U  A  i  in rp pd co ch cw l  ro rh rw eo eh eu ew pr rr er";

#[rustfmt::skip]
fn rows() -> Vec<Row> {
    vec![
        //                                                                 U  A  i  in rp pd co ch cw l  ro rh rw eo eh eu ew pr rr er
        ("AppStarted", || E::AppStarted { stored_token: true },          "-  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -"),
        ("SignIn", || E::SignIn { credentials: "pw" },                    "A  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -"),
        ("SignedIn", || E::SignedIn { profile: "Ada".into() },            "-  i  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -"),
        ("SignInFailed", || E::SignInFailed { failure: fail(K::Unauthenticated) },
                                                                          "-  U  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -"),
        ("SignOut", || E::SignOut,                                        "-  -  U  -  -  U  -  -  -  -  -  -  -  -  -  -  -  -  U  U"),
        ("RefreshHistory", || E::RefreshHistory,                          "-  -  =  =  =  =  =  =  =  =  =  =  =  =  =  =  =  =  -  ="),
        ("HistoryLoaded", || E::HistoryLoaded { history: vec![2] },       "-  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  =  -"),
        ("HistoryFailed/retryable", || E::HistoryFailed { failure: fail(K::Retryable) },
                                                                          "-  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  =  -"),
        ("HistoryFailed/unauth", || E::HistoryFailed { failure: fail(K::Unauthenticated) },
                                                                          "-  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  U  -"),
        ("StartInterview", || E::StartInterview { setup: "pm" },          "-  -  in -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  in in"),
        ("RetryPermissions", || E::RetryPermissions,                      "-  -  -  -  -  rp -  -  -  -  -  -  -  -  -  -  -  -  -  -"),
        ("Cancel", || E::Cancel,                                          "-  -  -  i  i  i  i  i  i  -  -  -  -  -  -  -  -  -  -  -"),
        ("EndInterview", || E::EndInterview,                              "-  -  -  -  -  -  -  -  -  eu eo eh ew -  -  -  -  -  -  -"),
        ("Dismiss", || E::Dismiss,                                        "-  -  -  -  -  i  -  -  -  -  -  -  -  -  -  -  -  -  i  i"),
        ("ReviewResults", || E::ReviewResults { interview_id: "old".into() },
                                                                          "-  -  pr -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  pr pr"),
        ("InterviewCreated", || E::InterviewCreated { interview_id: "iv9".into() },
                                                                          "-  -  -  rp -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -"),
        ("InterviewCreateFailed/fatal", || E::InterviewCreateFailed { failure: fail(K::Fatal) },
                                                                          "-  -  -  er -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -"),
        ("InterviewCreateFailed/unauth", || E::InterviewCreateFailed { failure: fail(K::Unauthenticated) },
                                                                          "-  -  -  U  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -"),
        ("MicrophoneGranted", || E::MicrophoneGranted,                    "-  -  -  -  co -  -  -  -  -  -  -  -  -  -  -  -  -  -  -"),
        ("MicrophoneUnavailable/denied", || E::MicrophoneUnavailable { problem: MicProblem::Denied, message: "no".into() },
                                                                          "-  -  -  -  pd -  -  -  -  -  -  -  -  -  -  -  -  -  -  -"),
        ("MicrophoneUnavailable/noDevice", || E::MicrophoneUnavailable { problem: MicProblem::NoDevice, message: "none".into() },
                                                                          "-  -  -  -  pd -  -  -  -  -  -  -  -  -  -  -  -  -  -  -"),
        ("MicrophoneUnavailable/failed", || E::MicrophoneUnavailable { problem: MicProblem::Failed, message: "busy".into() },
                                                                          "-  -  -  -  er -  -  -  -  -  -  -  -  -  -  -  -  -  -  -"),
        ("SocketOpened", || E::SocketOpened,                              "-  -  -  -  -  -  ch -  -  -  rh -  -  eh -  -  -  -  -  -"),
        ("SessionStarted/resumed", || E::SessionStarted { session_id: "s1".into(), resumed: true },
                                                                          "-  -  -  -  -  -  -  l  -  -  -  l  -  -  eu -  -  -  -  -"),
        ("SessionStarted/new", || E::SessionStarted { session_id: "s2".into(), resumed: false },
                                                                          "-  -  -  -  -  -  -  l  -  -  -  er -  -  eu -  -  -  -  -"),
        ("ConnectionLost", || E::ConnectionLost { reason: "reset".into() },
                                                                          "-  -  -  -  -  -  cw cw -  ro rw rw -  ew ew eo -  -  -  -"),
        ("GoAway", || E::GoAway,                                          "-  -  -  -  -  -  -  -  -  ro -  -  -  -  -  eo -  -  -  -"),
        ("ServerError/retryable", || E::ServerError { failure: fail(K::Retryable) },
                                                                          "-  -  -  -  -  -  -  cw -  ro -  rw -  -  ew eo -  -  -  -"),
        ("ServerError/fatal", || E::ServerError { failure: fail(K::Fatal) },
                                                                          "-  -  -  -  -  -  -  er -  er -  er -  -  er er -  -  -  -"),
        ("ServerError/unauth", || E::ServerError { failure: fail(K::Unauthenticated) },
                                                                          "-  -  -  -  -  -  -  U  -  U  -  U  -  -  U  U  -  -  -  -"),
        ("AudioFailed", || E::AudioFailed { message: "unplugged".into() },
                                                                          "-  -  -  -  -  -  er er er er er er er -  -  -  -  -  -  -"),
        ("SessionEnded/pending", || E::SessionEnded { results_pending: true, message: String::new() },
                                                                          "-  -  -  -  -  -  -  pr -  pr -  pr -  -  pr pr -  -  -  -"),
        ("SessionEnded/none", || E::SessionEnded { results_pending: false, message: "idle timeout".into() },
                                                                          "-  -  -  -  -  -  -  er -  er -  er -  -  er er -  -  -  -"),
        ("ResultsPending", || E::ResultsPending,                          "-  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  =  -  -"),
        ("ResultsReady", || E::ResultsReady { results: 9 },               "-  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  rr -  -"),
        ("ResultsFailed/retryable", || E::ResultsFailed { failure: fail(K::Retryable) },
                                                                          "-  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  =  -  -"),
        ("ResultsFailed/fatal", || E::ResultsFailed { failure: fail(K::Fatal) },
                                                                          "-  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  er -  -"),
        ("ResultsFailed/unauth", || E::ResultsFailed { failure: fail(K::Unauthenticated) },
                                                                          "-  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  U  -  -"),
        ("Timer/reconnect", || timer(Timer::Reconnect),                   "-  -  -  -  -  -  -  -  co -  -  -  ro -  -  -  eo -  -  -"),
        ("Timer/endDeadline", || timer(Timer::EndDeadline),               "-  -  -  -  -  -  -  -  -  -  -  -  -  er er er er -  -  -"),
        ("Timer/resultsPoll", || timer(Timer::ResultsPoll),               "-  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  =  -  -"),
        ("Timer/resultsDeadline", || timer(Timer::ResultsDeadline),       "-  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  er -  -"),
    ]
}

#[test]
fn columns_are_every_state() {
    let columns: Vec<&str> = COLUMNS.split_whitespace().collect();
    let states: Vec<&str> = STATES.iter().map(|(c, _)| *c).collect();
    assert_eq!(columns, states);
}

#[test]
fn every_event_kind_has_a_row() {
    let covered: BTreeSet<&str> = rows().iter().map(|(_, make, _)| make().name()).collect();
    // One value of each variant; the exhaustive match in `Event::name` keeps
    // this list honest: a new variant must be named there, and then here.
    let all: BTreeSet<&str> = [
        "AppStarted",
        "SignIn",
        "SignedIn",
        "SignInFailed",
        "SignOut",
        "RefreshHistory",
        "HistoryLoaded",
        "HistoryFailed",
        "StartInterview",
        "RetryPermissions",
        "Cancel",
        "EndInterview",
        "Dismiss",
        "ReviewResults",
        "InterviewCreated",
        "InterviewCreateFailed",
        "MicrophoneGranted",
        "MicrophoneUnavailable",
        "SocketOpened",
        "SessionStarted",
        "ConnectionLost",
        "GoAway",
        "ServerError",
        "AudioFailed",
        "SessionEnded",
        "ResultsPending",
        "ResultsReady",
        "ResultsFailed",
        "TimerFired",
    ]
    .into_iter()
    .collect();
    assert_eq!(covered, all);
}

#[test]
fn state_by_event_matrix() {
    let columns: Vec<&str> = COLUMNS.split_whitespace().collect();
    let mut failures = Vec::new();
    let mut cells = 0;
    for (label, make, expected) in rows() {
        let expected: Vec<&str> = expected.split_whitespace().collect();
        assert_eq!(
            expected.len(),
            columns.len(),
            "row {label} has the wrong width"
        );
        for (column, want) in columns.iter().zip(expected) {
            cells += 1;
            let (mut m, mut clock) = reach(column);
            let before = m.view();
            let before_detail = m.state_detail();
            let result = m.handle(make(), clock.tick());
            let got = match &result {
                Err(rejected) => {
                    assert_eq!(
                        m.view(),
                        before,
                        "{label} in {column}: rejected but view changed"
                    );
                    assert_eq!(m.state_detail(), before_detail);
                    assert!(!rejected.reason.is_empty());
                    "-"
                }
                Ok(_) if m.state_detail() == before_detail => "=",
                Ok(_) => code_of(&m.state_detail()),
            };
            // A transition back to the same sub-state reads as "=".
            let want = if want == *column { "=" } else { want };
            if got != want {
                failures.push(format!(
                    "{label} in {column}: expected {want}, got {got} ({result:?})"
                ));
            }
        }
    }
    assert_eq!(cells, 42 * 20);
    assert!(
        failures.is_empty(),
        "{} cells differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
