import type { EngineEvent, View } from "../ipc/contract";

/** One screen of the app. Created when its key first appears, updated in place after. */
export interface Screen {
  root: HTMLElement;
  /** The main heading; focused when the screen appears. */
  heading: HTMLElement;
  update(view: View): void;
  onEvent?(event: EngineEvent): void;
  destroy?(): void;
}
