import {
  addUsage,
  ErrorCode,
  type ResponseErrorMessage,
  type Usage,
  UsageSchema,
  zeroUsage,
} from "@runtimeuse/protocol";

/**
 * The approval and question requests a connection is waiting on, by id, and
 * which request each belongs to. Pure bookkeeping for the engine: an answer
 * is accepted only while its id is open, so a stray, repeated, timed-out or
 * late answer is refused (with a `response_error_message`) and disturbs
 * nothing.
 */
export class PromptIds {
  /** Made by the first prompt: most connections never open one. */
  private openIds: Map<string, number> | undefined;
  private next = 1;

  /** A fresh id for request `requestId`'s prompt of `kind`, unique on the connection. */
  create(requestId: number, kind: "approval" | "question"): string {
    const id = `${kind}-${this.next++}`;
    this.openIds ??= new Map();
    this.openIds.set(id, requestId);
    return id;
  }

  /**
   * The request an answer of `kind` to `id` goes to, closing the id; undefined
   * when no prompt of that kind waits for it (an answer to a question never
   * settles an approval, nor the reverse, and leaves it waiting).
   */
  take(id: string, kind: "approval" | "question"): number | undefined {
    if (!id.startsWith(`${kind}-`)) return undefined;
    const requestId = this.openIds?.get(id);
    this.openIds?.delete(id);
    return requestId;
  }

  /** The prompt stopped waiting (timed out, or its wait ended otherwise). */
  close(id: string): void {
    this.openIds?.delete(id);
  }

  /** Request `requestId` ended: none of its prompts waits any more. */
  closeRequest(requestId: number): void {
    const open = this.openIds;
    if (open === undefined || open.size === 0) return;
    for (const [id, owner] of open) if (owner === requestId) open.delete(id);
  }
}

/** At most this much of an unknown id is quoted in the error's text (the id itself is sent back whole). */
const QUOTED_ID_CHARS = 200;

export function unknownAnswer(requestId: string, kind: "approval" | "question"): ResponseErrorMessage {
  const quoted =
    requestId.length > QUOTED_ID_CHARS
      ? `${JSON.stringify(requestId.slice(0, QUOTED_ID_CHARS))}... (${requestId.length} characters)`
      : JSON.stringify(requestId);
  return {
    message_type: "response_error_message",
    request_id: requestId,
    error: `no ${kind} waits for request_id ${quoted}: it is unknown, already answered, timed out, its request has ended, or it is not a ${kind}'s id`,
    metadata: { code: ErrorCode.UnknownRequestId },
  };
}

/** The usage summed over a session's requests (those whose terminal carried one). */
export class UsageTotals {
  private total: Usage | undefined;

  /** Adds `metadata.usage` when it has the usage shape; anything else is not counted. */
  add(metadata: Record<string, unknown> | null | undefined): void {
    const usage = metadata?.usage;
    // Most results carry none: a failed parse builds an error object for nothing.
    if (usage === undefined) return;
    const parsed = UsageSchema.safeParse(usage);
    if (!parsed.success) return;
    this.total = addUsage(this.total ?? zeroUsage(), parsed.data);
  }

  /** Undefined while no request reported usage. */
  get value(): Usage | undefined {
    return this.total;
  }
}
