// Listening back to a finished interview: one player for the candidate's
// recorded voice (the whole interview, or one answer), fetched through the
// desktop shell's own `replay` protocol so the window's CSP stays closed to
// the network. WebKitGTK cannot play media straight from a custom scheme
// (WebKit bug 146351: MEDIA_ERR_SRC_NOT_SUPPORTED), so the recording is
// fetched whole (Opus: about 150 kB a minute) and played from a Blob. While
// the whole interview plays, the transcript line being spoken is marked and
// followed; a line's time jumps there.
import { h } from "../dom";
import { icon } from "../icons";
import type { TranscriptLine } from "../ipc/contract";
import { clock } from "../format";

/** The URL of one of an interview's audio files through the app. */
export function replayUrl(interviewId: string, file: string): string {
  const internals = (window as unknown as { __TAURI_INTERNALS__?: { convertFileSrc?: (path: string, protocol: string) => string } }).__TAURI_INTERNALS__;
  const path = `${interviewId}/${file}`;
  return internals?.convertFileSrc ? internals.convertFileSrc(path, "replay") : `replay://localhost/${encodeURIComponent(path)}`;
}

/** Where question `index` is asked and where the next one is (null: the
 *  end), on the recording's clock; null when the transcript does not say. */
export function exchangeOf(lines: TranscriptLine[], index: number): { fromSec: number; toSec: number | null } | null {
  const asked = lines.find((l) => l.speaker === "interviewer" && l.questionIndex === index);
  if (!asked) return null;
  const next = lines.find((l) => l.speaker === "interviewer" && l.questionIndex > index && l.startSec > asked.startSec);
  return { fromSec: asked.startSec, toSec: next ? next.startSec : null };
}

function answerFile(questionIndex: number): string {
  return `answer-${String(questionIndex).padStart(2, "0")}.ogg`;
}

export interface ReplayPlayer {
  /** The player's card. */
  root: HTMLElement;
  /** Plays one answer (the candidate's voice alone) from its start. */
  playAnswer(questionIndex: number): void;
  /** Plays question `questionIndex` and its answer: the whole interview
   *  from `fromSec`, stopping at `toSec` (null: to the end). */
  playExchange(questionIndex: number, fromSec: number, toSec: number | null): void;
  /** Plays the whole interview from `sec`. */
  playFrom(sec: number): void;
  /** The transcript lines (in order) to mark while the whole interview plays. */
  follow(lines: HTMLElement[], times: TranscriptLine[]): void;
  /** Stops playing and frees the recordings held. */
  destroy(): void;
}

/** How near its end a stopped recording counts as played through (s). */
const END_SLACK_SEC = 0.05;

const UNAVAILABLE = "This recording could not be loaded. Candor keeps your voice only for interviews recorded on this backend.";

export function replayPlayer(interviewId: string): ReplayPlayer {
  const audio = h("audio", { preload: "metadata", "data-testid": "replay-audio" });
  const toggle = h("button", { class: "button primary replay-toggle", type: "button", "data-action": "replay-toggle", "aria-label": "Play" }, icon("play"));
  const seek = h("input", { class: "replay-seek", type: "range", min: "0", max: "0", step: "0.1", value: "0", "aria-label": "Position in the recording", "data-testid": "replay-seek" });
  const time = h("span", { class: "replay-time", "data-testid": "replay-time" }, "00:00 / --:--");
  const what = h("p", { class: "replay-what", "data-testid": "replay-what" }, "The whole interview");
  const problem = h("p", { class: "replay-problem", role: "status", hidden: true, "data-testid": "replay-problem" });
  const root = h("div", { class: "card replay", "data-testid": "replay" }, audio, what,
    h("div", { class: "replay-controls" }, toggle, seek, time), problem);

  let source = "";
  let file = "";
  let lines: HTMLElement[] = [];
  let times: TranscriptLine[] = [];
  let current = -1;
  let seeking = false;
  let pendingStart: number | null = null;
  /** Where an exchange being played stops (s), if it does. */
  let stopAt: number | null = null;

  /** Object URLs of the recordings fetched, by file. */
  const blobs = new Map<string, string>();
  let inFlight: AbortController | null = null;
  let playWhenLoaded = false;

  function fail(message: string): void {
    problem.textContent = message;
    problem.hidden = false;
    toggle.disabled = true;
    seek.disabled = true;
    render();
  }

  function load(name: string, label: string): void {
    what.textContent = label;
    if (file === name) return;
    file = name;
    mark(-1);
    problem.hidden = true;
    toggle.disabled = false;
    seek.disabled = false;
    audio.pause();
    const cached = blobs.get(name);
    if (cached) {
      source = cached;
      audio.src = cached;
      return;
    }
    inFlight?.abort();
    const abort = new AbortController();
    inFlight = abort;
    source = "";
    audio.removeAttribute("src");
    audio.load();
    time.textContent = "Loading…";
    root.setAttribute("aria-busy", "true");
    void (async () => {
      try {
        const res = await fetch(replayUrl(interviewId, name), { signal: abort.signal });
        if (!res.ok) throw new Error(`status ${res.status}`);
        const url = URL.createObjectURL(await res.blob());
        blobs.set(name, url);
        if (file !== name) return;
        source = url;
        audio.src = url;
        if (playWhenLoaded) play();
      } catch {
        if (!abort.signal.aborted && file === name) fail(UNAVAILABLE);
      } finally {
        if (inFlight === abort) {
          inFlight = null;
          root.removeAttribute("aria-busy");
        }
      }
    })();
  }

  /** At the end of the recording, whether or not the element said so
   *  (WebKit may stop a Blob there, paused, without `ended`). */
  function atEnd(): boolean {
    return audio.ended || (Number.isFinite(audio.duration) && audio.duration > 0 && audio.currentTime >= audio.duration - END_SLACK_SEC);
  }

  function play(): void {
    if (!source) {
      playWhenLoaded = true;
      return;
    }
    playWhenLoaded = false;
    void audio.play().catch(() => {
      // A failed load reports itself through the element's error event.
    });
  }

  function render(): void {
    const dur = Number.isFinite(audio.duration) ? audio.duration : 0;
    seek.max = String(dur);
    if (!seeking) seek.value = String(audio.currentTime);
    time.textContent = `${clock(audio.currentTime)} / ${dur > 0 ? clock(dur) : "--:--"}`;
    const playing = !audio.paused && !atEnd();
    toggle.replaceChildren(icon(playing ? "pause" : "play"));
    toggle.setAttribute("aria-label", playing ? "Pause" : "Play");
    root.classList.toggle("playing", playing);
  }

  function mark(index: number): void {
    if (index === current) return;
    lines[current]?.classList.remove("current");
    lines[current]?.removeAttribute("aria-current");
    current = index;
    const line = lines[current];
    if (line) {
      line.classList.add("current");
      line.setAttribute("aria-current", "true");
      if (line.offsetParent !== null) line.scrollIntoView({ block: "nearest" });
    }
  }

  function followTime(): void {
    if (file !== "interview.ogg") return mark(-1);
    const t = audio.currentTime;
    let at = -1;
    for (let i = 0; i < times.length; i++) {
      if (times[i]!.startSec <= t + 0.05) at = i;
      else break;
    }
    mark(at);
  }

  audio.addEventListener("loadedmetadata", () => {
    if (pendingStart !== null) {
      audio.currentTime = Math.min(pendingStart, audio.duration || pendingStart);
      pendingStart = null;
    }
    render();
  });
  for (const ev of ["play", "pause", "ended", "durationchange", "seeked"]) audio.addEventListener(ev, render);
  audio.addEventListener("timeupdate", () => {
    if (stopAt !== null && audio.currentTime >= stopAt) {
      stopAt = null;
      audio.pause();
    }
    render();
    followTime();
  });
  audio.addEventListener("error", () => {
    if (source) fail("This recording could not be played.");
  });
  toggle.addEventListener("click", () => {
    if (audio.paused || atEnd()) {
      // Play at the end starts again from the beginning, as after `ended`
      // (a seek to the end, e.g. a question asked as the interview ended,
      // stays where it was put).
      if (atEnd()) audio.currentTime = 0;
      play();
    }
    else {
      playWhenLoaded = false;
      audio.pause();
    }
  });
  seek.addEventListener("input", () => {
    seeking = true;
    time.textContent = `${clock(Number(seek.value))} / ${clock(Number(seek.max))}`;
  });
  seek.addEventListener("change", () => {
    seeking = false;
    stopAt = null;
    audio.currentTime = Number(seek.value);
  });

  /** The whole interview, at `sec` (once its length is known). */
  function seekWhole(sec: number, label: string): void {
    stopAt = null;
    const switching = file !== "interview.ogg";
    load("interview.ogg", label);
    if (switching || audio.readyState < 1) pendingStart = sec;
    else audio.currentTime = sec;
  }

  load("interview.ogg", "The whole interview");

  return {
    root,
    playAnswer(questionIndex: number): void {
      stopAt = null;
      load(answerFile(questionIndex), `Your answer to question ${questionIndex}`);
      audio.currentTime = 0;
      play();
    },
    playExchange(questionIndex: number, fromSec: number, toSec: number | null): void {
      seekWhole(fromSec, `Question ${questionIndex} and your answer`);
      stopAt = toSec;
      play();
    },
    playFrom(sec: number): void {
      seekWhole(sec, "The whole interview");
      play();
    },
    follow(ls: HTMLElement[], ts: TranscriptLine[]): void {
      lines = ls;
      times = ts;
      current = -1;
    },
    destroy(): void {
      inFlight?.abort();
      audio.pause();
      audio.removeAttribute("src");
      audio.load();
      for (const url of blobs.values()) URL.revokeObjectURL(url);
      blobs.clear();
    },
  };
}
