import { linkSignals } from "./timing.js";
import type { QueryOptions, QueryResult, StreamEvent, StreamOptions } from "./types.js";

interface Slot {
  event: StreamEvent;
  taken: () => void;
}

/**
 * `stream()` of the client and of a session: runs `query` (theirs) with the
 * event callbacks replaced by an async iterator. Each event's callback
 * resolves only once the consumer asks for the event after it, so a slow
 * consumer slows the request down instead of growing a buffer. Leaving the
 * loop early (`break`, `return`, a throw) cancels the request and waits for
 * the runtime to end it, so a session stays usable.
 */
export async function* streamQuery(
  query: (options: QueryOptions) => Promise<QueryResult>,
  options: StreamOptions,
): AsyncGenerator<StreamEvent, void, undefined> {
  const controller = new AbortController();
  const slots: Slot[] = [];
  let notify: (() => void) | undefined;
  let closed = false;
  let outcome: { ok: true; result: QueryResult } | { ok: false; error: unknown } | undefined;

  const emit = (event: StreamEvent): Promise<void> => {
    if (closed) return Promise.resolve();
    return new Promise((taken) => {
      slots.push({ event, taken });
      notify?.();
    });
  };
  const linked = linkSignals(options?.signal, controller.signal);
  const hooks = { onAssistantMessage: emit, onCommandOutput: emit, onHeartbeat: emit };
  const done = query({ ...options, ...hooks, signal: linked.signal })
    .finally(linked.dispose)
    .then(
      (result) => {
        outcome = { ok: true, result };
      },
      (error: unknown) => {
        outcome = { ok: false, error };
      },
    );
  void done.then(() => notify?.());

  let current: Slot | undefined;
  try {
    for (;;) {
      current?.taken();
      current = slots.shift();
      if (current) {
        yield current.event;
        continue;
      }
      if (outcome) {
        if (!outcome.ok) throw outcome.error;
        yield { type: "result", ...outcome.result };
        return;
      }
      await new Promise<void>((resolve) => {
        notify = resolve;
      });
      notify = undefined;
    }
  } finally {
    closed = true;
    current?.taken();
    for (const slot of slots.splice(0)) slot.taken();
    if (!outcome) controller.abort(new Error("the stream was closed before the result"));
    await done;
  }
}
