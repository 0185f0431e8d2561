import { RuntimeMessageSchema, type TextPlan, textPlanOf } from "@runtimeuse/protocol";
import { containsSecret, redactText } from "../redact/index.js";

const JSON_PLAN: TextPlan = { kind: "json" };
let runtimeMessagePlan: TextPlan | undefined;

/**
 * A copy of `value` with the secrets replaced in its free text, at any depth.
 * A runtime message is redacted by its schema's text plan (see
 * `textPlanOf` in the protocol package): words of the protocol (`message_type`,
 * `data.type`, `stream`, `phase`, `status`, `metadata.code`) and object keys
 * are never touched, so a secret equal to one of them cannot break a message.
 * Any other value has every string redacted, keys and `message_type` left
 * alone. Values without secrets are returned as they are (no copy).
 */
export function redactSecrets<T>(value: T, secrets: readonly string[]): T {
  if (secrets.length === 0 || !holdsSecret(value, secrets)) return value;
  runtimeMessagePlan ??= textPlanOf(RuntimeMessageSchema);
  return redactValue(value, runtimeMessagePlan, secrets) as T;
}

/**
 * Whether any string in `value`, at any depth, contains a secret (keys are
 * not looked at). Most messages hold none, and without the plan lookups of
 * the walk below this answers in about a third of the walk's time (measured
 * on the echo bench's two messages per request). When it says no, the walk
 * would return `value` itself: it changes only strings holding a secret.
 */
function holdsSecret(value: unknown, secrets: readonly string[]): boolean {
  if (typeof value === "string") return containsSecret(value, secrets);
  if (value === null || typeof value !== "object") return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (holdsSecret(value[i], secrets)) return true;
    return false;
  }
  // for-in without an own-key check: an inherited string only makes this say yes, and the walk decides.
  for (const key in value) if (holdsSecret((value as Record<string, unknown>)[key], secrets)) return true;
  return false;
}

function redactValue(value: unknown, plan: TextPlan, secrets: readonly string[]): unknown {
  if (typeof value === "string") {
    if (plan.kind === "word" && (plan.values === undefined || plan.values.has(value))) return value;
    return plan.kind === "none" ? value : redactText(value, secrets);
  }
  if (value === null || typeof value !== "object" || plan.kind === "none") return value;
  if (Array.isArray(value)) {
    const items = plan.kind === "array" ? plan.items : JSON_PLAN;
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      const clean = redactValue(item, items, secrets);
      if (clean !== item) {
        copy ??= value.slice();
        copy[i] = clean;
      }
    }
    return copy ?? value;
  }
  return redactObject(value as Record<string, unknown>, plan, secrets);
}

function redactObject(value: Record<string, unknown>, plan: TextPlan, secrets: readonly string[]): unknown {
  let fields: Readonly<Record<string, TextPlan>> | undefined;
  let rest = JSON_PLAN;
  let keep = "message_type";
  if (plan.kind === "object") {
    fields = plan.fields;
    rest = plan.rest;
  } else if (plan.kind === "union") {
    const option = plan.options.get(String(value[plan.discriminator]));
    if (option?.kind === "object") {
      fields = option.fields;
      rest = option.rest;
    } else {
      // Not one of the union's messages: redact it whole, but keep its tag readable.
      keep = plan.discriminator;
    }
  }
  let copy: Record<string, unknown> | undefined;
  // for-in over own keys: no entries array per object on the path every frame takes.
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const item = value[key];
    if (fields === undefined && key === keep) continue;
    const clean = redactValue(
      item,
      (fields !== undefined && Object.hasOwn(fields, key) ? fields[key] : rest) as TextPlan,
      secrets,
    );
    if (clean !== item) {
      copy ??= { ...value };
      Object.defineProperty(copy, key, { value: clean, enumerable: true, writable: true, configurable: true });
    }
  }
  return copy ?? value;
}
