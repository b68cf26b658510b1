//! Random event sequences against the lifecycle core, checking the invariants
//! a driver relies on after every step.

mod support;

use std::time::Duration;

use candor_lifecycle::{
    Action, AuthView, Config, Event as E, FailureKind as K, InterviewView, MicProblem, Timer,
};
use proptest::prelude::*;
use support::{App, Clock, Ev, M, fail};

/// Any event, with payload variants.
fn any_event(choice: u8, flag: bool) -> Ev {
    let kind = match choice % 3 {
        0 => K::Unauthenticated,
        1 => K::Retryable,
        _ => K::Fatal,
    };
    match choice % 30 {
        0 => E::AppStarted { stored_token: flag },
        1 => E::SignIn { credentials: "pw" },
        2 => E::SignedIn {
            profile: "Ada".into(),
        },
        3 => E::SignInFailed {
            failure: fail(kind),
        },
        4 => E::SignOut,
        5 => E::RefreshHistory,
        6 => E::HistoryLoaded { history: vec![] },
        7 => E::HistoryFailed {
            failure: fail(kind),
        },
        8 => E::StartInterview { setup: "swe" },
        9 => E::RetryPermissions,
        10 => E::Cancel,
        11 => E::EndInterview,
        12 => E::Dismiss,
        13 => E::InterviewCreated {
            interview_id: "iv".into(),
        },
        14 => E::InterviewCreateFailed {
            failure: fail(kind),
        },
        15 => E::MicrophoneGranted,
        16 => E::MicrophoneUnavailable {
            problem: [MicProblem::Denied, MicProblem::NoDevice, MicProblem::Failed]
                [choice as usize % 3],
            message: "x".into(),
        },
        17 => E::SocketOpened,
        18 => E::SessionStarted {
            session_id: "s".into(),
            resumed: flag,
        },
        19 => E::ConnectionLost {
            reason: "cut".into(),
        },
        20 => E::GoAway,
        21 => E::ServerError {
            failure: fail(kind),
        },
        22 => E::AudioFailed {
            message: "gone".into(),
        },
        23 => E::SessionEnded {
            results_pending: flag,
            message: String::new(),
        },
        24 => E::ResultsPending,
        25 => E::ResultsReady { results: 1 },
        26 => E::ResultsFailed {
            failure: fail(kind),
        },
        27 => E::TimerFired {
            timer: [
                Timer::Reconnect,
                Timer::EndDeadline,
                Timer::ResultsPoll,
                Timer::ResultsDeadline,
            ][choice as usize % 4],
        },
        28 if flag => E::ReviewResults {
            interview_id: "old".into(),
        },
        // Weighted towards the happy path so deep states are reached often.
        28 => E::SessionStarted {
            session_id: "s".into(),
            resumed: true,
        },
        _ => E::SocketOpened,
    }
}

/// What a well-behaved driver would most likely report next in this state.
fn plausible_event(m: &M, choice: u8) -> Ev {
    let detail = m.state_detail();
    let pick = |options: Vec<Ev>| -> Ev {
        let n = options.len();
        options
            .into_iter()
            .nth(choice as usize % n)
            .expect("non-empty")
    };
    match detail.as_str() {
        "unauthenticated" => pick(vec![E::SignIn { credentials: "pw" }]),
        "authenticating" => pick(vec![
            E::SignedIn {
                profile: "Ada".into(),
            },
            E::SignedIn {
                profile: "Ada".into(),
            },
            E::SignInFailed {
                failure: fail(K::Unauthenticated),
            },
        ]),
        "idle" | "resultsReady" | "error" => pick(vec![E::StartInterview { setup: "swe" }]),
        "initializing" => pick(vec![E::InterviewCreated {
            interview_id: "iv".into(),
        }]),
        "requestingPermissions" => pick(vec![
            E::MicrophoneGranted,
            E::MicrophoneGranted,
            E::MicrophoneUnavailable {
                problem: MicProblem::Denied,
                message: "no".into(),
            },
        ]),
        "permissionsDenied" => pick(vec![E::RetryPermissions]),
        d if d.ends_with(":opening") => pick(vec![
            E::SocketOpened,
            E::SocketOpened,
            E::ConnectionLost {
                reason: "refused".into(),
            },
        ]),
        d if d.ends_with(":handshaking") => pick(vec![
            E::SessionStarted {
                session_id: "s".into(),
                resumed: true,
            },
            E::SessionStarted {
                session_id: "s".into(),
                resumed: true,
            },
            E::ServerError {
                failure: fail(K::Retryable),
            },
        ]),
        d if d.ends_with(":waiting") => pick(vec![E::TimerFired {
            timer: Timer::Reconnect,
        }]),
        "live" => pick(vec![
            E::EndInterview,
            E::ConnectionLost {
                reason: "cut".into(),
            },
            E::GoAway,
            E::SessionEnded {
                results_pending: true,
                message: String::new(),
            },
        ]),
        "ending:up" => pick(vec![
            E::SessionEnded {
                results_pending: true,
                message: String::new(),
            },
            E::ConnectionLost {
                reason: "cut".into(),
            },
        ]),
        "processingResults" => pick(vec![
            E::ResultsPending,
            E::TimerFired {
                timer: Timer::ResultsPoll,
            },
            E::ResultsReady { results: 3 },
        ]),
        _ => any_event(choice, true),
    }
}

/// The driver's view of what it was told to do, checked against the machine.
#[derive(Default, Debug)]
struct DriverModel {
    streaming: bool,
    socket: bool,
    session_ended: bool,
}

fn is_auth_failure(event: &Ev) -> bool {
    match event {
        E::SignInFailed { failure }
        | E::HistoryFailed { failure }
        | E::InterviewCreateFailed { failure }
        | E::ServerError { failure }
        | E::ResultsFailed { failure } => failure.kind == K::Unauthenticated,
        _ => false,
    }
}

fn check_step(
    model: &mut DriverModel,
    m: &M,
    event_name: &str,
    auth_failure: bool,
    actions: &[Action<App>],
    now: std::time::Instant,
) {
    let state = m.state_name();
    for action in actions {
        match action {
            Action::OpenSocket => {
                assert!(
                    !model.socket,
                    "OpenSocket while a socket is wanted ({event_name} → {state})"
                );
                model.socket = true;
            }
            Action::CloseSocket => model.socket = false,
            Action::SendStart { .. } | Action::SendEnd => {
                assert!(model.socket, "{action:?} without a socket")
            }
            Action::StartAudio => {
                assert!(!model.streaming, "StartAudio twice");
                model.streaming = true;
            }
            Action::ReleaseAudio => model.streaming = false,
            Action::ArmTimer { at, .. } => assert!(*at >= now, "timer armed in the past"),
            _ => {}
        }
        if auth_failure {
            assert!(
                !matches!(
                    action,
                    Action::SignIn { .. }
                        | Action::VerifyStoredToken
                        | Action::OpenSocket
                        | Action::FetchHistory
                        | Action::CreateInterview { .. }
                        | Action::FetchResults { .. }
                ),
                "an auth failure was retried: {action:?}"
            );
        }
    }
    if auth_failure {
        assert!(
            matches!(m.view().auth, AuthView::Unauthenticated { .. }),
            "auth failure left us signed in"
        );
        assert!(
            !model.socket && !model.streaming,
            "auth failure left resources running"
        );
    }
    let view = m.view();
    if model.streaming {
        assert!(
            matches!(
                view.interview,
                InterviewView::Live { .. } | InterviewView::Reconnecting { .. }
            ),
            "audio streaming in {state}"
        );
    }
    if model.socket {
        assert!(
            matches!(state, "connecting" | "live" | "reconnecting" | "ending"),
            "socket wanted in {state}"
        );
    }
    if matches!(view.interview, InterviewView::ResultsReady { .. }) {
        assert!(model.session_ended, "resultsReady without SessionEnded");
    }
    serde_json::to_string(&view).expect("the view serializes");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn invariants_hold_over_random_sequences(
        steps in proptest::collection::vec((any::<bool>(), any::<u8>(), any::<bool>(), 0u64..20_000), 1..150),
        stored in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let mut m = M::new(Config::default(), seed);
        let mut clock = Clock::new();
        let mut model = DriverModel::default();
        let first = m.handle(E::AppStarted { stored_token: stored }, clock.tick()).unwrap();
        check_step(&mut model, &m, "AppStarted", false, &first, clock.0);

        for (plausible, choice, flag, advance_ms) in steps {
            let event = if plausible { plausible_event(&m, choice) } else { any_event(choice, flag) };
            let name = event.name();
            let auth_failure = is_auth_failure(&event);
            let ends_session = matches!(event, E::SessionEnded { .. });
            let starts = matches!(event, E::StartInterview { .. });
            let reviews = matches!(event, E::ReviewResults { .. });
            let loses_socket = matches!(event, E::ConnectionLost { .. });
            let now = clock.advance(Duration::from_millis(advance_ms));
            let before = m.view();
            match m.handle(event, now) {
                Err(rejected) => {
                    prop_assert_eq!(m.view(), before, "rejected {} changed the view", rejected);
                }
                Ok(actions) => {
                    if starts { model.session_ended = false; }
                    // Results are shown only for a session that ended: this
                    // one, or a past one opened from the history.
                    if ends_session || reviews { model.session_ended = true; }
                    if loses_socket { model.socket = false; }
                    check_step(&mut model, &m, name, auth_failure, &actions, now);
                }
            }
        }
    }
}

/// The generator above must actually reach every state, or the invariants
/// would be checked only on shallow ones.
#[test]
fn the_random_walk_reaches_every_state() {
    let mut seen = std::collections::BTreeSet::new();
    let mut rng = candor_lifecycle::Jitter::new(99);
    let mut m = M::new(Config::default(), 5);
    let mut clock = Clock::new();
    m.handle(E::AppStarted { stored_token: true }, clock.tick())
        .unwrap();
    for _ in 0..50_000 {
        let choice = (rng.next_unit() * 256.0) as u8;
        let event = if rng.next_unit() < 0.8 {
            plausible_event(&m, choice)
        } else {
            any_event(choice, rng.next_unit() < 0.5)
        };
        let _ = m.handle(
            event,
            clock.advance(Duration::from_millis(choice as u64 * 40)),
        );
        seen.insert(m.state_detail());
    }
    let missing: Vec<&str> = support::STATES
        .iter()
        .map(|(_, d)| *d)
        .filter(|d| !seen.contains(*d))
        .collect();
    assert!(missing.is_empty(), "never reached: {missing:?}");
}
