/**
 * The ▶ play control's clock (as TF Playground animates training): while playing, the scrubber
 * moves one captured frame forward every 1/fps seconds, but only once the frame it is at is on
 * screen (a frame the host still has to send holds the play back rather than being skipped).
 * No DOM: the time is handed in.
 */

/** Frames per second a person can pick. */
export const PLAY_SPEEDS: readonly number[] = [1, 2, 5, 10, 20, 30];
export const DEFAULT_PLAY_FPS = 5;

export class Player {
  playing = false;
  private lastAdvance = -Infinity;

  constructor(public fps = DEFAULT_PLAY_FPS) {}

  start(): void {
    this.playing = true;
    this.lastAdvance = -Infinity;
  }

  stop(): boolean {
    const was = this.playing;
    this.playing = false;
    return was;
  }

  /** Milliseconds between two frames. */
  get intervalMs(): number {
    return 1000 / Math.max(0.1, this.fps);
  }

  /**
   * Whether to move to the next frame now: playing, the current frame shown (`ready`) and a
   * frame's time past since the last move. A true answer counts as the move.
   */
  due(now: number, ready: boolean): boolean {
    if (!this.playing || !ready || now - this.lastAdvance < this.intervalMs - 1) return false;
    this.lastAdvance = now;
    return true;
  }
}
