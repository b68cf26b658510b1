// Settings: backend, echo cancellation, audio devices, speech recognition, theme.
import type { Ctx } from "../context";
import { h, setText, show, uid } from "../dom";
import { icon } from "../icons";
import type { Settings } from "../ipc/contract";
import { setThemePreference, themePreference, type ThemePreference } from "../theme";
import { devicePicker } from "./devices";
import { speechModelsSection } from "./speech-models";

export function settingsDialog(ctx: Ctx): { root: HTMLDialogElement; open(): void } {
  const urlId = uid("backend");
  const aecId = uid("aec");
  const url = h("input", { id: urlId, type: "url", placeholder: "Leave empty to practise offline", spellcheck: "false", autocomplete: "off" });
  const urlError = h("p", { class: "field-error", hidden: true, role: "alert" });
  const aec = h("input", { id: aecId, type: "checkbox", class: "switch", role: "switch" });
  const themeGroup = h("div", { class: "segmented", role: "radiogroup", "aria-label": "Theme" },
    (["system", "light", "dark"] as ThemePreference[]).map((t) =>
      h("label", { class: "segment" },
        h("input", { type: "radio", name: "theme", value: t }),
        h("span", null, t === "system" ? "Match system" : t === "light" ? "Light" : "Dark"))));
  const picker = devicePicker(ctx);
  const speech = speechModelsSection(ctx);
  const saveButton = h("button", { class: "button primary", type: "submit" }, "Save");
  const cancelButton = h("button", { class: "button ghost", type: "button" }, "Cancel");
  const loading = h("p", { class: "muted", role: "status" });

  const form = h("form", { class: "settings-form", novalidate: true },
    h("div", { class: "dialog-head" },
      h("h2", { id: "settings-title", tabindex: "-1" }, "Settings"),
      h("button", { class: "icon-button", type: "button", "aria-label": "Close settings", onclick: () => root.close() }, icon("x"))),
    loading,
    h("fieldset", { class: "settings-group" },
      h("legend", null, "Interviewer"),
      h("div", { class: "field" },
        h("label", { for: urlId }, "Backend URL"), url, urlError,
        h("p", { class: "hint" }, "Empty: Candor runs its own backend on this computer with the offline practice interviewer. Enter the address of a hosted Candor backend to use your account and the AI interviewer."))),
    h("fieldset", { class: "settings-group" },
      h("legend", null, "Audio"),
      h("div", { class: "field row" },
        h("div", null, h("label", { for: aecId }, "Echo cancellation"),
          h("p", { class: "hint" }, "Stops the interviewer hearing itself through your speakers. Turn it off when you wear headphones.")),
        aec),
      picker.root),
    speech.root,
    h("fieldset", { class: "settings-group" },
      h("legend", null, "Appearance"),
      themeGroup),
    h("div", { class: "dialog-actions" }, cancelButton, saveButton));

  const root = h("dialog", { class: "dialog card", "aria-labelledby": "settings-title", "data-testid": "settings-dialog" }, form);
  cancelButton.addEventListener("click", () => root.close());

  themeGroup.addEventListener("change", (e) => {
    const v = (e.target as HTMLInputElement).value as ThemePreference;
    setThemePreference(v);
  });

  function validUrl(v: string): string | null {
    if (v === "") return null;
    try {
      const u = new URL(v);
      if (!["http:", "https:"].includes(u.protocol)) return "Use an http:// or https:// address.";
      return null;
    } catch {
      return "This is not a valid address. Example: https://candor.example.com";
    }
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = url.value.trim();
    const problem = validUrl(v);
    show(urlError, problem !== null);
    setText(urlError, problem ?? "");
    url.setAttribute("aria-invalid", String(problem !== null));
    if (problem) {
      url.focus();
      return;
    }
    const settings: Settings = { backendUrl: v === "" ? null : v, echoCancellation: aec.checked };
    saveButton.disabled = true;
    const ok = await ctx.tryAct("save_settings", { settings });
    saveButton.disabled = false;
    if (ok) {
      root.close();
      ctx.toast("Settings saved.");
    }
  });

  async function open(): Promise<void> {
    show(urlError, false);
    url.removeAttribute("aria-invalid");
    for (const r of themeGroup.querySelectorAll<HTMLInputElement>("input")) r.checked = r.value === themePreference();
    form.querySelector("fieldset")?.setAttribute("disabled", "");
    saveButton.disabled = true;
    setText(loading, "Loading settings…");
    show(loading, true);
    root.showModal();
    (form.querySelector("#settings-title") as HTMLElement).focus();
    const [settings] = await Promise.all([ctx.act("get_settings"), picker.refresh(), speech.refresh()]);
    show(loading, false);
    if (settings) {
      url.value = settings.backendUrl ?? "";
      aec.checked = settings.echoCancellation;
      form.querySelector("fieldset")?.removeAttribute("disabled");
      saveButton.disabled = false;
    } else {
      setText(loading, "Settings could not be loaded.");
      show(loading, true);
    }
  }

  return { root, open: () => void open() };
}
