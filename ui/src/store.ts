// The latest of everything the core has pushed. No lifecycle logic lives here:
// the view is whatever the core last said; the live data (transcript, level,
// interviewer, stats) is kept for the interview it belongs to.
import type { DeviceList, EngineEvent, Speaker, View } from "./ipc/contract";

export interface Segment {
  segmentId: number;
  speaker: Speaker;
  text: string;
  isFinal: boolean;
  startMs: number;
}

export interface InterviewerActivity {
  activity: "speaking" | "listening" | "thinking";
  questionIndex: number;
  questionCount: number;
}

export interface Stats {
  elapsedMs: number;
  uplinkKbps: number;
  bufferedMs: number;
  muted: boolean;
}

export interface LiveData {
  interviewId: string | null;
  segments: Map<number, Segment>;
  level: number;
  voice: boolean;
  /** The speakers feed back into the microphone (echo stays strong). */
  strongEcho: boolean;
  interviewer: InterviewerActivity | null;
  stats: Stats | null;
}

function emptyLive(interviewId: string | null): LiveData {
  return { interviewId, segments: new Map(), level: 0, voice: false, strongEcho: false, interviewer: null, stats: null };
}

/** The interview an in-call state belongs to, or null outside a call. */
function callInterviewId(view: View): string | null {
  const iv = view.interview;
  switch (iv.state) {
    case "connecting":
    case "live":
    case "reconnecting":
    case "ending":
      return iv.interviewId;
    default:
      return null;
  }
}

export class Store {
  view: View | null = null;
  devices: DeviceList | null = null;
  live: LiveData = emptyLive(null);
  private listeners = new Set<(event: EngineEvent) => void>();

  listen(fn: (event: EngineEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  handle(event: EngineEvent): void {
    switch (event.type) {
      case "view": {
        this.view = event.view;
        const id = callInterviewId(event.view);
        if (id !== null && id !== this.live.interviewId) this.live = emptyLive(id);
        break;
      }
      case "transcript": {
        this.live.segments.set(event.segmentId, {
          segmentId: event.segmentId,
          speaker: event.speaker,
          text: event.text,
          isFinal: event.isFinal,
          startMs: event.startMs,
        });
        break;
      }
      case "level":
        this.live.level = event.level;
        this.live.voice = event.voice;
        break;
      case "echo":
        this.live.strongEcho = event.strong;
        break;
      case "interviewer":
        this.live.interviewer = {
          activity: event.activity,
          questionIndex: event.questionIndex,
          questionCount: event.questionCount,
        };
        break;
      case "stats":
        this.live.stats = {
          elapsedMs: event.elapsedMs,
          uplinkKbps: event.uplinkKbps,
          bufferedMs: event.bufferedMs,
          muted: event.muted,
        };
        break;
      case "devices":
        this.devices = event.devices;
        break;
      case "notice":
      case "speechModels":
      case "modelDownload":
        break;
    }
    for (const fn of this.listeners) fn(event);
  }
}
