// Coalesces updates to one render per animation frame.
//
// Live data (levels, transcript text, the interviewer's activity) can arrive
// faster than the screen refreshes. A screen marks what changed and asks for
// a frame; however many requests arrive before it, the render runs once, just
// before the next paint, with the latest state. While the window is hidden
// the browser holds frames back, so nothing is drawn that nobody sees.

/** One pending render at a time: `request` is idempotent until it runs. */
export class FrameRender {
  private pending: number | null = null;

  constructor(private readonly render: () => void) {}

  /** Renders once before the next paint (no-op when already requested). */
  request(): void {
    if (this.pending !== null) return;
    this.pending = requestAnimationFrame(() => {
      this.pending = null;
      this.render();
    });
  }

  /** Drops a requested render (the screen is going away). */
  cancel(): void {
    if (this.pending !== null) cancelAnimationFrame(this.pending);
    this.pending = null;
  }
}
