// Generated from Candor's Rust IPC types (candor-client `ts::bindings`); do not edit.
// Regenerate with: CANDOR_BLESS=1 cargo test -p candor-desktop --test bindings

/**
 * The whole application state, as pushed to the UI after every change.
 */
export type View<Profile, History, Results> = { auth: AuthView<Profile>, interview: InterviewView<Results>, 
/**
 * The history query; `None` while signed out.
 */
history: Query<History> | null, };

/**
 * The seed's authentication table.
 */
export type AuthView<Profile> = { "state": "unauthenticated", notice: string | null, } | { "state": "authenticating" } | { "state": "authenticated", profile: Profile, };

/**
 * The seed's interview lifecycle table.
 */
export type InterviewView<Results> = { "state": "idle" } | { "state": "initializing" } | { "state": "requestingPermissions", interviewId: string, } | { "state": "permissionsDenied", interviewId: string, problem: MicProblem, message: string, } | { "state": "connecting", interviewId: string, 
/**
 * 1-based attempt number.
 */
attempt: number, maxAttempts: number, } | { "state": "live", interviewId: string, sessionId: string, } | { "state": "reconnecting", interviewId: string, sessionId: string, attempt: number, maxAttempts: number, } | { "state": "ending", interviewId: string, } | { "state": "processingResults", interviewId: string, } | { "state": "resultsReady", interviewId: string, results: Results, } | { "state": "error", interviewId: string | null, kind: FailureKind, message: string, };

/**
 * One query's state. Created in `Loading`: a query exists once it was asked for.
 */
export type Query<T> = { "state": "loading", previous: T | null, } | { "state": "success", data: T, } | { "state": "error", message: string, previous: T | null, };

/**
 * How a failure should be treated.
 */
export type FailureKind = "unauthenticated" | "retryable" | "fatal";

/**
 * Why the microphone could not be opened.
 */
export type MicProblem = "denied" | "noDevice" | "failed";

export type Profile = { name: string, email: string | null, 
/**
 * True for the local offline profile (embedded backend, no account).
 */
offline: boolean, };

export type InterviewStatus = "created" | "live" | "processing" | "ready" | "failed";

/**
 * The history the dashboard lists: the newest interviews, as many as the
 * candidate asked to see.
 */
export type History = { 
/**
 * Newest first.
 */
items: Array<InterviewSummary>, 
/**
 * Older interviews exist beyond these ("Show more").
 */
hasMore: boolean, };

export type InterviewSummary = { id: string, role: Role, seniority: Seniority, 
/**
 * RFC 3339.
 */
createdAt: string, status: InterviewStatus, durationSec: number | null, 
/**
 * 0–100, when results are ready.
 */
overallScore: number | null, 
/**
 * Each score, when results are ready (what the dashboard's progress
 * charts draw).
 */
scores: Array<ScorePoint>, 
/**
 * Set when the interview answered one question of another again.
 */
retryOf: RetryOf | null, };

/**
 * One score of a past interview.
 */
export type ScorePoint = { key: string, label: string, 
/**
 * 0–100.
 */
value: number, };

/**
 * The feedback page.
 */
export type Results = { interviewId: string, role: Role, seniority: Seniority, 
/**
 * The interviewer that ran it: `practice` (offline) or `gemini`; empty
 * when reviewing past results.
 */
engine: string, 
/**
 * RFC 3339.
 */
completedAt: string, durationSec: number, 
/**
 * The questions the interview was set up with (`questions` holds those
 * asked: fewer when it ended early).
 */
questionsPlanned: number, overall: OverallMetrics, 
/**
 * Each score explained by the numbers it comes from.
 */
scores: Array<Score>, questions: Array<QuestionFeedback>, transcript: Array<TranscriptLine>, 
/**
 * The AI interviewer's written assessment of the transcript, when one
 * was made.
 */
assessment: Assessment | null, 
/**
 * Why there is no assessment although one was attempted (the results
 * then hold the measured metrics only).
 */
assessmentUnavailable: string | null, 
/**
 * The job description's key terms the candidate used and missed (when
 * a description was given and the candidate's words are known).
 */
jobTerms: JobTerms | null, 
/**
 * The candidate's most used words, most used first (when the words are
 * known).
 */
mostUsedWords: Array<WordCount>, 
/**
 * Whether the recording holds the interviewer's voice too (interviews
 * recorded before Candor kept it hold the candidate's only).
 */
interviewerVoice: boolean, 
/**
 * Set when this interview answered one question of another again.
 */
retryOf: RetryOf | null, 
/**
 * Every attempt at a question this interview shares with others
 * (oldest first; empty when nothing was answered again).
 */
attempts: Array<Attempt>, };

/**
 * An AI model's assessment of the interview transcript.
 */
export type Assessment = { 
/**
 * The model that wrote it.
 */
model: string, 
/**
 * Two or three sentences on the interview as a whole.
 */
summary: string, 
/**
 * One score per category, each with its reason.
 */
scores: Array<AssessmentScore>, strengths: Array<string>, improvements: Array<string>, 
/**
 * The weakest answer, and a stronger one built from what was said.
 */
weakestAnswer: BetterAnswer | null, };

export type AssessmentScore = { label: string, 
/**
 * 0–100.
 */
score: number, reason: string, };

export type BetterAnswer = { question: string, 
/**
 * What the answer lacked.
 */
why: string, betterAnswer: string, };

export type OverallMetrics = { 
/**
 * Candidate speaking time / total speaking time, 0–1.
 */
talkTimeRatio: number, candidateSpeakingSec: number, interviewerSpeakingSec: number, longestMonologueSec: number, interruptions: number, 
/**
 * Mean time from a question's end to the candidate starting, seconds.
 */
averageResponseLatencySec: number | null, 
/**
 * Only when a transcript of the candidate exists.
 */
wordsPerMinute: number | null, fillerWords: number | null, };

export type Score = { key: string, label: string, 
/**
 * 0–100.
 */
score: number, 
/**
 * Plain-language explanation citing the numbers.
 */
explanation: string, };

export type QuestionFeedback = { 
/**
 * 1-based.
 */
index: number, question: string, answerSec: number, responseLatencySec: number | null, pauses: number, longestPauseSec: number, note: string, };

export type TranscriptLine = { speaker: Speaker, text: string, startSec: number, endSec: number, 
/**
 * The question the line belongs to (0: the greeting).
 */
questionIndex: number, };

/**
 * Coverage of the job description's key terms.
 */
export type JobTerms = { used: Array<string>, missing: Array<string>, };

/**
 * A word and how often the candidate said it.
 */
export type WordCount = { word: string, count: number, };

/**
 * The question of a past interview to answer again.
 */
export type RetryTarget = { interviewId: string, 
/**
 * 1-based, as in that interview's results.
 */
questionIndex: number, };

/**
 * The question an interview answers again, and where it was first asked.
 */
export type RetryOf = { 
/**
 * The interview the question was first asked in (it may since have
 * been deleted).
 */
interviewId: string, 
/**
 * 1-based index of the question there.
 */
questionIndex: number, question: string, };

/**
 * One answer to a question that was answered more than once: what the
 * results page puts side by side.
 */
export type Attempt = { 
/**
 * The interview the answer was given in.
 */
interviewId: string, 
/**
 * RFC 3339: when that interview was created.
 */
createdAt: string, 
/**
 * The question's 1-based index in the interview that first asked it
 * (the same for every attempt at it).
 */
questionIndex: number, 
/**
 * The first answer, not a retry.
 */
first: boolean, answered: boolean, answerSec: number, speakingSec: number, responseLatencySec: number | null, pauses: number, longestPauseSec: number, 
/**
 * Only when a transcript of the answer exists.
 */
wordsPerMinute: number | null, fillerWords: number | null, };

export type Speaker = "interviewer" | "candidate";

/**
 * Everything the engine pushes, in order.
 */
export type EngineEvent = { "type": "view", view: View<Profile, History, Results>, } | { "type": "transcript", speaker: Speaker, segmentId: number, text: string, isFinal: boolean, startMs: number, } | { "type": "level", level: number, voice: boolean, } | { "type": "echo", strong: boolean, } | { "type": "interviewer", activity: Activity, questionIndex: number, questionCount: number, } | { "type": "stats", elapsedMs: number, uplinkKbps: number, bufferedMs: number, muted: boolean, } | { "type": "devices", devices: DeviceList, } | { "type": "notice", level: NoticeLevel, message: string, } | { "type": "speechModels", models: SpeechModels, } | { "type": "modelDownload", id: string, downloadedBytes: number, totalBytes: number, } | { "type": "sessionSummary", framesSent: number, framesStored: number, framesLost: number, };

/**
 * What the interviewer is doing (from `InterviewerState`).
 */
export type Activity = "speaking" | "listening" | "thinking";

export type NoticeLevel = "info" | "warning";

export type AudioDevice = { id: string, name: string, isDefault: boolean, };

export type DeviceList = { inputs: Array<AudioDevice>, outputs: Array<AudioDevice>, selectedInput: string | null, selectedOutput: string | null, };

/**
 * What the user chose on the dashboard.
 */
export type InterviewSetup = { role: Role, seniority: Seniority, jobDescription: string | null, cvText: string | null, questionCount: number, 
/**
 * Answer one question of a past interview again (then the interview
 * asks that question only, with the original's role and texts).
 */
retry: RetryTarget | null, };

/**
 * The roles with question banks. On the wire (IPC, `--json`, the CLI's
 * `--role`) by their UI ids: `software-engineer`, `product-manager`,
 * `data-scientist`, `behavioural`.
 */
export type Role = "software-engineer" | "product-manager" | "data-scientist" | "behavioural";

/**
 * How senior the interview is pitched. On the wire: `junior`, `mid`, `senior`.
 */
export type Seniority = "junior" | "mid" | "senior";

/**
 * App settings the user can change.
 */
export type Settings = { 
/**
 * Hosted backend URL; `None` uses the embedded offline backend.
 */
backendUrl: string | null, 
/**
 * Echo cancellation (turn off with headphones).
 */
echoCancellation: boolean, };

/**
 * What the About dialog shows: the app's version, where it keeps things on
 * this computer, and the third-party components built into it.
 */
export type About = { version: string, 
/**
 * Candor's own licence (SPDX expression).
 */
licence: string, locations: AppLocations, 
/**
 * The third-party components compiled into the app, most visible first.
 */
components: Array<BundledComponent>, };

/**
 * An interview written to a folder (its voice, transcript and report).
 */
export type ExportedInterview = { 
/**
 * The folder, an absolute path.
 */
folder: string, 
/**
 * The file names written into it.
 */
files: Array<string>, };

/**
 * Where the desktop app keeps its things (absolute paths).
 */
export type AppLocations = { 
/**
 * The offline backend's database and the downloaded speech models.
 */
data: string, 
/**
 * `candor.log` and older logs.
 */
logs: string, 
/**
 * `settings.json` and the window's size and position.
 */
settings: string, };

/**
 * A third-party component built into the app and its licence.
 */
export type BundledComponent = { name: string, 
/**
 * What Candor uses it for, in a few words.
 */
purpose: string, 
/**
 * SPDX licence expression.
 */
licence: string, 
/**
 * The project's home page.
 */
url: string, };

/**
 * The speech models the offline interviewer can hear the candidate with,
 * as the settings show them (the catalog with what is on disk).
 */
export type SpeechModels = { 
/**
 * Where models download from (`<url>/<model id>/<file>`); `None`: no
 * source is set, so nothing can be downloaded.
 */
source: ModelSource | null, 
/**
 * The catalog, in its order (the default model first).
 */
models: Array<SpeechModelInfo>, 
/**
 * The model the offline interviewer hears with (an id of `models`);
 * `None`: answers are timed but not transcribed.
 */
inUse: string | null, 
/**
 * False when a hosted backend runs the interviews: the models then
 * wait for offline practice.
 */
offlineInterviewer: boolean, };

/**
 * The configured model source.
 */
export type ModelSource = { url: string, 
/**
 * Set by the `CANDOR_MODEL_SOURCE` environment variable rather than the
 * settings.
 */
fromEnvironment: boolean, };

/**
 * One catalog model: what it is, what it costs, whether it is on disk.
 */
export type SpeechModelInfo = { id: string, name: string, languages: string, 
/**
 * What it costs in processor time.
 */
speed: string, 
/**
 * How well it transcribes.
 */
quality: string, 
/**
 * Bytes to download, and to keep on disk once installed.
 */
sizeBytes: number, state: SpeechModelState, 
/**
 * Why the last download or load of it failed (until the next attempt).
 */
error: string | null, };

/**
 * Whether a model is on disk.
 */
export type SpeechModelState = { "state": "absent" } | { "state": "partial", downloadedBytes: number, } | { "state": "downloading", downloadedBytes: number, } | { "state": "installed" };

/**
 * Every command the UI may call (Tauri `invoke` names): the desktop shell's
 * one list, `src-tauri/src/command_list.rs`.
 */
export type CommandName = "subscribe" | "sign_in" | "create_account" | "continue_offline" | "sign_out" | "refresh_history" | "show_more_history" | "start_interview" | "retry_permissions" | "cancel_interview" | "end_interview" | "dismiss" | "set_muted" | "list_devices" | "choose_devices" | "get_settings" | "save_settings" | "open_results" | "export_interview" | "delete_interview" | "speech_models" | "download_speech_model" | "cancel_speech_model_download" | "delete_speech_model" | "choose_speech_model" | "set_speech_model_source" | "about" | "diagnostics" | "copy_diagnostics" | "open_logs_folder" | "open_component_page";
