// Microphone and speaker choice (list_devices / choose_devices / devices events).
import type { Ctx } from "../context";
import { fill, h, uid } from "../dom";
import type { AudioDevice, DeviceList } from "../ipc/contract";

export interface DevicePicker {
  root: HTMLElement;
  /** Asks the core for a fresh list. */
  refresh(): Promise<void>;
  render(list: DeviceList | null): void;
}

export function devicePicker(ctx: Ctx): DevicePicker {
  const inputId = uid("input");
  const outputId = uid("output");
  const input = h("select", { id: inputId, "data-testid": "input-device" });
  const output = h("select", { id: outputId, "data-testid": "output-device" });
  const root = h(
    "div",
    { class: "device-picker" },
    h("div", { class: "field" }, h("label", { for: inputId }, "Microphone"), input),
    h("div", { class: "field" }, h("label", { for: outputId }, "Speaker"), output),
  );

  function options(select: HTMLSelectElement, devices: AudioDevice[], selected: string | null): void {
    const def = devices.find((d) => d.isDefault);
    fill(
      select,
      h("option", { value: "", selected: selected === null }, def ? `System default (${def.name})` : "System default"),
      devices.map((d) => h("option", { value: d.id, selected: d.id === selected }, d.name)),
    );
  }

  function render(list: DeviceList | null): void {
    if (!list) {
      fill(input, h("option", { value: "" }, "System default"));
      fill(output, h("option", { value: "" }, "System default"));
      return;
    }
    options(input, list.inputs, list.selectedInput);
    options(output, list.outputs, list.selectedOutput);
  }

  const choose = () =>
    void ctx.act("choose_devices", { input: input.value === "" ? null : input.value, output: output.value === "" ? null : output.value });
  input.addEventListener("change", choose);
  output.addEventListener("change", choose);

  async function refresh(): Promise<void> {
    const list = await ctx.act("list_devices");
    if (list) {
      ctx.store.devices = list;
      render(list);
    }
  }

  render(ctx.store.devices);
  return { root, refresh, render };
}
