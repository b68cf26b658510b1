// The IPC contract between Candor's Rust core and this UI.
//
// The Rust core owns every state; the UI renders what it is pushed and sends
// intents. These shapes mirror the Rust types (serde, camelCase). They will be
// generated from the Rust types; until then this file is the single place the
// UI learns them — do not redeclare them elsewhere.

// ---------------------------------------------------------------- view (state)

/** The whole application state, pushed after every change. */
export interface View {
  auth: AuthView;
  interview: InterviewView;
  /** The history query; null while signed out. */
  history: Query<InterviewSummary[]> | null;
}

/** The seed's authentication table. */
export type AuthView =
  | { state: "unauthenticated"; notice: string | null }
  | { state: "authenticating" }
  | { state: "authenticated"; profile: Profile };

export interface Profile {
  name: string;
  email: string | null;
  /** True for the local offline profile (embedded backend, no account). */
  offline: boolean;
}

export type MicProblem = "denied" | "noDevice" | "failed";
export type FailureKind = "unauthenticated" | "retryable" | "fatal";

/** The seed's interview lifecycle table. */
export type InterviewView =
  | { state: "idle" }
  | { state: "initializing" }
  | { state: "requestingPermissions"; interviewId: string }
  | { state: "permissionsDenied"; interviewId: string; problem: MicProblem; message: string }
  | { state: "connecting"; interviewId: string; attempt: number; maxAttempts: number }
  | { state: "live"; interviewId: string; sessionId: string }
  | { state: "reconnecting"; interviewId: string; sessionId: string; attempt: number; maxAttempts: number }
  | { state: "ending"; interviewId: string }
  | { state: "processingResults"; interviewId: string }
  | { state: "resultsReady"; interviewId: string; results: Results }
  | { state: "error"; interviewId: string | null; kind: FailureKind; message: string };

/** The seed's data-fetching table, per query. */
export type Query<T> =
  | { state: "loading"; previous: T | null }
  | { state: "success"; data: T }
  | { state: "error"; message: string; previous: T | null };

export type InterviewStatus = "created" | "live" | "processing" | "ready" | "failed";

export interface InterviewSummary {
  id: string;
  role: string;
  seniority: string;
  /** ISO 8601. */
  createdAt: string;
  status: InterviewStatus;
  durationSec: number | null;
  /** 0–100, when results are ready. */
  overallScore: number | null;
}

// ---------------------------------------------------------------- results

export interface Results {
  interviewId: string;
  role: string;
  seniority: string;
  /** "practice" (offline interviewer) or "gemini". */
  engine: string;
  /** ISO 8601. */
  completedAt: string;
  durationSec: number;
  overall: OverallMetrics;
  /** Each score explained by the numbers it comes from. */
  scores: Score[];
  questions: QuestionFeedback[];
  transcript: TranscriptLine[];
}

export interface OverallMetrics {
  /** Candidate speaking time / total speaking time, 0–1. */
  talkTimeRatio: number;
  candidateSpeakingSec: number;
  interviewerSpeakingSec: number;
  longestMonologueSec: number;
  interruptions: number;
  /** Mean time from question end to the candidate starting, seconds. */
  averageResponseLatencySec: number | null;
  /** Only when a transcript of the candidate exists (Gemini mode). */
  wordsPerMinute: number | null;
  fillerWords: number | null;
}

export interface Score {
  key: string;
  label: string;
  /** 0–100. */
  score: number;
  /** Plain-language explanation citing the numbers. */
  explanation: string;
}

export interface QuestionFeedback {
  /** 1-based. */
  index: number;
  question: string;
  answerSec: number;
  responseLatencySec: number | null;
  pauses: number;
  longestPauseSec: number;
  note: string;
}

export interface TranscriptLine {
  speaker: Speaker;
  text: string;
  startSec: number;
  endSec: number;
}

export type Speaker = "interviewer" | "candidate";

// ---------------------------------------------------------------- events

/** Everything the core pushes, in order, on the channel given to `subscribe`. */
export type EngineEvent =
  | { type: "view"; view: View }
  /** Live transcript: within a segmentId each message replaces the text; isFinal settles it. */
  | { type: "transcript"; speaker: Speaker; segmentId: number; text: string; isFinal: boolean; startMs: number }
  /** Input level for the mic meter, at most 30 per second. level is 0–1 (perceptual). */
  | { type: "level"; level: number; voice: boolean }
  | { type: "interviewer"; activity: "speaking" | "listening" | "thinking"; questionIndex: number; questionCount: number }
  /** Once per second while live. */
  | { type: "stats"; elapsedMs: number; uplinkKbps: number; bufferedMs: number; muted: boolean }
  | { type: "devices"; devices: DeviceList }
  /** Something to tell the user that is not a state (e.g. "Microphone switched to the default device"). */
  | { type: "notice"; level: "info" | "warning"; message: string }
  /** When a session ends: candidate audio frames sent, stored by the server, and lost. */
  | { type: "sessionSummary"; framesSent: number; framesStored: number; framesLost: number };

export interface AudioDevice {
  id: string;
  name: string;
  isDefault: boolean;
}

export interface DeviceList {
  inputs: AudioDevice[];
  outputs: AudioDevice[];
  selectedInput: string | null;
  selectedOutput: string | null;
}

// ---------------------------------------------------------------- commands

export interface InterviewSetup {
  role: string;
  seniority: "junior" | "mid" | "senior";
  jobDescription: string | null;
  cvText: string | null;
  questionCount: number;
}

export interface Settings {
  /** Hosted backend URL; null uses the embedded offline backend. */
  backendUrl: string | null;
  /** Echo cancellation (turn off with headphones). */
  echoCancellation: boolean;
}

/** Roles the offline interviewer has question banks for. */
export const ROLES = [
  { id: "software-engineer", label: "Software engineer" },
  { id: "product-manager", label: "Product manager" },
  { id: "data-scientist", label: "Data scientist" },
  { id: "behavioural", label: "Behavioural (any role)" },
] as const;

/**
 * Commands (Tauri `invoke` names and argument objects). Every command returns
 * a Promise; errors reject with a string fit for the user.
 */
export interface Commands {
  /** Starts pushing EngineEvents on `onEvent`; the first is the current view. */
  subscribe: { args: { onEvent: unknown /* Channel<EngineEvent> */ }; result: void };
  sign_in: { args: { email: string; password: string }; result: void };
  /** Local profile on the embedded backend, no account. */
  continue_offline: { args: { name: string }; result: void };
  sign_out: { args: Record<string, never>; result: void };
  refresh_history: { args: Record<string, never>; result: void };
  start_interview: { args: { setup: InterviewSetup }; result: void };
  retry_permissions: { args: Record<string, never>; result: void };
  cancel_interview: { args: Record<string, never>; result: void };
  end_interview: { args: Record<string, never>; result: void };
  /** Leave resultsReady / error / permissionsDenied for the dashboard. */
  dismiss: { args: Record<string, never>; result: void };
  set_muted: { args: { muted: boolean }; result: void };
  list_devices: { args: Record<string, never>; result: DeviceList };
  choose_devices: { args: { input: string | null; output: string | null }; result: void };
  get_settings: { args: Record<string, never>; result: Settings };
  save_settings: { args: { settings: Settings }; result: void };
  /** Opens the results of a past interview from the history (resultsReady view). */
  open_results: { args: { interviewId: string }; result: void };
}

export type CommandName = keyof Commands;
