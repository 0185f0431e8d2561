/**
 * Values handed over by a handler, made JSON where they come in. What JSON
 * cannot carry (a BigInt, a cycle, a `toJSON` that throws) is found there,
 * where it can be refused with a clear error to the one who made it, instead
 * of failing later where it is written.
 */

export type JsonText = { ok: true; text: string | undefined } | { ok: false; reason: string };

/** `JSON.stringify(value)`, or why it cannot be done, in one line. */
export function jsonText(value: unknown): JsonText {
  try {
    return { ok: true, text: JSON.stringify(value) };
  } catch (error) {
    return { ok: false, reason: oneLine(error) };
  }
}

export type PlainJson = { ok: true; value: unknown } | { ok: false; reason: string };

/**
 * `value` as the plain data that is sent: what `JSON.stringify` writes,
 * parsed back. The values a handler hands the runtime to send (a result's
 * metadata and structured output, an error's metadata, a prompt) go through
 * this, so the connection's writer never meets a value it cannot write (it
 * cannot tell a handler's bad value from its own failure), and the redaction,
 * which walks the value, sees what is sent: what a `toJSON` returns, not the
 * object it was called on.
 */
export function plainJson(value: unknown): PlainJson {
  const json = jsonText(value);
  if (!json.ok) return json;
  return { ok: true, value: json.text === undefined ? undefined : JSON.parse(json.text) };
}

/** `JSON.stringify`'s message for a cycle spans lines; an error text or a log field wants one. */
function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .join(" ");
}
