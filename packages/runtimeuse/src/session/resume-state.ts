import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/**
 * Who a resumable session is and which client frames it has taken, with no
 * I/O. The secret is handed out once (`create`) and kept only as a digest,
 * compared in constant time.
 */
export class ResumeState {
  private lastClientSeqTaken = 0;

  private constructor(
    readonly sessionId: string,
    private readonly secretDigest: Buffer,
  ) {}

  /** A new session id and secret (128 and 256 random bits, base64url); the secret is not kept. */
  static create(): { state: ResumeState; secret: string } {
    const secret = randomBytes(32).toString("base64url");
    const sessionId = randomBytes(16).toString("base64url");
    return { state: new ResumeState(sessionId, digest(secret)), secret };
  }

  /** True when `secret` is this session's. */
  verify(secret: string | undefined): boolean {
    if (secret === undefined || secret === "") return false;
    return timingSafeEqual(digest(secret), this.secretDigest);
  }

  /** The last numbered client frame taken. */
  get lastClientSeq(): number {
    return this.lastClientSeqTaken;
  }

  /**
   * A client frame numbered `seq` arrived: true when it is new and must be
   * acted on, false for one already taken (re-sent across a resume).
   */
  take(seq: number): boolean {
    if (seq <= this.lastClientSeqTaken) return false;
    this.lastClientSeqTaken = seq;
    return true;
  }
}
