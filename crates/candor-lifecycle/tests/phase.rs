//! The typed phase agrees with the state names, and "at rest" is exactly
//! where the machine lets the user sign out.

mod support;

use candor_lifecycle::{Event, InterviewPhase};
use support::{STATES, reach};

#[test]
fn the_phase_names_the_interview_state() {
    for (code, _) in STATES {
        let (m, _) = reach(code);
        let phase = m.interview_phase();
        assert_eq!(m.view().interview.phase(), phase, "{code}");
        assert_eq!(m.view().interview.name(), phase.name(), "{code}");
        if !matches!(*code, "U" | "A") {
            assert_eq!(m.state_name(), phase.name(), "{code}");
        } else {
            assert_eq!(phase, InterviewPhase::Idle, "signed out is idle");
        }
    }
}

#[test]
fn at_rest_is_where_signing_out_is_allowed() {
    let mut at_rest = Vec::new();
    for (code, _) in STATES.iter().filter(|(c, _)| !matches!(*c, "U" | "A")) {
        let (mut m, mut clock) = reach(code);
        let phase = m.interview_phase();
        assert_eq!(m.view().interview.is_at_rest(), phase.is_at_rest());
        let accepted = m.handle(Event::SignOut, clock.tick()).is_ok();
        assert_eq!(accepted, phase.is_at_rest(), "{code} ({phase})");
        if accepted {
            at_rest.push(phase);
        }
    }
    assert_eq!(
        at_rest,
        [
            InterviewPhase::Idle,
            InterviewPhase::PermissionsDenied,
            InterviewPhase::ResultsReady,
            InterviewPhase::Error
        ]
    );
}

#[test]
fn every_phase_has_its_seed_name() {
    let names: Vec<&str> = InterviewPhase::ALL.iter().map(|p| p.name()).collect();
    assert_eq!(
        names,
        [
            "idle",
            "initializing",
            "requestingPermissions",
            "permissionsDenied",
            "connecting",
            "live",
            "reconnecting",
            "ending",
            "processingResults",
            "resultsReady",
            "error"
        ]
    );
    assert_eq!(InterviewPhase::Live.to_string(), "live");
}
