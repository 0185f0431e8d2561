import { parseClientMessage, type RuntimeMessage } from "@runtimeuse/protocol";
import { type SessionEffect, SessionEngine } from "../../../src/session/engine.js";

/** The engine plus an in-memory transport: every frame it sends lands in `sent`. */
export function harness() {
  let clock = 0;
  const engine = new SessionEngine({ now: () => clock });
  const sent: RuntimeMessage[] = [];
  const effects: SessionEffect[] = [];
  const apply = (list: SessionEffect[]) => {
    for (const effect of list) {
      effects.push(effect);
      if (effect.type === "send") sent.push(effect.message);
    }
    return list;
  };
  const receive = (message: Record<string, unknown> | string) =>
    apply(engine.receive(parseClientMessage(typeof message === "string" ? message : JSON.stringify(message))));
  const started = () => effects.filter((e) => e.type === "start").map((e) => (e as { requestId: number }).requestId);
  const aborted = () => effects.filter((e) => e.type === "abort").map((e) => (e as { requestId: number }).requestId);
  return {
    engine,
    sent,
    effects,
    apply,
    receive,
    started,
    aborted,
    advance: (ms: number) => {
      clock += ms;
    },
  };
}
