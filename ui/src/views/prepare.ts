// Between "Start" and the live call: microphone permission and connecting.
import type { Ctx } from "../context";
import { fill, h } from "../dom";
import { icon } from "../icons";
import type { InterviewView, MicProblem, View } from "../ipc/contract";
import { detectOs, type Os } from "../format";
import type { Screen } from "./screen";

type PrepState = Extract<InterviewView, { state: "requestingPermissions" | "permissionsDenied" | "connecting" }>;

const STEPS = ["Set up", "Microphone", "Connect", "Interview"];

function stepper(current: number, failed = false): HTMLElement {
  return h(
    "ol",
    { class: "stepper", "aria-label": "Progress" },
    STEPS.map((label, i) =>
      h("li", {
        class: `step ${i < current ? "done" : ""} ${i === current ? (failed ? "current failed" : "current") : ""}`,
        "aria-current": i === current ? "step" : null,
      },
      h("span", { class: "step-dot", "aria-hidden": "true" }, i < current ? icon("check") : String(i + 1)),
      h("span", { class: "step-label" }, label)),
    ),
  );
}

const OS_NAMES: Record<Os, string> = { mac: "macOS", windows: "Windows", linux: "Linux" };

function instructions(os: Os, problem: MicProblem): HTMLElement {
  if (problem === "noDevice" || problem === "failed") {
    const steps: Record<Os, string[]> = {
      mac: ["Check that your microphone or headset is plugged in (or paired, for Bluetooth).", "Open System Settings › Sound › Input and choose it there.", "Then press Try again."],
      windows: ["Check that your microphone or headset is plugged in (or paired, for Bluetooth).", "Open Settings › System › Sound › Input and choose it there.", "Then press Try again."],
      linux: ["Check that your microphone or headset is connected.", "Open your volume control (PulseAudio Volume Control or your desktop's Sound settings for PipeWire), go to Input Devices and make sure it is present, not muted, and set as the fallback/default.", "Then press Try again."],
    };
    return h("ol", { class: "instructions" }, steps[os].map((s) => h("li", null, s)));
  }
  const steps: Record<Os, string[]> = {
    mac: ["Open System Settings › Privacy & Security › Microphone.", "Turn on the switch next to Candor.", "macOS may ask you to reopen Candor; then press Try again."],
    windows: ["Open Settings › Privacy (Privacy & security) › Microphone.", "Turn on “Microphone access” and “Let desktop apps access your microphone”.", "Come back and press Try again."],
    linux: ["Open your volume control (PulseAudio Volume Control, or your desktop's Sound settings for PipeWire) and check the input device is not muted.", "If you run Candor as a Flatpak or Snap, allow it to use audio recording in your desktop's app permissions.", "Check the device is connected, then press Try again."],
  };
  return h("ol", { class: "instructions" }, steps[os].map((s) => h("li", null, s)));
}

export function prepareScreen(ctx: Ctx, initial: PrepState): Screen {
  const os = detectOs();
  const heading = h("h1", { tabindex: "-1" });
  const body = h("div", { class: "stage-body" });
  const root = h("main", { class: "screen stage", "data-screen": initial.state }, h("section", { class: "card stage-card" }, body));

  function render(iv: PrepState): void {
    switch (iv.state) {
      case "requestingPermissions": {
        heading.textContent = "Allow microphone access";
        const text =
          os === "linux"
            ? "Candor is opening your microphone…"
            : `${OS_NAMES[os]} is asking whether Candor may use your microphone. Choose Allow (OK) in the system prompt to continue.`;
        fill(body,
          stepper(1),
          h("div", { class: "stage-visual pulse" }, icon("mic", "big")),
          heading,
          h("p", { class: "lede", role: "status" }, text),
          h("p", { class: "muted" }, "The interviewer needs to hear your answers. Audio is used only for this interview."),
          h("div", { class: "stage-actions" }, h("button", { class: "button ghost", type: "button", onclick: () => void ctx.act("cancel_interview") }, "Cancel")),
        );
        break;
      }
      case "permissionsDenied": {
        const titles: Record<MicProblem, string> = {
          denied: "Candor needs your microphone",
          noDevice: "No microphone found",
          failed: "Your microphone could not be opened",
        };
        const explain: Record<MicProblem, string> = {
          denied: "Microphone access is turned off for Candor, so the interviewer can't hear you. Your interview is waiting — allow access, then try again.",
          noDevice: "Candor couldn't find a microphone on this computer. Connect one (a headset works best), then try again.",
          failed: "A microphone is present, but it could not be started. Another app may be using it, or it was unplugged.",
        };
        heading.textContent = titles[iv.problem];
        const otherOs = (Object.keys(OS_NAMES) as Os[]).filter((o) => o !== os);
        fill(body,
          stepper(1, true),
          h("div", { class: "stage-visual danger" }, icon("micOff", "big")),
          heading,
          h("p", { class: "lede" }, explain[iv.problem]),
          iv.message ? h("p", { class: "detail", "data-testid": "problem-message" }, iv.message) : null,
          h("div", { class: "how-to", "data-os": os },
            h("h2", null, `How to fix it on ${OS_NAMES[os]}`),
            instructions(os, iv.problem)),
          h("details", { class: "other-os" },
            h("summary", null, "On another system?"),
            otherOs.map((o) => h("div", { class: "how-to" }, h("h3", null, OS_NAMES[o]), instructions(o, iv.problem)))),
          h("div", { class: "stage-actions" },
            h("button", { class: "button primary", type: "button", onclick: () => void ctx.act("retry_permissions") }, icon("refresh"), "Try again"),
            h("button", { class: "button ghost", type: "button", onclick: () => void ctx.act("dismiss") }, "Back to dashboard")),
        );
        break;
      }
      case "connecting": {
        heading.textContent = "Connecting to your interviewer…";
        fill(body,
          stepper(2),
          h("div", { class: "stage-visual" }, h("span", { class: "spinner big" })),
          heading,
          h("p", { class: "lede", role: "status" },
            iv.attempt > 1 ? `Attempt ${iv.attempt} of ${iv.maxAttempts}. The connection is taking longer than usual.` : "Your microphone is ready. Setting up the call…"),
          h("div", { class: "stage-actions" }, h("button", { class: "button ghost", type: "button", onclick: () => void ctx.act("cancel_interview") }, "Cancel")),
        );
        break;
      }
    }
  }

  let last = "";
  return {
    root,
    heading,
    update(view: View) {
      const iv = view.interview;
      if (iv.state !== "requestingPermissions" && iv.state !== "permissionsDenied" && iv.state !== "connecting") return;
      const key = JSON.stringify(iv);
      if (key === last) return;
      last = key;
      const hadFocus = document.activeElement === heading;
      render(iv);
      if (hadFocus) heading.focus();
    },
  };
}
