// About Candor: the version, where the app keeps things on this computer
// (with "Open logs folder"), "Copy diagnostics" for bug reports, and the
// licences of the components built into the app.
import type { Ctx } from "../context";
import { h, setText, show } from "../dom";
import { icon } from "../icons";
import type { About } from "../ipc/contract";

export function aboutDialog(ctx: Ctx): { root: HTMLDialogElement; open(): void } {
  const version = h("p", { class: "about-version", "data-testid": "about-version" });
  const loading = h("p", { class: "muted", role: "status" });

  const dataPath = h("code", { class: "path", "data-testid": "about-data" });
  const logsPath = h("code", { class: "path", "data-testid": "about-logs" });
  const settingsPath = h("code", { class: "path", "data-testid": "about-settings" });
  const openLogs = h("button", { class: "button secondary small", type: "button", "data-testid": "open-logs" }, icon("folder"), "Open logs folder");
  openLogs.addEventListener("click", () => void ctx.act("open_logs_folder"));

  const copyLabel = h("span", null, "Copy diagnostics");
  const copyIcon = h("span", { class: "button-icon" }, icon("clipboard"));
  const copy = h("button", { class: "button secondary small", type: "button", "data-testid": "copy-diagnostics" }, copyIcon, copyLabel);
  const report = h("pre", { class: "diagnostics", "data-testid": "diagnostics", tabindex: "0", "aria-label": "Diagnostics report" });
  const preview = h("details", { class: "diagnostics-preview" }, h("summary", null, "Show what is copied"), report);
  let copiedTimer = 0;
  copy.addEventListener("click", async () => {
    copy.disabled = true;
    const text = await ctx.act("copy_diagnostics");
    copy.disabled = false;
    if (text === undefined) {
      // The clipboard failed (the error is shown): the report is here to select by hand.
      preview.open = true;
      void loadReport();
      return;
    }
    setText(report, text);
    copyIcon.replaceChildren(icon("check"));
    setText(copyLabel, "Copied");
    ctx.toast("Diagnostics copied: paste them into your bug report.");
    window.clearTimeout(copiedTimer);
    copiedTimer = window.setTimeout(() => {
      copyIcon.replaceChildren(icon("clipboard"));
      setText(copyLabel, "Copy diagnostics");
    }, 2500);
  });
  preview.addEventListener("toggle", () => {
    if (preview.open) void loadReport();
  });
  async function loadReport(): Promise<void> {
    const text = await ctx.act("diagnostics");
    if (text !== undefined) setText(report, text);
  }

  const licence = h("p", { class: "hint" });
  const components = h("ul", { class: "component-list", "data-testid": "components" });

  const closeButton = h("button", { class: "button primary", type: "button" }, "Close");
  const body = h("div", { class: "settings-form about" },
    h("div", { class: "dialog-head" },
      h("div", { class: "about-title" },
        h("img", { src: "./logo.png", alt: "", width: "48", height: "48" }),
        h("div", null, h("h2", { id: "about-title", tabindex: "-1" }, "About Candor"), version)),
      h("button", { class: "icon-button", type: "button", "aria-label": "Close About", onclick: () => root.close() }, icon("x"))),
    h("p", { class: "lede small" }, "Practise job interviews out loud with an interviewer that listens, then see concrete feedback on how you did."),
    loading,
    h("section", { class: "settings-group", "aria-labelledby": "about-where" },
      h("h3", { class: "group-title", id: "about-where" }, "On this computer"),
      h("dl", { class: "locations" },
        h("dt", null, "Interviews, results and speech models"), h("dd", null, dataPath),
        h("dt", null, "Logs"), h("dd", null, logsPath),
        h("dt", null, "Settings and window position"), h("dd", null, settingsPath)),
      h("p", { class: "hint" }, "Your sign-in is kept in the system keyring, never in these folders."),
      h("div", { class: "row-actions" }, openLogs)),
    h("section", { class: "settings-group", "aria-labelledby": "about-report" },
      h("h3", { class: "group-title", id: "about-report" }, "Report a problem"),
      h("p", { class: "hint flush" }, "Copy diagnostics puts a short report on your clipboard to paste into a bug report: the app version, your system, audio devices and the backend address. It never includes your email, password or sign-in."),
      h("div", { class: "row-actions" }, copy),
      preview),
    h("section", { class: "settings-group", "aria-labelledby": "about-licences" },
      h("h3", { class: "group-title", id: "about-licences" }, "Licences"),
      licence,
      components,
      h("p", { class: "hint" }, "…and the open-source Rust libraries these build on; each one's licence is in its package metadata.")),
    h("div", { class: "dialog-actions" }, closeButton));

  const root = h("dialog", { class: "dialog card", "aria-labelledby": "about-title", "data-testid": "about-dialog" }, body);
  closeButton.addEventListener("click", () => root.close());

  function render(about: About): void {
    setText(version, `Version ${about.version}`);
    setText(dataPath, about.locations.data);
    setText(logsPath, about.locations.logs);
    setText(settingsPath, about.locations.settings);
    setText(licence, `Candor is open source under ${spdx(about.licence)}. It is built with:`);
    components.replaceChildren(...about.components.map((c) =>
      h("li", { class: "component" },
        h("div", { class: "component-text" },
          h("button", { class: "link-button", type: "button", title: c.url, onclick: () => void ctx.act("open_component_page", { name: c.name }) }, c.name),
          h("span", { class: "component-purpose" }, c.purpose)),
        h("span", { class: "licence-badge" }, spdx(c.licence)))));
  }

  let loaded = false;
  async function open(): Promise<void> {
    preview.open = false;
    root.showModal();
    (body.querySelector("#about-title") as HTMLElement).focus();
    if (loaded) return;
    setText(loading, "Loading…");
    show(loading, true);
    const about = await ctx.act("about");
    if (about) {
      render(about);
      loaded = true;
      show(loading, false);
    } else {
      setText(loading, "The app's details could not be loaded.");
    }
  }

  return { root, open: () => void open() };
}

/** An SPDX expression as people read it: `MIT OR Apache-2.0` → `MIT or Apache-2.0`. */
function spdx(expression: string): string {
  return expression.replace(/ OR /g, " or ").replace(/ AND /g, " and ");
}
