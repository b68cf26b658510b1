//! Getting ready to connect: `initializing` (the interview record is being
//! created), `requestingPermissions` (the microphone is being opened) and
//! `permissionsDenied` (it was refused or is missing; the user may retry).

use super::connecting::Connecting;
use super::{Handled, Interview, Next};
use crate::types::{Event, Failure, FailureKind, MicProblem, Payloads};

/// `initializing`: waiting for the data API to create the record.
pub(super) fn initializing<P: Payloads>(event: Event<P>) -> Handled<P> {
    match event {
        Event::InterviewCreated { interview_id } => {
            Ok(Next::Go(Interview::RequestingPermissions {
                id: interview_id,
            }))
        }
        Event::InterviewCreateFailed { failure } => Ok(match failure.kind {
            FailureKind::Unauthenticated => Next::SessionExpired(failure),
            _ => Next::Fail(failure),
        }),
        Event::Cancel => Ok(Next::Leave(Interview::Idle)),
        event => Err(event),
    }
}

/// `requestingPermissions`: waiting for the microphone (the OS may prompt).
pub(super) fn requesting_permissions<P: Payloads>(id: &str, event: Event<P>) -> Handled<P> {
    match event {
        Event::MicrophoneGranted => Ok(Next::Go(Interview::Connecting(Connecting::new(id)))),
        Event::MicrophoneUnavailable {
            problem: problem @ (MicProblem::Denied | MicProblem::NoDevice),
            message,
        } => Ok(Next::Leave(Interview::PermissionsDenied {
            id: id.to_owned(),
            problem,
            message,
        })),
        Event::MicrophoneUnavailable {
            problem: MicProblem::Failed,
            message,
        } => Ok(Next::Fail(Failure::new(
            FailureKind::Fatal,
            format!("Could not open the microphone: {message}"),
        ))),
        Event::Cancel => Ok(Next::Leave(Interview::Idle)),
        event => Err(event),
    }
}

/// `permissionsDenied`: the user may retry (e.g. after plugging a microphone
/// in or granting access), cancel, or dismiss.
pub(super) fn permissions_denied<P: Payloads>(id: &str, event: Event<P>) -> Handled<P> {
    match event {
        Event::RetryPermissions => Ok(Next::Go(Interview::RequestingPermissions {
            id: id.to_owned(),
        })),
        Event::Cancel | Event::Dismiss => Ok(Next::Go(Interview::Idle)),
        event => Err(event),
    }
}
