// The IPC contract between Candor's Rust core and this UI.
//
// The Rust core owns every state; the UI renders what it is pushed and sends
// intents. The data types and the command names are generated from the Rust
// side into `generated.ts` (never edit that file; the Rust test suite fails
// when it is stale). This module names the concrete view types, and gives each
// command its arguments and result; the type checks below fail the build when
// these lists drift from the generated ones.

import type * as G from "./generated";
import type { About, CommandName, DeviceList, ExportedInterview, InterviewSetup, Role, Settings, SpeechModels } from "./generated";

export type {
  About,
  ExportedInterview,
  History,
  ScorePoint,
  AppLocations,
  BundledComponent,
  Activity,
  Assessment,
  AssessmentScore,
  Attempt,
  RetryOf,
  RetryTarget,
  BetterAnswer,
  AudioDevice,
  DeviceList,
  EngineEvent,
  FailureKind,
  InterviewSetup,
  InterviewStatus,
  InterviewSummary,
  MicProblem,
  NoticeLevel,
  OverallMetrics,
  Profile,
  Query,
  QuestionFeedback,
  Results,
  Role,
  Score,
  Seniority,
  Settings,
  Speaker,
  SpeechModelInfo,
  SpeechModelState,
  SpeechModels,
  ModelSource,
  TranscriptLine,
  CommandName,
} from "./generated";

/** The whole application state, pushed after every change. */
export type View = G.View<G.Profile, G.History, G.Results>;
/** The seed's authentication table. */
export type AuthView = G.AuthView<G.Profile>;
/** The seed's interview lifecycle table. */
export type InterviewView = G.InterviewView<G.Results>;

// ---------------------------------------------------------------- commands

/** Roles the offline interviewer has question banks for. */
export const ROLES = [
  { id: "software-engineer", label: "Software engineer" },
  { id: "product-manager", label: "Product manager" },
  { id: "data-scientist", label: "Data scientist" },
  { id: "behavioural", label: "Behavioural (any role)" },
] as const satisfies readonly { id: Role; label: string }[];

/**
 * Commands (Tauri `invoke` names and argument objects). Every command returns
 * a Promise; errors reject with a string fit for the user.
 */
export interface Commands {
  /** Starts pushing EngineEvents on `onEvent`, in batches; the first is the current view. */
  subscribe: { args: { onEvent: unknown /* Channel<EngineEvent[]> */ }; result: void };
  sign_in: { args: { email: string; password: string }; result: void };
  /** Registers an account on the backend, then signs in to it. */
  create_account: { args: { email: string; password: string }; result: void };
  /** Local profile on the embedded backend, no account. */
  continue_offline: { args: { name: string }; result: void };
  sign_out: { args: Record<string, never>; result: void };
  refresh_history: { args: Record<string, never>; result: void };
  /** Lists another page of older interviews. */
  show_more_history: { args: Record<string, never>; result: void };
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
  /** Asks where to save (the native save dialog, `suggestedName` filled in) and writes the interview there as a new folder; null when the dialog was cancelled. */
  export_interview: { args: { interviewId: string; suggestedName: string }; result: ExportedInterview | null };
  /** Deletes a past interview and everything stored for it; the history reloads without it. */
  delete_interview: { args: { interviewId: string }; result: void };
  /** The speech models: catalog, what is on disk, the one in use, the source. */
  speech_models: { args: Record<string, never>; result: SpeechModels };
  /** Starts (or resumes) a download; `modelDownload` and `speechModels` events follow it. */
  download_speech_model: { args: { id: string }; result: void };
  /** Cancels a download; nothing of it is kept. */
  cancel_speech_model_download: { args: { id: string }; result: void };
  /** Deletes a model (refused for the one in use while an interview runs). */
  delete_speech_model: { args: { id: string }; result: void };
  /** The model the offline interviewer hears with from the next interview (saved). */
  choose_speech_model: { args: { id: string }; result: void };
  /** Sets the model source, or clears it with null (saved, applied at once). */
  set_speech_model_source: { args: { source: string | null }; result: void };
  /** The version, where data and logs live, and the built-in components' licences. */
  about: { args: Record<string, never>; result: About };
  /** The plain-text report for a bug report (no account, token or password in it). */
  diagnostics: { args: Record<string, never>; result: string };
  /** Copies that report to the clipboard and returns it. */
  copy_diagnostics: { args: Record<string, never>; result: string };
  /** Opens the logs folder in the file manager. */
  open_logs_folder: { args: Record<string, never>; result: void };
  /** Opens the home page of a component listed in About, in the browser. */
  open_component_page: { args: { name: string }; result: void };
}

// ---------------------------------------------------------- drift checks

/** `true` when `A` and `B` are the same union, else `false`. */
type SameUnion<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

// Each line fails to type-check when its two lists differ.
true satisfies SameUnion<keyof Commands, CommandName>;
true satisfies SameUnion<(typeof ROLES)[number]["id"], Role>;
