// What the candidate does with a past interview beyond reading it: take it
// away (Export: the shell asks where with the native save dialog and writes
// a folder) and delete it (after a confirmation). The core deletes it on the
// backend, closes its results and reloads the history; this only asks and
// reports.
import type { Ctx } from "../context";
import { h } from "../dom";
import { icon } from "../icons";
import type { Results } from "../ipc/contract";
import { roleLabel } from "../format";

/** "Candor interview 2026-12-01 Software engineer": the folder the save dialog proposes. */
export function exportName(r: Results): string {
  return `Candor interview ${r.completedAt.slice(0, 10)} ${roleLabel(r.role)}`;
}

/** The Export button: the save dialog, then the folder written (or why not). */
export function exportButton(ctx: Ctx, r: Results): HTMLButtonElement {
  const label = h("span", null, "Export");
  const button = h("button", { class: "button secondary", type: "button", "data-action": "export-interview", title: "Save your audio, the transcript and this report to a folder" }, icon("folder"), label);
  button.addEventListener("click", async () => {
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    label.textContent = "Exporting…";
    const out = await ctx.act("export_interview", { interviewId: r.interviewId, suggestedName: exportName(r) });
    button.disabled = false;
    button.removeAttribute("aria-busy");
    label.textContent = "Export";
    if (out) ctx.toast(`Exported ${out.files.length} files to ${out.folder}.`, "info");
  });
  return button;
}

export interface DeleteControl {
  /** Opens the confirmation. */
  button: HTMLButtonElement;
  /** The confirmation, hidden until asked for; place it where it reads well. */
  confirm: HTMLElement;
}

export function deleteControl(ctx: Ctx, interviewId: string, what: string): DeleteControl {
  const button = h("button", { class: "button ghost danger-text", type: "button", "data-action": "delete-interview" }, icon("trash"), "Delete");
  const keep = h("button", { class: "button ghost small", type: "button" }, "Keep it");
  const remove = h("button", { class: "button danger small", type: "button", "data-action": "confirm-delete" }, "Delete for good");
  const confirm = h("div", { class: "delete-confirm", role: "alertdialog", hidden: true, "aria-label": "Confirm deletion", "data-testid": "delete-confirm" },
    h("p", { class: "delete-confirm-title" }, `Delete ${what}?`),
    h("p", { class: "muted" }, "Its recording, transcript and feedback are erased from where Candor keeps them (the server too, if you use one). This cannot be undone; export it first to keep a copy."),
    h("div", { class: "delete-confirm-actions" }, keep, remove));

  function show(open: boolean): void {
    confirm.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
    (open ? keep : button).focus();
  }

  button.addEventListener("click", () => show(true));
  keep.addEventListener("click", () => show(false));
  confirm.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      e.stopPropagation();
      show(false);
    }
  });
  remove.addEventListener("click", async () => {
    remove.disabled = keep.disabled = true;
    const ok = await ctx.tryAct("delete_interview", { interviewId });
    remove.disabled = keep.disabled = false;
    if (ok) {
      ctx.toast("The interview was deleted.", "info");
      confirm.hidden = true;
    }
  });
  return { button, confirm };
}
