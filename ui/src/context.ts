import type { CommandName, Commands, InterviewSetup } from "./ipc/contract";
import type { Store } from "./store";
import type { ToastLevel } from "./toasts";

type NoArgs = Record<string, never>;
export type ArgsOf<K extends CommandName> = Commands[K]["args"] extends NoArgs ? [] : [Commands[K]["args"]];
export type Intent = Exclude<CommandName, "subscribe">;

/** What every screen may use. */
export interface Ctx {
  store: Store;
  /** Sends an intent; a refusal is shown to the user and resolves to undefined. */
  act<K extends Intent>(name: K, ...args: ArgsOf<K>): Promise<Commands[K]["result"] | undefined>;
  /** Like act, but says whether the core accepted the intent. */
  tryAct<K extends Intent>(name: K, ...args: ArgsOf<K>): Promise<boolean>;
  toast(message: string, level?: ToastLevel): void;
  openSettings(): void;
  openAbout(): void;
  /** The set-up of the last interview started from this window (to start another). */
  lastSetup: InterviewSetup | null;
}
