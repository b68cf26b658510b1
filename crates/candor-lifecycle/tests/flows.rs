//! Whole flows through the lifecycle core with the exact actions a driver
//! must perform: the seed's happy path, and the failure paths around it.

mod support;

use std::time::Duration;

use candor_lifecycle::{
    Action as A, AuthView, Config, Event as E, FailureKind as K, InterviewView, Query, Timer,
};
use support::{App, Clock, M, fail, reach};

fn ok(m: &mut M, clock: &mut Clock, event: support::Ev) -> Vec<A<App>> {
    let name = event.name();
    m.handle(event, clock.tick())
        .unwrap_or_else(|r| panic!("{name} rejected: {r}"))
}

#[test]
fn the_seed_happy_path_with_its_actions() {
    let mut m = M::new(Config::default(), 3);
    let mut c = Clock::new();
    assert_eq!(
        ok(&mut m, &mut c, E::AppStarted { stored_token: true }),
        vec![A::VerifyStoredToken]
    );
    assert_eq!(m.state_name(), "authenticating");
    assert_eq!(
        ok(
            &mut m,
            &mut c,
            E::SignedIn {
                profile: "Ada".into()
            }
        ),
        vec![A::FetchHistory]
    );
    assert_eq!(m.view().history, Some(Query::Loading { previous: None }));
    assert_eq!(
        ok(&mut m, &mut c, E::HistoryLoaded { history: vec![4] }),
        vec![]
    );
    assert_eq!(
        ok(&mut m, &mut c, E::StartInterview { setup: "swe" }),
        vec![A::CreateInterview { setup: "swe" }]
    );
    assert_eq!(
        ok(
            &mut m,
            &mut c,
            E::InterviewCreated {
                interview_id: "iv1".into()
            }
        ),
        vec![A::AcquireMicrophone]
    );
    assert_eq!(
        ok(&mut m, &mut c, E::MicrophoneGranted),
        vec![A::OpenSocket]
    );
    assert_eq!(
        ok(&mut m, &mut c, E::SocketOpened),
        vec![A::SendStart {
            interview_id: "iv1".into(),
            resume_session: None
        }]
    );
    assert_eq!(
        ok(
            &mut m,
            &mut c,
            E::SessionStarted {
                session_id: "s1".into(),
                resumed: false
            }
        ),
        vec![A::StartAudio]
    );
    assert_eq!(m.state_name(), "live");
    let actions = ok(&mut m, &mut c, E::EndInterview);
    assert_eq!(actions[..2], [A::ReleaseAudio, A::SendEnd]);
    assert!(matches!(
        actions[2],
        A::ArmTimer {
            timer: Timer::EndDeadline,
            ..
        }
    ));
    let actions = ok(
        &mut m,
        &mut c,
        E::SessionEnded {
            results_pending: true,
            message: String::new(),
        },
    );
    assert_eq!(
        actions[..2],
        [
            A::CloseSocket,
            A::FetchResults {
                interview_id: "iv1".into()
            }
        ]
    );
    assert!(matches!(
        actions[2],
        A::ArmTimer {
            timer: Timer::ResultsDeadline,
            ..
        }
    ));
    assert_eq!(m.state_name(), "processingResults");
    let actions = ok(&mut m, &mut c, E::ResultsPending);
    assert!(matches!(
        actions[..],
        [A::ArmTimer {
            timer: Timer::ResultsPoll,
            ..
        }]
    ));
    assert_eq!(
        ok(
            &mut m,
            &mut c,
            E::TimerFired {
                timer: Timer::ResultsPoll
            }
        ),
        vec![A::FetchResults {
            interview_id: "iv1".into()
        }]
    );
    assert_eq!(
        ok(&mut m, &mut c, E::ResultsReady { results: 88 }),
        vec![A::FetchHistory]
    );
    assert_eq!(
        m.view().interview,
        InterviewView::ResultsReady {
            interview_id: "iv1".into(),
            results: 88
        }
    );
    assert_eq!(ok(&mut m, &mut c, E::Dismiss), vec![]);
    assert_eq!(m.state_name(), "idle");
}

#[test]
fn a_dead_server_at_start_ends_in_error_after_the_configured_attempts() {
    let (mut m, mut c) = reach("co");
    let attempts = m.config().connect_attempts;
    for attempt in 1..attempts {
        let actions = ok(
            &mut m,
            &mut c,
            E::ConnectionLost {
                reason: "refused".into(),
            },
        );
        let [
            A::ArmTimer {
                timer: Timer::Reconnect,
                at,
            },
        ] = actions[..]
        else {
            panic!("expected a backoff timer, got {actions:?}");
        };
        let ceiling = m.config().backoff.ceiling(attempt - 1);
        assert!(at - c.0 <= ceiling, "delay above the backoff ceiling");
        assert_eq!(
            ok(
                &mut m,
                &mut c,
                E::TimerFired {
                    timer: Timer::Reconnect
                }
            ),
            vec![A::OpenSocket]
        );
        assert!(
            matches!(m.view().interview, InterviewView::Connecting { attempt: a, .. } if a == attempt + 1)
        );
    }
    let actions = ok(
        &mut m,
        &mut c,
        E::ConnectionLost {
            reason: "refused".into(),
        },
    );
    assert_eq!(actions, vec![A::ReleaseAudio]);
    let InterviewView::Error { message, kind, .. } = m.view().interview else {
        panic!("expected error");
    };
    assert_eq!(kind, K::Retryable);
    assert!(message.contains("after 5 attempts"), "{message}");
}

#[test]
fn reconnecting_resumes_the_same_session_and_keeps_audio_running() {
    let (mut m, mut c) = reach("l");
    assert_eq!(
        ok(
            &mut m,
            &mut c,
            E::ConnectionLost {
                reason: "cut".into()
            }
        ),
        vec![A::OpenSocket]
    );
    assert_eq!(m.state_name(), "reconnecting");
    assert!(matches!(
        ok(
            &mut m,
            &mut c,
            E::ConnectionLost {
                reason: "cut".into()
            }
        )[..],
        [A::ArmTimer {
            timer: Timer::Reconnect,
            ..
        }]
    ));
    assert_eq!(
        ok(
            &mut m,
            &mut c,
            E::TimerFired {
                timer: Timer::Reconnect
            }
        ),
        vec![A::OpenSocket]
    );
    assert_eq!(
        ok(&mut m, &mut c, E::SocketOpened),
        vec![A::SendStart {
            interview_id: "iv1".into(),
            resume_session: Some("s1".into())
        }]
    );
    // No StartAudio: capture kept running (and buffering) through the outage.
    assert_eq!(
        ok(
            &mut m,
            &mut c,
            E::SessionStarted {
                session_id: "s1".into(),
                resumed: true
            }
        ),
        vec![]
    );
    assert_eq!(m.state_name(), "live");
}

#[test]
fn reconnecting_gives_up_when_the_window_is_over() {
    let (mut m, mut c) = reach("ro");
    let window = m.config().reconnect_window;
    c.advance(window);
    let actions = ok(
        &mut m,
        &mut c,
        E::ConnectionLost {
            reason: "unreachable".into(),
        },
    );
    assert_eq!(actions, vec![A::ReleaseAudio]);
    let InterviewView::Error { message, .. } = m.view().interview else {
        panic!("expected error")
    };
    assert!(message.contains("could not reconnect"), "{message}");
}

#[test]
fn go_away_moves_to_a_new_socket_before_the_cut() {
    let (mut m, mut c) = reach("l");
    assert_eq!(
        ok(&mut m, &mut c, E::GoAway),
        vec![A::CloseSocket, A::OpenSocket]
    );
    assert_eq!(m.state_detail(), "reconnecting:opening");
}

#[test]
fn ending_without_confirmation_fails_after_the_deadline() {
    let (mut m, mut c) = reach("eu");
    c.advance(Duration::from_secs(20));
    let actions = ok(
        &mut m,
        &mut c,
        E::TimerFired {
            timer: Timer::EndDeadline,
        },
    );
    assert_eq!(actions, vec![A::CloseSocket]);
    let InterviewView::Error { message, .. } = m.view().interview else {
        panic!("expected error")
    };
    assert!(message.contains("did not confirm"));
}

#[test]
fn ending_resends_the_end_request_on_a_resumed_socket() {
    let (mut m, mut c) = reach("eu");
    assert_eq!(
        ok(
            &mut m,
            &mut c,
            E::ConnectionLost {
                reason: "cut".into()
            }
        ),
        vec![A::OpenSocket]
    );
    assert_eq!(
        ok(&mut m, &mut c, E::SocketOpened),
        vec![A::SendStart {
            interview_id: "iv1".into(),
            resume_session: Some("s1".into())
        }]
    );
    assert_eq!(
        ok(
            &mut m,
            &mut c,
            E::SessionStarted {
                session_id: "s1".into(),
                resumed: true
            }
        ),
        vec![A::SendEnd]
    );
}

#[test]
fn a_rejected_stored_token_is_forgotten_and_a_bad_password_is_not() {
    let mut m = M::new(Config::default(), 1);
    let mut c = Clock::new();
    ok(&mut m, &mut c, E::AppStarted { stored_token: true });
    let actions = ok(
        &mut m,
        &mut c,
        E::SignInFailed {
            failure: fail(K::Unauthenticated),
        },
    );
    assert_eq!(actions, vec![A::ForgetToken]);
    ok(
        &mut m,
        &mut c,
        E::SignIn {
            credentials: "wrong",
        },
    );
    let actions = ok(
        &mut m,
        &mut c,
        E::SignInFailed {
            failure: fail(K::Unauthenticated),
        },
    );
    assert_eq!(actions, vec![]);
    assert!(matches!(
        m.view().auth,
        AuthView::Unauthenticated { notice: Some(_) }
    ));
}

#[test]
fn unauthenticated_mid_interview_signs_out_and_releases_everything() {
    let (mut m, mut c) = reach("l");
    let actions = ok(
        &mut m,
        &mut c,
        E::ServerError {
            failure: fail(K::Unauthenticated),
        },
    );
    assert_eq!(
        actions,
        vec![A::ReleaseAudio, A::CloseSocket, A::ForgetToken]
    );
    assert_eq!(m.state_name(), "unauthenticated");
    assert_eq!(m.view().history, None);
    let rejected = m
        .handle(E::StartInterview { setup: "x" }, c.tick())
        .unwrap_err();
    assert_eq!(rejected.reason, "sign in first");
}

#[test]
fn signing_out_is_refused_during_an_interview() {
    let (mut m, mut c) = reach("l");
    let rejected = m.handle(E::SignOut, c.tick()).unwrap_err();
    assert_eq!(rejected.state, "live");
    assert!(rejected.to_string().contains("end the interview"));
}

#[test]
fn history_error_then_retry_keeps_previous_data() {
    let (mut m, mut c) = reach("i");
    assert_eq!(ok(&mut m, &mut c, E::RefreshHistory), vec![A::FetchHistory]);
    ok(
        &mut m,
        &mut c,
        E::HistoryFailed {
            failure: fail(K::Retryable),
        },
    );
    assert_eq!(
        m.view().history,
        Some(Query::Error {
            message: "Retryable failure".into(),
            previous: Some(vec![1])
        })
    );
}

#[test]
fn results_fetch_failures_are_retried_then_reported() {
    let (mut m, mut c) = reach("pr");
    let retries = m.config().results_retries;
    for _ in 0..retries {
        let actions = ok(
            &mut m,
            &mut c,
            E::ResultsFailed {
                failure: fail(K::Retryable),
            },
        );
        assert!(matches!(
            actions[..],
            [A::ArmTimer {
                timer: Timer::ResultsPoll,
                ..
            }]
        ));
        ok(
            &mut m,
            &mut c,
            E::TimerFired {
                timer: Timer::ResultsPoll,
            },
        );
    }
    ok(
        &mut m,
        &mut c,
        E::ResultsFailed {
            failure: fail(K::Retryable),
        },
    );
    assert_eq!(m.state_name(), "error");
}

#[test]
fn the_view_uses_the_seed_state_names() {
    let (m, _) = reach("rp");
    let json = serde_json::to_value(m.view()).unwrap();
    assert_eq!(json["auth"]["state"], "authenticated");
    assert_eq!(json["auth"]["profile"], "Ada");
    assert_eq!(json["interview"]["state"], "requestingPermissions");
    assert_eq!(json["interview"]["interviewId"], "iv1");
    assert_eq!(json["history"]["state"], "success");
}
