import { ErrorCode, type OutputFormat, type ResultMessage, toOutputFormat } from "@runtimeuse/protocol";
import type { AgentResult } from "../handler.js";
import { plainJson } from "../json-text.js";
import type { SchemaCheck } from "../output-schema.js";
import { loadOutputSchema } from "./lazy-modules.js";

/**
 * What a request's result must be: the `result_message` built from the
 * handler's `AgentResult`, checked against the request's output schema.
 */

/** Raised inside the lifecycle to end the request with a given error terminal. */
export class RequestFailure extends Error {
  constructor(
    message: string,
    readonly metadata: Record<string, unknown>,
  ) {
    super(message);
  }
}

export type ResultCheck = SchemaCheck;

const SCHEMA_FIELD = "output_format_json_schema_str";

/** The output format as the handler gets it: always the wrapper, whichever form was sent. */
export function parseOutputFormat(text: string | undefined): OutputFormat | undefined {
  if (text === undefined) return undefined;
  // Validated at the edge already; parsed again to hand the handler a typed value.
  const result = toOutputFormat(JSON.parse(text));
  if (!result.ok) throw new RequestFailure(`${SCHEMA_FIELD}: ${result.message}`, { code: ErrorCode.InvalidField });
  return result.format;
}

/**
 * The compiled check of the request's schema. The validator loads on the
 * first request that carries a schema. A schema it cannot compile ends the
 * request with `invalid_field`, before anything runs.
 */
export async function loadResultCheck(text: string | undefined, format: OutputFormat): Promise<ResultCheck> {
  const { OutputSchemaError, outputSchemaCheck } = await loadOutputSchema();
  try {
    return outputSchemaCheck(text ?? JSON.stringify(format.schema), format.schema);
  } catch (error) {
    if (!(error instanceof OutputSchemaError)) throw error;
    throw new RequestFailure(`${SCHEMA_FIELD}: not a usable JSON Schema: ${error.message}`, {
      code: ErrorCode.InvalidField,
      field: SCHEMA_FIELD,
    });
  }
}

/**
 * `message` if it answers the request's schema. When a schema was asked for,
 * a text result, or structured output that does not match, ends the request
 * with `invalid_result` naming the first failing path.
 */
export function checkResult(message: ResultMessage, check: ResultCheck | undefined): ResultMessage {
  if (check === undefined) return message;
  if (message.data.type !== "structured_output") {
    throw new RequestFailure(
      "the handler returned text, but the request asked for structured_output matching its output schema",
      { code: ErrorCode.InvalidResult },
    );
  }
  const failure = check(message.data.structured_output);
  if (failure === undefined) return message;
  throw new RequestFailure(
    `the handler's structured_output does not match the output schema: at ${failure.path === "" ? "the root" : failure.path}: ${failure.message}`,
    { code: ErrorCode.InvalidResult, path: failure.path },
  );
}

/** The `result_message` for what the handler returned, or `invalid_result` when it is no `AgentResult`. */
export function toResultMessage(result: unknown): ResultMessage {
  const value = result as Partial<AgentResult> | null | undefined;
  const given = value?.metadata;
  if (given !== undefined && (typeof given !== "object" || given === null || Array.isArray(given))) {
    throw new RequestFailure("the handler returned a result whose metadata is not an object", {
      code: ErrorCode.InvalidResult,
    });
  }
  // Most results carry no metadata: nothing to copy then.
  const metadata = given === undefined ? {} : sendable(given, "the handler returned a result whose metadata");
  if (value?.type === "text" && typeof value.text === "string") {
    return { message_type: "result_message", metadata, data: { type: "text", text: value.text } };
  }
  if (value?.type === "structured_output") {
    const output = sendable(value.structuredOutput, "the handler's structuredOutput");
    if (typeof output === "object" && output !== null && !Array.isArray(output)) {
      return {
        message_type: "result_message",
        metadata,
        data: { type: "structured_output", structured_output: output as Record<string, unknown> },
      };
    }
  }
  throw new RequestFailure(
    `the handler returned an invalid result: expected {type: "text", text: string} or {type: "structured_output", structuredOutput: object}; got ${describeResult(result)}`,
    { code: ErrorCode.InvalidResult },
  );
}

/** `value` as the plain JSON data that is sent, or `invalid_result` saying why it cannot be. */
function sendable<T>(value: T, what: string): T {
  const plain = plainJson(value);
  if (!plain.ok)
    throw new RequestFailure(`${what} cannot be sent as JSON: ${plain.reason}`, { code: ErrorCode.InvalidResult });
  return plain.value as T;
}

/** What an invalid result was, in a few words: `undefined`, `a number`, `an object with type "text"`. */
function describeResult(result: unknown): string {
  if (result === undefined || result === null) return String(result);
  if (Array.isArray(result)) return "an array";
  if (typeof result !== "object") return `a ${typeof result}`;
  const type = (result as { type?: unknown }).type;
  return typeof type === "string" ? `an object with type ${JSON.stringify(type)}` : "an object without a type";
}
