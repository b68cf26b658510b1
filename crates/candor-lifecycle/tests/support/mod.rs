//! Shared test fixtures: the payload types, a clock, and paths that bring a
//! machine into each state through its public events only.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use candor_lifecycle::{Config, Event, Failure, FailureKind, Machine, MicProblem, Payloads, Timer};

#[derive(Debug, PartialEq)]
pub struct App;

impl Payloads for App {
    type Credentials = &'static str;
    type Profile = String;
    type Setup = &'static str;
    type History = Vec<u32>;
    type Results = u32;
}

pub type Ev = Event<App>;
pub type M = Machine<App>;

/// Every state the table covers, by short code, with the path that reaches
/// it from a fresh machine, and its `state_detail`.
pub const STATES: &[(&str, &str)] = &[
    ("U", "unauthenticated"),
    ("A", "authenticating"),
    ("i", "idle"),
    ("in", "initializing"),
    ("rp", "requestingPermissions"),
    ("pd", "permissionsDenied"),
    ("co", "connecting:opening"),
    ("ch", "connecting:handshaking"),
    ("cw", "connecting:waiting"),
    ("l", "live"),
    ("ro", "reconnecting:opening"),
    ("rh", "reconnecting:handshaking"),
    ("rw", "reconnecting:waiting"),
    ("eo", "ending:opening"),
    ("eh", "ending:handshaking"),
    ("eu", "ending:up"),
    ("ew", "ending:waiting"),
    ("pr", "processingResults"),
    ("rr", "resultsReady"),
    ("er", "error"),
];

pub fn code_of(detail: &str) -> &'static str {
    STATES
        .iter()
        .find(|(_, d)| *d == detail)
        .map(|(c, _)| *c)
        .unwrap_or_else(|| panic!("no code for state {detail}"))
}

pub fn fail(kind: FailureKind) -> Failure {
    Failure::new(kind, format!("{kind:?} failure"))
}

/// A test clock: each step advances 10 ms.
#[derive(Debug)]
pub struct Clock(pub Instant);

impl Clock {
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Clock(Instant::now())
    }
    pub fn tick(&mut self) -> Instant {
        self.0 += Duration::from_millis(10);
        self.0
    }
    pub fn advance(&mut self, d: Duration) -> Instant {
        self.0 += d;
        self.0
    }
}

fn path(code: &str) -> Vec<Ev> {
    use Event as E;
    let signed_in = || {
        vec![
            E::AppStarted {
                stored_token: false,
            },
            E::SignIn {
                credentials: "offline",
            },
            E::SignedIn {
                profile: "Ada".into(),
            },
            E::HistoryLoaded { history: vec![1] },
        ]
    };
    let then = |base: &str, more: Vec<Ev>| {
        let mut p = path(base);
        p.extend(more);
        p
    };
    match code {
        "U" => vec![E::AppStarted {
            stored_token: false,
        }],
        "A" => vec![E::AppStarted { stored_token: true }],
        "i" => signed_in(),
        "in" => then("i", vec![E::StartInterview { setup: "swe" }]),
        "rp" => then(
            "in",
            vec![E::InterviewCreated {
                interview_id: "iv1".into(),
            }],
        ),
        "pd" => then(
            "rp",
            vec![E::MicrophoneUnavailable {
                problem: MicProblem::Denied,
                message: "denied".into(),
            }],
        ),
        "co" => then("rp", vec![E::MicrophoneGranted]),
        "ch" => then("co", vec![E::SocketOpened]),
        "cw" => then(
            "co",
            vec![E::ConnectionLost {
                reason: "refused".into(),
            }],
        ),
        "l" => then(
            "ch",
            vec![E::SessionStarted {
                session_id: "s1".into(),
                resumed: false,
            }],
        ),
        "ro" => then(
            "l",
            vec![E::ConnectionLost {
                reason: "cut".into(),
            }],
        ),
        "rh" => then("ro", vec![E::SocketOpened]),
        "rw" => then(
            "ro",
            vec![E::ConnectionLost {
                reason: "cut".into(),
            }],
        ),
        "eu" => then("l", vec![E::EndInterview]),
        "eo" => then(
            "eu",
            vec![E::ConnectionLost {
                reason: "cut".into(),
            }],
        ),
        "eh" => then("eo", vec![E::SocketOpened]),
        "ew" => then(
            "eo",
            vec![E::ConnectionLost {
                reason: "cut".into(),
            }],
        ),
        "pr" => then(
            "eu",
            vec![E::SessionEnded {
                results_pending: true,
                message: String::new(),
            }],
        ),
        "rr" => then("pr", vec![E::ResultsReady { results: 7 }]),
        "er" => then(
            "in",
            vec![E::InterviewCreateFailed {
                failure: fail(FailureKind::Fatal),
            }],
        ),
        other => panic!("unknown state code {other}"),
    }
}

/// A machine in the state with this code, and the clock used to get there.
pub fn reach(code: &str) -> (M, Clock) {
    let mut m = M::new(Config::default(), 1);
    let mut clock = Clock::new();
    for event in path(code) {
        let name = event.name();
        if let Err(rejected) = m.handle(event, clock.tick()) {
            panic!("path to {code}: {name} rejected: {rejected}");
        }
    }
    assert_eq!(code_of(&m.state_detail()), code, "path to {code}");
    (m, clock)
}

pub fn timer(timer: Timer) -> Ev {
    Event::TimerFired { timer }
}
