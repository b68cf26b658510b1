// The meeting screen: live, reconnecting and ending.
//
// Levels, transcript text and the interviewer's activity are drawn at most
// once per animation frame (`FrameRender`), with the latest of each; the meter
// touches only the bars whose state changed. Painted on the CPU, the level is
// drawn at most ten times a second and transcript text with the clock's tick. Everything that moves is a
// transform or an opacity (see style.css), so the compositor animates it.
import type { Ctx } from "../context";
import { h, setText, show } from "../dom";
import { icon } from "../icons";
import type { EngineEvent, View } from "../ipc/contract";
import { clock, endShortcutLabel, roleLabel } from "../format";
import { FrameRender } from "../frame";
import { paint } from "../paint";
import type { Segment } from "../store";
import { devicePicker } from "./devices";
import type { Screen } from "./screen";

const METER_BARS = 12;

/**
 * Painted on the CPU each drawn level is a repaint of the page, so there the
 * level is drawn at most every 100 ms, as the loudest step heard since its
 * last draw (a short syllable still lights the bars). Elsewhere it is drawn
 * every frame, as the latest.
 */
const CPU_LEVEL_EVERY_MS = 100;

/**
 * Painted on the CPU, transcript text is drawn with the clock's tick, once a
 * second, so the two changes share one paint (the interviewer's words would
 * otherwise repaint the page three or four times a second between ticks);
 * without a tick it is drawn at most this long after it arrived.
 */
const CPU_TRANSCRIPT_EVERY_MS = 1000;

const ACTIVITY_TEXT = {
  speaking: "Speaking",
  listening: "Listening to you",
  thinking: "Thinking…",
} as const;

export function liveScreen(ctx: Ctx): Screen {
  const heading = h("h1", { tabindex: "-1", class: "live-title" }, ctx.lastSetup ? `${roleLabel(ctx.lastSetup.role)} interview` : "Interview");

  // -- top bar
  const question = h("span", { class: "question-count", "data-testid": "question" }, "Getting started");
  // The clock's digits are drawn out of the flow, over room kept for them
  // (the same text, digits as zeros, hidden): a tick then lays out nothing
  // but the clock. In the flow, each tick's new text laid out the top bar
  // and, through the screen's column, everything under it, and WebKitGTK
  // repainted the screen from the top bar down, edge to edge, every second.
  const elapsed = h("span", { class: "elapsed-time", "data-testid": "elapsed", "aria-label": "Elapsed time" }, "00:00");
  const elapsedRoom = h("span", { class: "elapsed-room", "aria-hidden": "true" }, "00:00");
  const clockFace = h("span", { class: "elapsed" }, elapsedRoom, elapsed);
  const liveBadgeText = h("span", null, "Live");
  const liveBadge = h("span", { class: "live-badge" }, h("span", { class: "live-dot" }), liveBadgeText);
  const top = h("div", { class: "live-top" },
    h("div", { class: "live-top-left" }, liveBadge, heading),
    h("div", { class: "live-top-right" }, question, h("span", { class: "sep", "aria-hidden": "true" }, "·"), icon("clock"), clockFace));

  // -- reconnecting banner
  const reconnectText = h("strong", null, "Connection lost. Reconnecting…");
  const banner = h("div", { class: "banner banner-warning reconnect-banner", role: "alert", hidden: true, "data-testid": "reconnecting" },
    icon("wifiOff"),
    h("div", null, reconnectText,
      h("p", null, "Keep going — your microphone is still recording and nothing you say is lost. It will reach the interviewer as soon as the connection is back.")));

  // -- speakers feeding back
  const echoHint = h("div", { class: "banner banner-warning echo-banner", role: "status", hidden: true, "data-testid": "echo-hint" },
    icon("mic"),
    h("div", null, h("strong", null, "Your speakers are feeding back into the microphone — headphones will help."),
      h("p", null, "The interviewer's voice reaches your microphone too loudly to be told apart from yours.")));
  const renderEcho = (): void => show(echoHint, ctx.store.live.strongEcho);
  renderEcho();

  // -- tiles
  const interviewerStatus = h("span", { class: "tile-status" }, "Waiting");
  const interviewerTile = h("section", { class: "tile tile-interviewer", "data-activity": "listening", "aria-label": "Interviewer", "data-testid": "interviewer" },
    h("div", { class: "avatar-wrap" }, h("span", { class: "ring r1" }), h("span", { class: "ring r2" }), h("span", { class: "avatar ai" }, h("img", { src: "./logo.png", alt: "", width: "56", height: "56" }))),
    h("span", { class: "tile-name" }, "Interviewer"),
    interviewerStatus);

  const bars = Array.from({ length: METER_BARS }, () => h("i", null));
  const meter = h("div", { class: "meter", role: "meter", "aria-label": "Microphone level", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": "0", "data-testid": "meter" }, bars);
  const youStatus = h("span", { class: "tile-status" }, "Listening");
  const micOrbIcon = h("span", { class: "orb-icon" }, icon("mic"));
  const youTile = h("section", { class: "tile tile-you", "data-level": "0", "aria-label": "You", "data-testid": "you" },
    h("div", { class: "avatar-wrap" }, h("span", { class: "mic-orb" }, micOrbIcon)),
    h("span", { class: "tile-name" }, "You"),
    meter,
    youStatus);

  // -- transcript
  const transcriptList = h("ol", { class: "transcript", role: "log", "aria-live": "polite", "aria-label": "Live transcript", "data-testid": "transcript" });
  const transcriptEmpty = h("p", { class: "transcript-empty muted" }, "The transcript appears here as you and the interviewer speak.");
  const transcriptScroll = h("div", { class: "transcript-scroll" }, transcriptEmpty, transcriptList);
  const transcriptPanel = h("section", { class: "card transcript-panel", "aria-labelledby": "transcript-title" },
    h("div", { class: "card-head" }, h("h2", { id: "transcript-title" }, "Transcript"), h("span", { class: "legend" }, h("span", { class: "legend-partial" }, "grey italic"), " = still being heard")),
    transcriptScroll);

  // -- controls
  const muteLabel = h("span", null, "Mute");
  const muteIcon = h("span", { class: "swap-icon" }, icon("mic"));
  const muteButton = h("button", { class: "button control", type: "button", "aria-pressed": "false", "aria-keyshortcuts": "M", "data-testid": "mute" },
    muteIcon, muteLabel, h("kbd", null, "M"));
  const devicesButton = h("button", { class: "button control", type: "button", "aria-expanded": "false", "aria-controls": "devices-popover" }, icon("sliders"), "Devices");
  const picker = devicePicker(ctx);
  const popover = h("div", { id: "devices-popover", class: "popover card", hidden: true, role: "group", "aria-label": "Audio devices" },
    h("h2", null, "Audio devices"), picker.root);
  const endShortcut = endShortcutLabel();
  const endButton = h("button", { class: "button danger control", type: "button", "aria-keyshortcuts": "Control+E Meta+E", "data-testid": "end" },
    icon("phoneOff"), "End Interview", h("kbd", null, endShortcut));
  const controls = h("div", { class: "controls" },
    h("div", { class: "controls-left" }, muteButton, h("div", { class: "popover-anchor" }, devicesButton, popover)),
    h("p", { class: "shortcut-hint muted" }, "Shortcuts: ", h("kbd", null, "M"), " mute · ", h("kbd", null, endShortcut), " end"),
    endButton);

  // -- ending overlay
  const overlay = h("div", { class: "overlay", hidden: true, "data-testid": "ending" },
    h("div", { class: "overlay-card card", role: "status" }, h("span", { class: "spinner big" }), h("p", { class: "overlay-title" }, "Ending session…"),
      h("p", { class: "muted" }, "Saying goodbye to the interviewer and saving your answers.")));

  const stage = h("div", { class: "live-grid" }, h("div", { class: "tiles" }, interviewerTile, youTile), transcriptPanel);
  const root = h("main", { class: "screen live", "data-screen": "live" }, top, banner, echoHint, stage, controls, overlay);

  // -------------------------------------------------------------- behaviour
  let muted = ctx.store.live.stats?.muted ?? false;
  let enabled = true;
  const items = new Map<number, HTMLLIElement>();

  function renderMute(): void {
    muteButton.setAttribute("aria-pressed", String(muted));
    muteButton.classList.toggle("active", muted);
    setText(muteLabel, muted ? "Unmute" : "Mute");
    muteIcon.replaceChildren(icon(muted ? "micOff" : "mic"));
    micOrbIcon.replaceChildren(icon(muted ? "micOff" : "mic"));
    youTile.toggleAttribute("data-muted", muted);
    renderYouStatus();
  }

  const levelEveryMs = paint() === "cpu" ? CPU_LEVEL_EVERY_MS : 0;
  const transcriptEveryMs = paint() === "cpu" ? CPU_TRANSCRIPT_EVERY_MS : 0;
  let transcriptTimer: number | null = null;
  /** The loudest step heard since the level was last drawn (-1: none). */
  let peakStep = -1;
  let lastLevelDraw = -Infinity;
  let levelTimer: number | null = null;

  /** The latest level as a step, 0–10, 0 while muted. */
  function latestStep(): number {
    return muted ? 0 : Math.max(0, Math.min(10, Math.round(ctx.store.live.level * 10)));
  }
  /** The level as the orb and meter show it next: 0–10, 0 while muted. */
  function levelStep(): number {
    return levelEveryMs > 0 && !muted ? Math.max(peakStep, latestStep()) : latestStep();
  }
  /** Whether the level may be drawn in this frame (see CPU_LEVEL_EVERY_MS). */
  function levelDue(): boolean {
    return performance.now() >= lastLevelDraw + levelEveryMs;
  }
  function voiceShown(): boolean {
    return ctx.store.live.voice && !muted;
  }

  let drawnVoice = false;
  function renderYouStatus(): void {
    drawnVoice = voiceShown();
    setText(youStatus, muted ? "Muted — the interviewer can't hear you" : drawnVoice ? "Speaking" : "Listening");
    youTile.toggleAttribute("data-voice", drawnVoice);
  }

  let lastStep = 0;
  let litBars = 0;
  function renderLevel(): void {
    const step = levelStep();
    levelDirty = false;
    peakStep = -1;
    lastLevelDraw = performance.now();
    if (step !== lastStep) {
      lastStep = step;
      youTile.dataset["level"] = String(step);
      const lit = Math.round((step / 10) * METER_BARS);
      // Only the bars between the old and the new level change.
      for (let i = Math.min(lit, litBars); i < Math.max(lit, litBars); i++) bars[i]!.classList.toggle("on", i < lit);
      litBars = lit;
      meter.setAttribute("aria-valuenow", String(step * 10));
    }
    renderYouStatus();
  }

  // What changed since the last frame; drawn together by `frame`.
  let levelDirty = false;
  let interviewerDirty = false;
  const dirtySegments = new Set<number>();
  const frame = new FrameRender(() => {
    if (levelDirty) {
      if (levelDue()) renderLevel();
      else levelChanged(); // drawn by its own timer, not in this frame
    }
    if (interviewerDirty) renderInterviewer();
    if (transcriptEveryMs === 0) renderTranscript();
    interviewerDirty = false;
  });
  /** Draws the lines that changed, keeping the view at the bottom if it was. */
  function renderTranscript(): void {
    if (transcriptTimer !== null) {
      window.clearTimeout(transcriptTimer);
      transcriptTimer = null;
    }
    if (dirtySegments.size === 0) return;
    const stick = nearBottom();
    for (const id of dirtySegments) {
      const seg = ctx.store.live.segments.get(id);
      if (seg) renderSegment(seg);
    }
    if (stick) transcriptScroll.scrollTop = transcriptScroll.scrollHeight;
    dirtySegments.clear();
  }
  function transcriptChanged(): void {
    if (transcriptEveryMs === 0) frame.request();
    else if (transcriptTimer === null) transcriptTimer = window.setTimeout(renderTranscript, transcriptEveryMs);
  }
  function levelChanged(): void {
    levelDirty = true;
    const wait = lastLevelDraw + levelEveryMs - performance.now();
    if (wait <= 0) frame.request();
    else if (levelTimer === null) {
      levelTimer = window.setTimeout(() => {
        levelTimer = null;
        frame.request();
      }, Math.ceil(wait));
    }
  }

  function renderInterviewer(): void {
    const iv = ctx.store.live.interviewer;
    if (!iv) return;
    interviewerTile.dataset["activity"] = iv.activity;
    setText(interviewerStatus, ACTIVITY_TEXT[iv.activity]);
    setText(question, iv.questionIndex >= 1 ? `Question ${Math.min(iv.questionIndex, iv.questionCount)} of ${iv.questionCount}` : "Getting started");
  }

  function renderStats(): void {
    const st = ctx.store.live.stats;
    if (!st) return;
    const time = clock(st.elapsedMs / 1000);
    setText(elapsedRoom, time.replace(/\d/g, "0"));
    setText(elapsed, time);
    if (st.muted !== muted) {
      muted = st.muted;
      renderMute();
      levelChanged();
    }
  }

  function nearBottom(): boolean {
    return transcriptScroll.scrollHeight - transcriptScroll.scrollTop - transcriptScroll.clientHeight < 48;
  }

  /** Draws one line; the caller keeps the view scrolled to the bottom. */
  function renderSegment(seg: Segment): void {
    let li = items.get(seg.segmentId);
    if (!li) {
      li = h("li", { class: `line line-${seg.speaker}`, "data-segment": String(seg.segmentId) },
        h("span", { class: "line-who" }, seg.speaker === "interviewer" ? "Interviewer" : "You"),
        h("span", { class: "line-time" }, clock(seg.startMs / 1000)),
        h("p", { class: "line-text" }));
      li.dataset["start"] = String(seg.startMs);
      // Keep the lines in speaking order.
      let before: Element | null = null;
      for (const other of transcriptList.children) {
        if (Number((other as HTMLElement).dataset["start"]) > seg.startMs) {
          before = other;
          break;
        }
      }
      transcriptList.insertBefore(li, before);
      items.set(seg.segmentId, li);
      markContinuations(li);
      if (li.nextElementSibling) markContinuations(li.nextElementSibling as HTMLLIElement);
      show(transcriptEmpty, false);
    }
    setText(li.querySelector(".line-text")!, seg.text);
    li.classList.toggle("partial", !seg.isFinal);
    li.setAttribute("aria-busy", String(!seg.isFinal));
  }

  function markContinuations(li: HTMLLIElement): void {
    const prev = li.previousElementSibling;
    li.classList.toggle("cont", prev !== null && sameSpeaker(prev, li));
  }
  function sameSpeaker(a: Element, b: Element): boolean {
    return a.classList.contains("line-interviewer") === b.classList.contains("line-interviewer");
  }

  function toggleMute(): void {
    if (!enabled) return;
    muted = !muted;
    renderMute();
    levelChanged();
    void ctx.act("set_muted", { muted });
  }
  function end(): void {
    if (!enabled) return;
    void ctx.act("end_interview");
  }
  function setPopover(open: boolean): void {
    show(popover, open);
    devicesButton.setAttribute("aria-expanded", String(open));
    if (open) {
      void picker.refresh();
      popover.querySelector("select")?.focus();
    }
  }

  muteButton.addEventListener("click", toggleMute);
  endButton.addEventListener("click", end);
  devicesButton.addEventListener("click", () => setPopover(popover.hasAttribute("hidden")));
  popover.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      e.stopPropagation();
      setPopover(false);
      devicesButton.focus();
    }
  });
  const onDocClick = (e: MouseEvent) => {
    if (!popover.hasAttribute("hidden") && !popover.contains(e.target as Node) && !devicesButton.contains(e.target as Node)) setPopover(false);
  };
  const onKey = (e: KeyboardEvent) => {
    if (e.defaultPrevented || document.querySelector("dialog[open]")) return;
    const t = e.target as HTMLElement | null;
    const typing = t !== null && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
    if ((e.key === "e" || e.key === "E") && (e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey) {
      e.preventDefault();
      end();
    } else if ((e.key === "m" || e.key === "M") && !e.ctrlKey && !e.metaKey && !e.altKey && !typing) {
      e.preventDefault();
      toggleMute();
    }
  };
  document.addEventListener("keydown", onKey);
  document.addEventListener("click", onDocClick);

  // Catch up with what arrived before this screen existed.
  renderMute();
  renderLevel();
  renderInterviewer();
  renderStats();
  [...ctx.store.live.segments.values()].sort((a, b) => a.startMs - b.startMs).forEach(renderSegment);

  return {
    root,
    heading,
    update(view: View) {
      const iv = view.interview;
      const reconnecting = iv.state === "reconnecting";
      const ending = iv.state === "ending";
      show(banner, reconnecting);
      if (iv.state === "reconnecting") {
        setText(reconnectText, iv.attempt > 1 ? `Connection lost. Reconnecting… (attempt ${iv.attempt} of ${iv.maxAttempts})` : "Connection lost. Reconnecting…");
      }
      root.classList.toggle("is-reconnecting", reconnecting);
      liveBadge.classList.toggle("paused", reconnecting || ending);
      setText(liveBadgeText, reconnecting ? "Reconnecting" : ending ? "Ending" : "Live");
      enabled = !ending;
      for (const b of [muteButton, devicesButton, endButton]) b.disabled = ending;
      picker.root.querySelectorAll("select").forEach((s) => (s.disabled = ending));
      if (ending) setPopover(false);
      show(overlay, ending);
      root.toggleAttribute("aria-busy", ending);
    },
    onEvent(event: EngineEvent) {
      switch (event.type) {
        case "transcript":
          dirtySegments.add(event.segmentId);
          transcriptChanged();
          break;
        case "level":
          if (levelEveryMs > 0) peakStep = Math.max(peakStep, latestStep());
          // A level that changes nothing on screen asks for no frame (a held
          // peak that is shown still asks, so the level comes down after it).
          if (levelStep() !== lastStep || latestStep() !== lastStep || voiceShown() !== drawnVoice) levelChanged();
          break;
        case "echo":
          renderEcho();
          break;
        case "interviewer":
          interviewerDirty = true;
          frame.request();
          break;
        case "stats":
          renderStats();
          // The clock's tick: waiting transcript text joins its paint.
          if (transcriptEveryMs > 0) renderTranscript();
          break;
        case "devices":
          picker.render(event.devices);
          break;
        default:
          break;
      }
    },
    destroy() {
      frame.cancel();
      if (levelTimer !== null) window.clearTimeout(levelTimer);
      if (transcriptTimer !== null) window.clearTimeout(transcriptTimer);
      document.removeEventListener("keydown", onKey);
      document.removeEventListener("click", onDocClick);
    },
  };
}
