import {
  type ClientMessage,
  LAST_SEQ_PARAM,
  RESUMABLE_PARAM,
  RESUME_PARAM,
  RESUME_SECRET_PARAM,
  type SessionMessage,
} from "@runtimeuse/protocol";

/** Acknowledge received frames at least this often (docs/PROTOCOL.md, "Numbering"). */
export const ACK_EVERY_MESSAGES = 256;
export const ACK_QUIET_MS = 100;

/** The first reconnect delay's upper bound; each attempt doubles it, up to the maximum. */
export const RECONNECT_BASE_DELAY_MS = 100;

/**
 * The client side of one resumable session, with no I/O: which frames it has
 * (dedupe by `seq`), which of its own it has sent and not yet seen
 * acknowledged (re-sent after a resume), and when to acknowledge.
 */
export class ResumeLink {
  readonly sessionId: string;
  readonly secret: string;
  readonly graceMs: number;
  private lastReceived = 0;
  private lastAcked = 0;
  private nextOwnSeq = 1;
  /** Own frames not yet acknowledged, by seq, in order. */
  private readonly unacked = new Map<number, string>();

  constructor(announced: SessionMessage) {
    this.sessionId = announced.session_id;
    this.secret = announced.resume_secret;
    this.graceMs = announced.resume_grace_ms;
  }

  /** The last runtime seq received. */
  get lastSeq(): number {
    return this.lastReceived;
  }

  /** A numbered runtime frame arrived: true when it is new, false for one already received. */
  receive(seq: number): boolean {
    if (seq <= this.lastReceived) return false;
    this.lastReceived = seq;
    return true;
  }

  /** True when an ack is due now (enough frames unacknowledged); otherwise one is due after `ACK_QUIET_MS`. */
  get ackDue(): boolean {
    return this.lastReceived - this.lastAcked >= ACK_EVERY_MESSAGES;
  }

  /** The ack frame for everything received, or undefined when nothing new needs acknowledging. */
  takeAck(): string | undefined {
    if (this.lastReceived === this.lastAcked) return undefined;
    this.lastAcked = this.lastReceived;
    return JSON.stringify({ message_type: "ack_message", seq: this.lastReceived });
  }

  /** Numbers one of our messages and keeps it until the runtime acknowledges it. */
  number(message: ClientMessage): string {
    const seq = this.nextOwnSeq++;
    const json = JSON.stringify(message);
    const text = `${json.slice(0, -1)}${json.length > 2 ? "," : ""}"seq":${seq}}`;
    this.unacked.set(seq, text);
    return text;
  }

  /** The runtime has our frames up to `seq`. */
  acknowledged(seq: number): void {
    for (const kept of this.unacked.keys()) {
      if (kept > seq) break;
      this.unacked.delete(kept);
    }
  }

  /** After a resume: our frames the runtime has not got, to send again in order. */
  resendAfter(lastClientSeq: number): string[] {
    this.acknowledged(lastClientSeq);
    return [...this.unacked.values()];
  }

  /** The URL that resumes this session, with the secret in the query when the transport cannot send headers. */
  resumeUrl(url: string, secretInQuery: boolean): string {
    const parsed = new URL(url);
    parsed.searchParams.delete(RESUMABLE_PARAM);
    parsed.searchParams.set(RESUME_PARAM, this.sessionId);
    parsed.searchParams.set(LAST_SEQ_PARAM, String(this.lastReceived));
    if (secretInQuery) parsed.searchParams.set(RESUME_SECRET_PARAM, this.secret);
    return parsed.toString();
  }
}

/** `url` asking for a resumable connection. */
export function resumableUrl(url: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set(RESUMABLE_PARAM, "1");
  return parsed.toString();
}

/** Full-jitter exponential backoff: a random delay up to `min(maxDelay, base * 2^(attempt-1))`. */
export function reconnectDelay(attempt: number, maxDelayMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxDelayMs, RECONNECT_BASE_DELAY_MS * 2 ** Math.min(attempt - 1, 30));
  return Math.floor(random() * ceiling);
}
