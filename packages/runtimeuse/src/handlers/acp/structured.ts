import { outputSchemaCheck, outputSchemaFailures, type SchemaFailure } from "../../output-schema.js";

/**
 * Structured output for ACP agents. ACP has no schema parameter, so the
 * prompt asks for one JSON object matching the schema; the answer is parsed
 * and checked with the runtime's one output-schema validator (the one that
 * checks every handler's result), and a wrong answer gets one corrective turn.
 */

/** Appended to the user prompt when the request has an output schema. */
export function schemaInstructions(schema: Record<string, unknown>): string {
  return [
    "When you are done, answer with one JSON object that validates against the JSON Schema below,",
    "and with nothing else: no prose before or after it, no code fence.",
    "",
    JSON.stringify(schema, null, 2),
  ].join("\n");
}

/** The corrective prompt after an answer that did not validate. */
export function correctionPrompt(problems: string[]): string {
  return [
    "Your answer is not a JSON object that validates against the JSON Schema you were given:",
    ...problems.map((problem) => `- ${problem}`),
    "Answer again with only the corrected JSON object: no prose, no code fence.",
  ].join("\n");
}

export type CheckedAnswer = { ok: true; value: Record<string, unknown> } | { ok: false; problems: string[] };

export interface AnswerChecker {
  check(answer: string): CheckedAnswer;
}

/**
 * Compiles `schema` once; `check` parses an answer (the JSON object in it,
 * also inside a code fence or surrounded by prose) and validates it. Throws
 * when the schema itself does not compile (the runtime refuses such a schema
 * before the handler runs).
 */
export function answerChecker(schema: Record<string, unknown>): AnswerChecker {
  const key = JSON.stringify(schema);
  const validate = outputSchemaCheck(key, schema);
  return {
    check(answer) {
      const parsed = extractJsonObject(answer);
      if (!parsed.ok) return { ok: false, problems: [parsed.problem] };
      if (validate(parsed.value) === undefined) return { ok: true, value: parsed.value };
      // Every problem at once (up to a limit), so one corrective turn can fix them all.
      const failures = outputSchemaFailures(key, schema)(parsed.value);
      return { ok: false, problems: failures.map(describeFailure) };
    },
  };
}

type Extracted = { ok: true; value: Record<string, unknown> } | { ok: false; problem: string };

/** The JSON object in an answer: the whole text, else a fenced block, else from the first `{` to the last `}`. */
export function extractJsonObject(answer: string): Extracted {
  const candidates = [answer.trim()];
  const fenced = /```(?:json)?\s*\n([\s\S]*?)```/.exec(answer);
  if (fenced?.[1]) candidates.push(fenced[1].trim());
  const first = answer.indexOf("{");
  const last = answer.lastIndexOf("}");
  if (first >= 0 && last > first) candidates.push(answer.slice(first, last + 1));
  for (const candidate of candidates) {
    try {
      const value: unknown = JSON.parse(candidate);
      if (typeof value === "object" && value !== null && !Array.isArray(value)) {
        return { ok: true, value: value as Record<string, unknown> };
      }
    } catch {}
  }
  if (answer.trim().length === 0) return { ok: false, problem: "the answer is empty" };
  return { ok: false, problem: "the answer holds no JSON object" };
}

function describeFailure(failure: SchemaFailure): string {
  return `${failure.path === "" ? "the object" : failure.path} ${failure.message}`;
}
