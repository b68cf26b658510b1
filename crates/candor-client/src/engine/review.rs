//! What the candidate does with a past interview besides reading it:
//! taking it away (export: the backend's files unpacked into a folder) and
//! deleting it. The data API call (and the writing) runs off the driver
//! like every request; its outcome comes back as [`ReviewDone`]. After a
//! delete the history is reloaded, the interview's results page closes if
//! it was open, and a history answer that left the server before the delete
//! is cleaned of it.

use std::collections::HashSet;
use std::path::PathBuf;

use candor_lifecycle::{Event, InterviewView};
use tokio::sync::oneshot;

use super::{Driver, Internal};
use crate::api::{ApiFailure, AudioPart};
use crate::ipc::{Candor, ExportedInterview};

type Reply = oneshot::Sender<Result<(), String>>;
type ExportReply = oneshot::Sender<Result<ExportedInterview, String>>;
type AudioReply = oneshot::Sender<Result<AudioPart, String>>;

/// A request about a past interview.
pub(super) enum ReviewCommand {
    Delete(String, Reply),
    /// Write the interview's export into this folder (new or empty).
    Export(String, PathBuf, ExportReply),
    /// One of the interview's audio files for replay, whole or the byte
    /// range of a `Range` header.
    Audio {
        interview_id: String,
        file: String,
        range: Option<String>,
        reply: AudioReply,
    },
}

impl std::fmt::Debug for ReviewCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReviewCommand::Delete(id, _) => write!(f, "Delete({id})"),
            ReviewCommand::Export(id, dir, _) => write!(f, "Export({id}, {})", dir.display()),
            ReviewCommand::Audio {
                interview_id,
                file,
                range,
                ..
            } => write!(f, "Audio({interview_id}, {file}, {range:?})"),
        }
    }
}

/// The outcome of a [`ReviewCommand`]'s request.
pub(super) enum ReviewDone {
    Deleted {
        interview_id: String,
        result: Result<(), ApiFailure>,
        reply: Reply,
    },
}

/// What the driver remembers: the interviews deleted in this run.
#[derive(Debug, Default)]
pub(super) struct Review {
    deleted: HashSet<String>,
}

impl Review {
    /// Leaves deleted interviews out of a history loaded before (or while)
    /// they were deleted.
    pub(super) fn filter(&self, event: Event<Candor>) -> Event<Candor> {
        match event {
            Event::HistoryLoaded { mut history } if !self.deleted.is_empty() => {
                history
                    .items
                    .retain(|item| !self.deleted.contains(&item.id));
                Event::HistoryLoaded { history }
            }
            other => other,
        }
    }
}

impl Driver {
    pub(super) fn on_review_command(&mut self, command: ReviewCommand) {
        match command {
            ReviewCommand::Delete(interview_id, reply) => {
                self.delete_interview(interview_id, reply)
            }
            ReviewCommand::Export(interview_id, dir, reply) => {
                self.export_interview(interview_id, dir, reply)
            }
            ReviewCommand::Audio {
                interview_id,
                file,
                range,
                reply,
            } => self.replay_audio(interview_id, file, range, reply),
        }
    }

    /// Fetches off the driver; the reply goes straight back.
    fn replay_audio(
        &mut self,
        interview_id: String,
        file: String,
        range: Option<String>,
        reply: AudioReply,
    ) {
        let Some(token) = self.token.clone() else {
            let _ = reply.send(Err("Sign in to replay an interview.".to_owned()));
            return;
        };
        let api = self.api.clone();
        tokio::spawn(async move {
            let result = api
                .audio(&token, &interview_id, &file, range.as_deref())
                .await
                .map_err(|e| format!("Could not load the recording. {e}"));
            let _ = reply.send(result);
        });
    }

    /// Downloads and unpacks off the driver; the reply goes straight back
    /// (nothing in the lifecycle changes).
    fn export_interview(&mut self, interview_id: String, dir: PathBuf, reply: ExportReply) {
        let Some(token) = self.token.clone() else {
            let _ = reply.send(Err("Sign in to export an interview.".to_owned()));
            return;
        };
        let api = self.api.clone();
        tokio::spawn(async move {
            let result = match api.export(&token, &interview_id).await {
                Ok(zip) => tokio::task::spawn_blocking(move || {
                    crate::export::unpack(&zip, &dir)
                        .map(|written| ExportedInterview {
                            folder: std::path::absolute(&dir)
                                .unwrap_or(dir)
                                .display()
                                .to_string(),
                            files: written
                                .iter()
                                .filter_map(|p| p.file_name())
                                .map(|n| n.to_string_lossy().into_owned())
                                .collect(),
                        })
                        .map_err(|e| format!("Could not export the interview: {e}."))
                })
                .await
                .unwrap_or_else(|e| Err(format!("Could not export the interview: {e}."))),
                Err(e) => Err(format!("Could not export the interview. {e}")),
            };
            let _ = reply.send(result);
        });
    }

    fn delete_interview(&mut self, interview_id: String, reply: Reply) {
        let Some(token) = self.token.clone() else {
            let _ = reply.send(Err("Sign in to delete an interview.".to_owned()));
            return;
        };
        if !self.machine.interview_phase().is_at_rest() {
            let _ = reply.send(Err(
                "An interview is under way: finish it before deleting one.".to_owned(),
            ));
            return;
        }
        let api = self.api.clone();
        self.spawn(async move {
            let result = api.delete_interview(&token, &interview_id).await;
            Internal::Review(ReviewDone::Deleted {
                interview_id,
                result,
                reply,
            })
        });
    }

    pub(super) fn on_review_done(&mut self, done: ReviewDone) {
        match done {
            ReviewDone::Deleted {
                interview_id,
                result,
                reply,
            } => {
                let result = match result {
                    Ok(()) => {
                        self.forget_interview(interview_id);
                        Ok(())
                    }
                    Err(e) => Err(format!("Could not delete the interview. {e}")),
                };
                let _ = reply.send(result);
            }
        }
    }

    /// The interview is gone from the backend: close its results if they
    /// are open and reload the history without it.
    fn forget_interview(&mut self, interview_id: String) {
        let showing = matches!(
            self.machine.view().interview,
            InterviewView::ResultsReady { interview_id: ref shown, .. } if *shown == interview_id
        );
        self.review.deleted.insert(interview_id);
        if showing {
            self.feed(Event::Dismiss);
        }
        self.feed(Event::RefreshHistory);
    }
}
