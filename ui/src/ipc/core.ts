// The one module through which the UI talks to Candor's core.
//
// `subscribe` hands the core a Channel; the core then pushes every EngineEvent
// on it, in order, starting with the current view. Events arrive in batches
// (one message per batch, so a burst costs one wake-up); they are handed on
// one by one. Everything else is an
// intent sent with `send`; the core decides what happens next and tells us
// with a new view.
import { Channel, invoke } from "@tauri-apps/api/core";
import type { CommandName, Commands, EngineEvent } from "./contract";

type NoArgs = Record<string, never>;
type ArgsOf<K extends CommandName> = Commands[K]["args"] extends NoArgs ? [] : [Commands[K]["args"]];

/** True when the page runs inside the Candor desktop window. */
export function coreAvailable(): boolean {
  return typeof window !== "undefined" && "__TAURI_INTERNALS__" in window;
}

/** Starts the event stream. Resolves once the core has accepted the channel. */
export async function subscribe(onEvent: (event: EngineEvent) => void): Promise<void> {
  const onEventChannel = new Channel<EngineEvent[]>((batch) => batch.forEach(onEvent));
  await invoke<void>("subscribe", { onEvent: onEventChannel });
}

/** Sends one command. Rejects with a message fit for the user. */
export async function send<K extends Exclude<CommandName, "subscribe">>(
  name: K,
  ...args: ArgsOf<K>
): Promise<Commands[K]["result"]> {
  try {
    return await invoke<Commands[K]["result"]>(name, (args[0] ?? {}) as Record<string, unknown>);
  } catch (err) {
    throw new Error(typeof err === "string" ? err : err instanceof Error ? err.message : String(err));
  }
}
