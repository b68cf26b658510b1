// Settings › Speech recognition: the speech models the offline interviewer
// can hear your answers with. Lists the catalog (what each costs in size,
// speed and accuracy; installed or not; which one is in use), downloads with
// a cancellable progress bar, deletes after a confirmation, chooses the model
// in use, and sets the download source. Every change is the core's: this
// renders the `speechModels` it pushes and the `modelDownload` progress.
import type { Ctx } from "../context";
import { h, setText, show, uid } from "../dom";
import { icon } from "../icons";
import type { EngineEvent, SpeechModelInfo, SpeechModels } from "../ipc/contract";
import { send } from "../ipc/core";

/** 78_090_594 → "78 MB"; 2_097_152 → "2.1 MB". */
export function megabytes(bytes: number): string {
  const mb = bytes / 1_000_000;
  const digits = mb < 10 ? 1 : 0;
  return `${mb.toLocaleString("en-GB", { maximumFractionDigits: digits, minimumFractionDigits: digits })} MB`;
}

interface Row {
  id: string;
  root: HTMLLIElement;
  update(info: SpeechModelInfo, models: SpeechModels): void;
  progress(downloaded: number, total: number): void;
}

export function speechModelsSection(ctx: Ctx): { root: HTMLFieldSetElement; refresh(): Promise<void> } {
  const sourceId = uid("model-source");
  const reasonId = uid("no-source");
  let current: SpeechModels | null = null;

  const status = h("p", { class: "models-status", role: "status" });
  const hostedNote = h("p", { class: "hint", hidden: true },
    "You practise with a hosted backend now; these models are used when you practise offline (no backend URL).");
  const sourceInput = h("input", { id: sourceId, type: "url", placeholder: "https://models.example.com/candor", spellcheck: "false", autocomplete: "off" });
  const sourceButton = h("button", { class: "button secondary", type: "button" }, "Use source");
  const sourceError = h("p", { class: "field-error", hidden: true, role: "alert" });
  const sourceHint = h("p", { class: "hint" });
  const noSource = h("div", { class: "models-no-source", id: reasonId, hidden: true },
    icon("alert"),
    h("div", null,
      h("strong", null, "No download source is set, so models can't be downloaded."),
      h("p", null,
        "Candor has no default host for its models. Enter the address of a server that holds them above — a plain web server over a folder with one directory per model works — or start Candor with ",
        h("code", null, "CANDOR_MODEL_SOURCE"), " set to that address.")));
  const list = h("ul", { class: "model-list", "aria-label": "Speech models" });
  const loading = h("p", { class: "muted" }, "Loading speech models…");
  const rows = new Map<string, Row>();

  const root = h("fieldset", { class: "settings-group speech-models", "data-testid": "speech-models" },
    h("legend", null, "Speech recognition"),
    h("p", { class: "hint models-intro" },
      "The offline interviewer writes down your answers with a speech model on this computer. Without one, answers are timed and the results say which measures need a written transcript."),
    status,
    hostedNote,
    h("div", { class: "field" },
      h("label", { for: sourceId }, "Download source"),
      h("div", { class: "inline-field" }, sourceInput, sourceButton),
      sourceError,
      sourceHint),
    noSource,
    loading,
    list);

  async function applySource(): Promise<void> {
    const value = sourceInput.value.trim();
    sourceButton.disabled = true;
    try {
      await send("set_speech_model_source", { source: value === "" ? null : value });
      show(sourceError, false);
      sourceInput.removeAttribute("aria-invalid");
      ctx.toast(value === "" ? "Model source cleared." : "Model source saved.");
    } catch (err) {
      setText(sourceError, err instanceof Error ? err.message : String(err));
      show(sourceError, true);
      sourceInput.setAttribute("aria-invalid", "true");
    } finally {
      sourceButton.disabled = false;
    }
  }
  sourceButton.addEventListener("click", () => void applySource());
  sourceInput.addEventListener("keydown", (e) => {
    // Inside the settings form, Enter would save the form: here it sets the source.
    if (e.key === "Enter") {
      e.preventDefault();
      void applySource();
    }
  });

  function render(models: SpeechModels): void {
    current = models;
    show(loading, false);
    const inUse = models.models.find((m) => m.id === models.inUse);
    const installed = models.models.some((m) => m.state.state === "installed");
    setText(status,
      inUse ? `In use: ${inUse.name}.`
      : installed ? "No model is in use: choose one below."
      : "No speech model is installed: offline answers are timed, and results need a written transcript.");
    status.classList.toggle("models-status-off", !inUse);
    show(hostedNote, !models.offlineInterviewer);

    const source = models.source;
    if (document.activeElement !== sourceInput) sourceInput.value = source && !source.fromEnvironment ? source.url : "";
    setText(sourceHint, source?.fromEnvironment
      ? `Using ${source.url} from CANDOR_MODEL_SOURCE; a source set here takes its place.`
      : "Each model is fetched as <source>/<model id>/<file> and checked against its pinned SHA-256 before it is used.");
    show(noSource, source === null);

    const seen = new Set<string>();
    for (const info of models.models) {
      seen.add(info.id);
      let row = rows.get(info.id);
      if (!row) {
        row = modelRow(ctx, info.id, reasonId);
        rows.set(info.id, row);
      }
      row.update(info, models);
      list.appendChild(row.root);
    }
    for (const [id, row] of rows) {
      if (!seen.has(id)) {
        row.root.remove();
        rows.delete(id);
      }
    }
  }

  ctx.store.listen((event: EngineEvent) => {
    if (event.type === "speechModels") render(event.models);
    else if (event.type === "modelDownload") rows.get(event.id)?.progress(event.downloadedBytes, event.totalBytes);
  });

  async function refresh(): Promise<void> {
    show(sourceError, false);
    sourceInput.removeAttribute("aria-invalid");
    if (current === null) show(loading, true);
    try {
      const models = await send("speech_models");
      if (!models) throw new Error("the core sent nothing");
      render(models);
    } catch (err) {
      setText(loading, `Speech models could not be loaded: ${err instanceof Error ? err.message : String(err)}`);
      show(loading, true);
    }
  }

  return { root, refresh };
}

function modelRow(ctx: Ctx, id: string, reasonId: string): Row {
  const nameId = uid("model-name");
  const name = h("span", { class: "model-name", id: nameId });
  const badge = h("span", { class: "badge", hidden: true });
  const meta = h("p", { class: "model-meta" });
  const speed = h("p", { class: "model-cost" });
  const quality = h("p", { class: "model-cost" });
  const bar = h("progress", { class: "model-bar", max: 1, value: 0, "aria-labelledby": nameId });
  const barText = h("span", { class: "model-bar-text" });
  const progressBox = h("div", { class: "model-progress", hidden: true }, bar, barText);
  const error = h("p", { class: "field-error model-error", role: "alert", hidden: true });
  const actions = h("div", { class: "model-actions" });
  const confirmText = h("p", null);
  const confirmDelete = h("button", { class: "button danger small", type: "button" }, "Delete");
  const confirmKeep = h("button", { class: "button ghost small", type: "button" }, "Keep it");
  const confirm = h("div", { class: "model-confirm", role: "group", hidden: true, "aria-label": "Confirm deletion" },
    confirmText, h("div", { class: "model-actions" }, confirmKeep, confirmDelete));
  const root = h("li", { class: "model-row", "data-model": id },
    h("div", { class: "model-head" }, name, badge),
    meta, speed, quality, progressBox, error, actions, confirm);

  let info: SpeechModelInfo | null = null;
  let shape = "";

  async function run(button: HTMLButtonElement, work: () => Promise<unknown>): Promise<boolean> {
    button.disabled = true;
    try {
      await work();
      return true;
    } catch (err) {
      ctx.toast(err instanceof Error ? err.message : String(err), "error");
      return false;
    } finally {
      button.disabled = false;
    }
  }

  function button(label: string, kind: string, onClick: (b: HTMLButtonElement) => void, extra: Record<string, unknown> = {}): HTMLButtonElement {
    const b = h("button", { class: `button ${kind} small`, type: "button", ...extra }, label);
    b.addEventListener("click", () => onClick(b));
    return b;
  }

  function openConfirm(): void {
    if (!info) return;
    const partial = info.state.state === "partial";
    setText(confirmText, partial
      ? `Delete the unfinished download of ${info.name}?`
      : `Delete ${info.name}? This frees ${megabytes(info.sizeBytes)}; using it again means downloading it again.`);
    show(confirm, true);
    show(actions, false);
    confirmKeep.focus();
  }

  function closeConfirm(focusActions: boolean): void {
    show(confirm, false);
    show(actions, true);
    if (focusActions) actions.querySelector<HTMLButtonElement>("button:not(:disabled)")?.focus();
  }

  confirmKeep.addEventListener("click", () => closeConfirm(true));
  confirmDelete.addEventListener("click", () => {
    void run(confirmDelete, () => send("delete_speech_model", { id })).then((ok) => {
      if (ok) closeConfirm(false);
    });
  });

  function progress(downloaded: number, total: number): void {
    bar.max = Math.max(total, 1);
    bar.value = Math.min(downloaded, total);
    const percent = total > 0 ? Math.floor((downloaded / total) * 100) : 0;
    setText(barText, `${megabytes(downloaded)} of ${megabytes(total)} (${percent}%)`);
  }

  function update(next: SpeechModelInfo, models: SpeechModels): void {
    info = next;
    const state = next.state;
    const inUse = models.inUse === next.id;
    root.dataset["state"] = state.state;
    root.classList.toggle("in-use", inUse);
    setText(name, next.name);
    const badgeText = inUse ? "In use" : state.state === "installed" ? "Installed" : state.state === "partial" ? "Partly downloaded" : state.state === "downloading" ? "Downloading" : "";
    setText(badge, badgeText);
    badge.className = inUse ? "badge badge-good" : "badge";
    show(badge, badgeText !== "");
    setText(meta, `${next.languages} · ${state.state === "installed" ? `${megabytes(next.sizeBytes)} on disk` : `${megabytes(next.sizeBytes)} download`}`);
    setText(speed, `Speed: ${next.speed}`);
    setText(quality, `Accuracy: ${next.quality}`);
    show(progressBox, state.state === "downloading");
    if (state.state === "downloading") progress(state.downloadedBytes, next.sizeBytes);
    setText(error, next.error ?? "");
    show(error, next.error !== null);

    // Rebuild the buttons only when what they can do changes (keeps focus).
    const noSource = models.source === null;
    const nextShape = `${state.state}|${inUse}|${noSource}`;
    if (nextShape === shape) return;
    shape = nextShape;
    const hadFocus = root.contains(document.activeElement) && !confirm.contains(document.activeElement);
    closeConfirm(false);
    const buttons: HTMLButtonElement[] = [];
    if (state.state === "absent" || state.state === "partial") {
      const label = state.state === "partial" ? `Resume download (${megabytes(state.downloadedBytes)} kept)` : `Download ${megabytes(next.sizeBytes)}`;
      buttons.push(button(label, "primary", (b) => void run(b, () => send("download_speech_model", { id })),
        noSource ? { disabled: true, "aria-describedby": reasonId, title: "Set a download source first" } : {}));
      if (state.state === "partial") buttons.push(button("Delete", "ghost", openConfirm));
    } else if (state.state === "downloading") {
      buttons.push(button("Cancel download", "secondary", (b) => void run(b, () => send("cancel_speech_model_download", { id }))));
    } else {
      if (!inUse) {
        buttons.push(button("Use for interviews", "primary", (b) => {
          void run(b, () => send("choose_speech_model", { id })).then((ok) => {
            if (ok) ctx.toast(`${next.name} is used from your next interview.`);
          });
        }));
      }
      buttons.push(button("Delete", "ghost", openConfirm));
    }
    actions.replaceChildren(...buttons);
    if (hadFocus) buttons.find((b) => !b.disabled)?.focus();
  }

  return { id, root, update, progress };
}
