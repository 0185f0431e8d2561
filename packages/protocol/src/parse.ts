import type { z } from "zod";
import { ErrorCode } from "./errors.js";
import { type FastParse, fastParseOf } from "./fast-parse.js";
import {
  type AckMessage,
  AckMessageSchema,
  CLIENT_CONTROL_TYPES,
  type ClientFrame,
  envelopeSeq,
  RUNTIME_CONTROL_TYPES,
  type RuntimeControlMessage,
  RuntimeControlMessageSchema,
  type RuntimeFrame,
} from "./resume.js";
import {
  CLIENT_MESSAGE_TYPES,
  type ClientMessage,
  ClientMessageSchema,
  type ParsedRuntimeMessage,
  RUNTIME_MESSAGE_TYPES,
  RuntimeMessageSchema,
} from "./schemas.js";

export interface ProtocolError {
  code: ErrorCode;
  /** One line naming what was wrong: the field's path and what was expected. */
  message: string;
  /** Dotted path of the offending field, when one field is to blame. */
  field?: string;
}

export type ParseResult<T> = { ok: true; message: T } | { ok: false; error: ProtocolError };

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** `commands[0].cwd` style path for an issue; a key that is not an identifier is quoted: `env["A=B"]`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else if (typeof part === "string" && !IDENTIFIER.test(part)) out += `[${JSON.stringify(part)}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

function valueAt(root: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let current: unknown = root;
  for (const key of path) {
    if (current === null || typeof current !== "object") return undefined;
    if (!Object.hasOwn(current, key)) return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

function issueMessage(issue: z.core.$ZodIssue, root: unknown): string {
  const received = valueAt(root, issue.path);
  const missing =
    received === undefined && !Object.hasOwn(Object(valueAt(root, issue.path.slice(0, -1))), issue.path.at(-1) ?? "");
  switch (issue.code) {
    case "invalid_type":
      return missing
        ? `required, expected ${issue.expected}`
        : `expected ${issue.expected}, received ${describe(received)}`;
    case "invalid_value":
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "invalid_key":
      // A record's key: what its own schema said about it.
      return issue.issues[0]?.message ?? issue.message;
    default:
      return issue.message;
  }
}

/**
 * The member schema of each `message_type`, taken from the discriminated
 * union: the type is checked first anyway, so a frame is parsed by its own
 * schema straight away (the union's own member, so the same result and issues).
 */
function membersOf(schemas: ReadonlyArray<{ shape: { message_type: { value: string } } }>): Map<string, z.ZodType> {
  return new Map(schemas.map((schema) => [schema.shape.message_type.value, schema as unknown as z.ZodType]));
}

const CLIENT_MEMBERS = membersOf(ClientMessageSchema.options);
const RUNTIME_MEMBERS = membersOf(RuntimeMessageSchema.options);
const CLIENT_CONTROL_MEMBERS = membersOf([AckMessageSchema]);
const RUNTIME_CONTROL_MEMBERS = membersOf(RuntimeControlMessageSchema.options);

/** Each member's fast parse (see fast-parse.ts), made on its first frame; null when it has none. */
const fastParses = new Map<z.ZodType, FastParse | null>();

function fastParse(schema: z.ZodType, raw: object): unknown {
  let fast = fastParses.get(schema);
  if (fast === undefined) {
    fast = fastParseOf(schema) ?? null;
    fastParses.set(schema, fast);
  }
  return fast?.(raw as Record<string, unknown>);
}

/** A refinement may name a more precise code than `invalid_field` (see `ConversationIdSchema`). */
function issueCode(issue: z.core.$ZodIssue): ErrorCode {
  const code = issue.code === "custom" ? (issue.params as { code?: unknown } | undefined)?.code : undefined;
  return typeof code === "string" && (Object.values(ErrorCode) as string[]).includes(code)
    ? (code as ErrorCode)
    : ErrorCode.InvalidField;
}

function validate<T>(
  raw: unknown,
  members: ReadonlyMap<string, z.ZodType>,
  known: readonly string[],
  side: string,
): ParseResult<T> {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    return {
      ok: false,
      error: { code: ErrorCode.NotAnObject, message: `expected a JSON object, received ${describe(raw)}` },
    };
  }
  const type = (raw as { message_type?: unknown }).message_type;
  if (typeof type !== "string") {
    return {
      ok: false,
      error: {
        code: ErrorCode.UnknownMessageType,
        field: "message_type",
        message:
          type === undefined
            ? "message_type: required, expected a string"
            : `message_type: expected a string, received ${describe(type)}`,
      },
    };
  }
  const schema = members.get(type) as z.ZodType<T> | undefined;
  if (schema === undefined) {
    return {
      ok: false,
      error: {
        code: ErrorCode.UnknownMessageType,
        field: "message_type",
        message: `message_type: unknown ${side} message type ${JSON.stringify(type.slice(0, 80))}; expected one of ${known.join(", ")}`,
      },
    };
  }
  const fast = fastParse(schema, raw);
  if (fast !== undefined) return { ok: true, message: fast as T };
  const result = schema.safeParse(raw);
  if (result.success) return { ok: true, message: result.data };
  const issue = result.error.issues[0];
  if (issue === undefined) {
    return { ok: false, error: { code: ErrorCode.InvalidField, message: `${type}: invalid message` } };
  }
  const field = formatPath(issue.path);
  return {
    ok: false,
    error: {
      code: issueCode(issue),
      field,
      message: `${type}: ${field === "" ? "" : `${field}: `}${issueMessage(issue, raw)}`,
    },
  };
}

function parseJson(text: string): ParseResult<unknown> {
  try {
    return { ok: true, message: JSON.parse(text) };
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return { ok: false, error: { code: ErrorCode.InvalidJson, message: `frame is not valid JSON: ${detail}` } };
  }
}

/** Parse and validate one frame sent by a client. Never throws. */
export function parseClientMessage(text: string): ParseResult<ClientMessage> {
  const json = parseJson(text);
  if (!json.ok) return json;
  return validateClientMessage(json.message);
}

/** Validate an already-decoded client message. Never throws. */
export function validateClientMessage(raw: unknown): ParseResult<ClientMessage> {
  return validate(raw, CLIENT_MEMBERS, CLIENT_MESSAGE_TYPES, "client");
}

/** Parse and validate one frame sent by the runtime. Never throws. */
export function parseRuntimeMessage(text: string): ParseResult<ParsedRuntimeMessage> {
  const json = parseJson(text);
  if (!json.ok) return json;
  return validateRuntimeMessage(json.message);
}

/** Validate an already-decoded runtime message. Never throws. */
export function validateRuntimeMessage(raw: unknown): ParseResult<ParsedRuntimeMessage> {
  return validate(raw, RUNTIME_MEMBERS, RUNTIME_MESSAGE_TYPES, "runtime");
}

/**
 * Parse one frame of a resumable connection sent by a client: an
 * `ack_message`, or a client message with its envelope `seq`. Never throws.
 */
export function parseClientFrame(text: string): ParseResult<ClientFrame> {
  const json = parseJson(text);
  if (!json.ok) return json;
  return framed(json.message, CLIENT_CONTROL_TYPES, validateClientControl, validateClientMessage);
}

/**
 * Parse one frame a runtime sent on a resumable connection: a control frame
 * (`session_message`, `resumed_message`, `ack_message`), or a runtime message
 * with its envelope `seq`. Never throws.
 */
export function parseRuntimeFrame(text: string): ParseResult<RuntimeFrame> {
  const json = parseJson(text);
  if (!json.ok) return json;
  return framed(json.message, RUNTIME_CONTROL_TYPES, validateRuntimeControl, validateRuntimeMessage);
}

function validateClientControl(raw: unknown): ParseResult<AckMessage> {
  return validate(raw, CLIENT_CONTROL_MEMBERS, CLIENT_CONTROL_TYPES, "client");
}

function validateRuntimeControl(raw: unknown): ParseResult<RuntimeControlMessage> {
  return validate(raw, RUNTIME_CONTROL_MEMBERS, RUNTIME_CONTROL_TYPES, "runtime");
}

function framed<M, C>(
  raw: unknown,
  controlTypes: readonly string[],
  control: (raw: unknown) => ParseResult<C>,
  message: (raw: unknown) => ParseResult<M>,
): ParseResult<{ control: C } | { message: M; seq: number | undefined }> {
  const type = raw !== null && typeof raw === "object" ? (raw as { message_type?: unknown }).message_type : undefined;
  if (typeof type === "string" && controlTypes.includes(type)) {
    const parsed = control(raw);
    return parsed.ok ? { ok: true, message: { control: parsed.message } } : parsed;
  }
  const parsed = message(raw);
  if (!parsed.ok) return parsed;
  const seq = envelopeSeq(raw as object);
  if (typeof seq === "object") {
    return { ok: false, error: { code: ErrorCode.InvalidField, field: "seq", message: seq.invalid } };
  }
  return { ok: true, message: { message: parsed.message, seq } };
}
