//! The IPC types as TypeScript, for the desktop UI (`ui/src/ipc/generated.ts`).
//!
//! The UI's contract is generated from the Rust types rather than written by
//! hand, so the two cannot drift: the desktop package's tests regenerate it
//! and fail when the committed file differs (`CANDOR_BLESS=1` rewrites it).
//! The command names come from the desktop shell's one list of commands,
//! which it passes in.

use ts_rs::{Config, TS};

use crate::ipc::{
    About, Activity, AppLocations, Assessment, AssessmentScore, Attempt, AudioDevice, BetterAnswer,
    BundledComponent, DeviceList, EngineEvent, ExportedInterview, History, InterviewSetup,
    InterviewStatus, InterviewSummary, JobTerms, ModelSource, NoticeLevel, OverallMetrics, Profile,
    QuestionFeedback, Results, RetryOf, RetryTarget, Role, Score, ScorePoint, Seniority, Settings,
    Speaker, SpeechModelInfo, SpeechModelState, SpeechModels, TranscriptLine, View, WordCount,
};
use candor_lifecycle::{AuthView, FailureKind, InterviewView, MicProblem, Query};

const HEADER: &str = "\
// Generated from Candor's Rust IPC types (candor-client `ts::bindings`); do not edit.
// Regenerate with: CANDOR_BLESS=1 cargo test -p candor-desktop --test bindings
";

/// Every type the UI receives or sends, and the names of the `commands` it
/// may call (`CommandName`), as one TypeScript module.
pub fn bindings(commands: &[&str]) -> String {
    let cfg = Config::new().with_large_int("number");
    let mut out = String::from(HEADER);
    let mut add = |docs: Option<String>, decl: String| {
        out.push('\n');
        if let Some(docs) = docs {
            out.push_str(&docs);
        }
        out.push_str("export ");
        out.push_str(&decl);
        out.push('\n');
    };
    // The view types are generic in the core (its payloads are the
    // embedder's); `ui/src/ipc/contract.ts` names the concrete ones.
    add(View::docs(), View::decl(&cfg));
    add(AuthView::<Profile>::docs(), AuthView::<Profile>::decl(&cfg));
    add(
        InterviewView::<Results>::docs(),
        InterviewView::<Results>::decl(&cfg),
    );
    add(Query::<()>::docs(), Query::<()>::decl(&cfg));
    add(FailureKind::docs(), FailureKind::decl(&cfg));
    add(MicProblem::docs(), MicProblem::decl(&cfg));
    add(Profile::docs(), Profile::decl(&cfg));
    add(InterviewStatus::docs(), InterviewStatus::decl(&cfg));
    add(History::docs(), History::decl(&cfg));
    add(InterviewSummary::docs(), InterviewSummary::decl(&cfg));
    add(ScorePoint::docs(), ScorePoint::decl(&cfg));
    add(Results::docs(), Results::decl(&cfg));
    add(Assessment::docs(), Assessment::decl(&cfg));
    add(AssessmentScore::docs(), AssessmentScore::decl(&cfg));
    add(BetterAnswer::docs(), BetterAnswer::decl(&cfg));
    add(OverallMetrics::docs(), OverallMetrics::decl(&cfg));
    add(Score::docs(), Score::decl(&cfg));
    add(QuestionFeedback::docs(), QuestionFeedback::decl(&cfg));
    add(TranscriptLine::docs(), TranscriptLine::decl(&cfg));
    add(JobTerms::docs(), JobTerms::decl(&cfg));
    add(WordCount::docs(), WordCount::decl(&cfg));
    add(RetryTarget::docs(), RetryTarget::decl(&cfg));
    add(RetryOf::docs(), RetryOf::decl(&cfg));
    add(Attempt::docs(), Attempt::decl(&cfg));
    add(Speaker::docs(), Speaker::decl(&cfg));
    add(EngineEvent::docs(), EngineEvent::decl(&cfg));
    add(Activity::docs(), Activity::decl(&cfg));
    add(NoticeLevel::docs(), NoticeLevel::decl(&cfg));
    add(AudioDevice::docs(), AudioDevice::decl(&cfg));
    add(DeviceList::docs(), DeviceList::decl(&cfg));
    add(InterviewSetup::docs(), InterviewSetup::decl(&cfg));
    add(Role::docs(), Role::decl(&cfg));
    add(Seniority::docs(), Seniority::decl(&cfg));
    add(Settings::docs(), Settings::decl(&cfg));
    add(About::docs(), About::decl(&cfg));
    add(ExportedInterview::docs(), ExportedInterview::decl(&cfg));
    add(AppLocations::docs(), AppLocations::decl(&cfg));
    add(BundledComponent::docs(), BundledComponent::decl(&cfg));
    add(SpeechModels::docs(), SpeechModels::decl(&cfg));
    add(ModelSource::docs(), ModelSource::decl(&cfg));
    add(SpeechModelInfo::docs(), SpeechModelInfo::decl(&cfg));
    add(SpeechModelState::docs(), SpeechModelState::decl(&cfg));
    add(Some(COMMAND_DOCS.to_owned()), command_names(commands));
    out
}

const COMMAND_DOCS: &str = "\
/**
 * Every command the UI may call (Tauri `invoke` names): the desktop shell's
 * one list, `src-tauri/src/command_list.rs`.
 */
";

/// `type CommandName = "a" | "b";` — the names as a union of string literals.
fn command_names(commands: &[&str]) -> String {
    let names: Vec<String> = commands.iter().map(|name| format!("{name:?}")).collect();
    format!("type CommandName = {};", names.join(" | "))
}
