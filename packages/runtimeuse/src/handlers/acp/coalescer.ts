/**
 * Gathers streamed text into sensible pieces: a piece leaves when a paragraph
 * ends (at the last blank line received), when `delayMs` have passed since
 * its first character arrived, or when `flush()` is called (something else is
 * about to be sent, or the turn ended). Every character leaves exactly once
 * and in order: the pieces joined are the text pushed.
 */
export class TextCoalescer {
  private buffer = "";
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly emit: (text: string) => void,
    private readonly delayMs: number,
  ) {}

  push(text: string): void {
    if (text.length === 0) return;
    this.buffer += text;
    const end = this.buffer.lastIndexOf("\n\n");
    if (end >= 0) {
      const piece = this.buffer.slice(0, end + 2);
      this.buffer = this.buffer.slice(end + 2);
      this.emitPiece(piece);
    }
    if (this.buffer.length === 0) this.clearTimer();
    else this.timer ??= setTimeout(() => this.flush(), this.delayMs);
  }

  flush(): void {
    this.clearTimer();
    const piece = this.buffer;
    this.buffer = "";
    if (piece.length > 0) this.emitPiece(piece);
  }

  private emitPiece(piece: string): void {
    // A new piece starts its own delay.
    this.clearTimer();
    this.emit(piece);
  }

  private clearTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
