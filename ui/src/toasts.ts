// Short messages that are not a state: notices from the core and commands the
// core refused.
import { h } from "./dom";
import { icon } from "./icons";

export type ToastLevel = "info" | "warning" | "error";

export class Toasts {
  readonly root = h("div", { class: "toasts", role: "region", "aria-label": "Notifications" });

  show(message: string, level: ToastLevel = "info"): void {
    const close = h(
      "button",
      { class: "icon-button toast-close", type: "button", "aria-label": "Dismiss notification" },
      icon("x"),
    );
    const toast = h(
      "div",
      { class: `toast toast-${level}`, role: level === "info" ? "status" : "alert" },
      icon(level === "info" ? "info" : "alert", "toast-icon"),
      h("p", { class: "toast-text" }, message),
      close,
    );
    const remove = () => toast.remove();
    close.addEventListener("click", remove);
    this.root.appendChild(toast);
    while (this.root.children.length > 4) this.root.firstElementChild?.remove();
    window.setTimeout(remove, level === "info" ? 6000 : 12000);
  }
}
