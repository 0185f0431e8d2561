import { ErrorCode } from "@runtimeuse/protocol";
import fc from "fast-check";

/**
 * Generators of hostile frames for the fuzz test. Each case says how it is
 * sent and, where the generator knows it by construction, what the runtime
 * must answer; the test also checks the answer against the protocol parser.
 */

export type Expectation =
  | { reply: "error"; code?: string; field?: string }
  | { reply: "none" }
  | { close: 1007 | 1009 };

export interface HostileCase {
  kind: string;
  /** Text frames are sent as strings, split into `fragments` parts; bytes as raw buffers. */
  payload: { text: string } | { bytes: Uint8Array; binary: boolean };
  fragments: number;
  expect: Expectation;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const shortText = fc.string({ maxLength: 12 });
/** Text the runtime hands to the operating system: no NUL (PROTOCOL.md, "Client -> runtime"). */
const osText = shortText.filter((text) => !text.includes("\0"));
// Keys that are prototype names are covered by their own generator; here they would confuse path-setting.
// Environment names: non-empty, no NUL, no "=".
const mapKey = fc
  .string({ minLength: 1, maxLength: 8 })
  .filter((key) => !(key in Object.prototype) && key !== "__proto__" && !/[=\0]/.test(key));
const stringMap = fc.dictionary(mapKey, osText, { maxKeys: 3 });
const command = fc.record({ command: osText, cwd: osText, env: stringMap });
const downloadable = fc.record({ download_url: shortText, working_dir: osText });
const outputFormat = fc.constant(JSON.stringify({ type: "json_schema", schema: { type: "object" } }));
const requestCommon = {
  source_id: shortText,
  secrets_to_redact: fc.array(shortText, { minLength: 1, maxLength: 2 }),
  artifacts_dirs: fc.array(osText, { minLength: 1, maxLength: 2 }),
  artifacts_dir: osText,
  artifacts_ignore_content: shortText,
};

/** Requests with every field present and of the right type (nested containers non-empty). */
export const fullRequest: fc.Arbitrary<Record<string, Json>> = fc.oneof(
  fc.record({
    message_type: fc.constant("invocation_message"),
    ...requestCommon,
    system_prompt: shortText,
    user_prompt: shortText,
    model: shortText,
    agent_env: stringMap,
    output_format_json_schema_str: outputFormat,
    pre_agent_downloadables: fc.array(downloadable, { minLength: 1, maxLength: 2 }),
    pre_agent_invocation_commands: fc.array(command, { minLength: 1, maxLength: 2 }),
    post_agent_invocation_commands: fc.array(command, { minLength: 1, maxLength: 2 }),
  }),
  fc.record({
    message_type: fc.constant("command_execution_message"),
    ...requestCommon,
    commands: fc.array(command, { minLength: 1, maxLength: 2 }),
    pre_execution_downloadables: fc.array(downloadable, { minLength: 1, maxLength: 2 }),
  }),
  fc.record({
    message_type: fc.constant("artifact_upload_response_message"),
    filename: shortText,
    filepath: shortText,
    presigned_url: shortText,
    content_type: shortText,
  }),
);

export const REQUIRED: Record<string, string[]> = {
  invocation_message: ["system_prompt", "user_prompt", "model"],
  command_execution_message: ["commands"],
  artifact_upload_response_message: ["filename", "filepath", "presigned_url", "content_type"],
};

/** Every path inside a JSON value, as key lists, root excluded. */
export function pathsOf(value: Json, prefix: Array<string | number> = []): Array<Array<string | number>> {
  if (value === null || typeof value !== "object") return [];
  const entries: Array<[string | number, Json]> = Array.isArray(value)
    ? value.map((item, index) => [index, item])
    : Object.entries(value);
  return entries.flatMap(([key, child]) => [[...prefix, key], ...pathsOf(child, [...prefix, key])]);
}

/** The field path the protocol names: `a[0].b`, a key that is not an identifier quoted (`env["a b"]`). */
export function formatPath(path: ReadonlyArray<string | number>): string {
  return path
    .map((part, i) => {
      if (typeof part === "number") return `[${part}]`;
      if (!/^[A-Za-z_$][\w$]*$/.test(part)) return `[${JSON.stringify(part)}]`;
      return i === 0 ? part : `.${part}`;
    })
    .join("");
}

export function setAt(root: Json, path: ReadonlyArray<string | number>, value: Json): Json {
  const copy = structuredClone(root);
  let node = copy as Record<string | number, Json>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, Json>;
  node[path.at(-1) as string | number] = value;
  return copy;
}

/** Values of every JSON type other than the one at hand (null excluded: it means "absent"). */
export function wrongValuesFor(current: Json): Json[] {
  const all: Json[] = [7, -1.5, true, "text", [], ["x"], {}, { k: 1 }];
  const kind = (v: Json) => (Array.isArray(v) ? "array" : typeof v);
  return all.filter((value) => kind(value) !== kind(current));
}

const wrongType = fullRequest.chain((message) => {
  const paths = pathsOf(message);
  return fc.constantFrom(...paths).chain((path) => {
    const current = path.reduce<Json>((node, key) => (node as Record<string | number, Json>)[key] as Json, message);
    return fc.constantFrom(...wrongValuesFor(current)).map((value): HostileCase => {
      const field = formatPath(path);
      return text("wrong_type", JSON.stringify(setAt(message, path, value)), {
        reply: "error",
        code: field === "message_type" ? ErrorCode.UnknownMessageType : ErrorCode.InvalidField,
        field,
      });
    });
  });
});

const missingField = fullRequest.chain((message) =>
  fc.constantFrom(...(REQUIRED[String(message.message_type)] ?? [])).map((key) => {
    const { [key]: _dropped, ...rest } = message;
    // A __proto__ key holding the field must not stand in for it.
    const withProto = `{"__proto__": ${JSON.stringify({ [key]: message[key] })}, ${JSON.stringify(rest).slice(1)}`;
    return text("missing_field", withProto, { reply: "error", code: ErrorCode.InvalidField, field: key });
  }),
);

const dangerousKey = fc.constantFrom("__proto__", "constructor", "prototype", "toString", "hasOwnProperty");
const protoKeys = fc
  .tuple(dangerousKey, fc.jsonValue({ maxDepth: 2 }), fc.boolean())
  .map(([key, value, typed]): HostileCase => {
    const inner = `${JSON.stringify(key)}: ${JSON.stringify(value)}`;
    // A valid cancel with a hostile key is ignored like any cancel; without a type it is refused.
    return typed
      ? text("proto_key", `{"message_type": "cancel_message", ${inner}}`, { reply: "none" })
      : text("proto_key", `{${inner}}`, { reply: "error", code: ErrorCode.UnknownMessageType, field: "message_type" });
  });

const deepNesting = fc
  .tuple(fc.integer({ min: 2, max: 30_000 }), fc.constantFrom("array", "object", "field", "truncated"))
  .map(([depth, shape]): HostileCase => {
    const array = `${"[".repeat(depth)}${"]".repeat(depth)}`;
    switch (shape) {
      case "array":
        return text("deep", array, { reply: "error", code: ErrorCode.NotAnObject });
      case "object":
        return text("deep", `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`, {
          reply: "error",
          code: ErrorCode.UnknownMessageType,
        });
      case "field":
        return text("deep", `{"message_type":"command_execution_message","commands":${array}}`, {
          reply: "error",
          code: ErrorCode.InvalidField,
          field: "commands[0]",
        });
      default:
        return text("deep", "[".repeat(depth), { reply: "error", code: ErrorCode.InvalidJson });
    }
  });

const nonObject = fc
  .jsonValue({ maxDepth: 3 })
  .filter((value) => value === null || typeof value !== "object" || Array.isArray(value))
  .map((value) => text("non_object", JSON.stringify(value), { reply: "error", code: ErrorCode.NotAnObject }));

const truncated = fc.tuple(fullRequest, fc.double({ min: 0, max: 1, noNaN: true })).map(([message, at]) => {
  const json = JSON.stringify(message);
  return text("truncated", json.slice(0, Math.floor(at * (json.length - 1))), {
    reply: "error",
    code: ErrorCode.InvalidJson,
  });
});

const knownTypes = ["invocation_message", "command_execution_message", "cancel_message"];
const unknownType = fc
  .tuple(fc.string({ unit: "binary", maxLength: 200 }), fc.dictionary(shortText, fc.jsonValue({ maxDepth: 1 })))
  .filter(([type]) => !knownTypes.includes(type) && !type.endsWith("_message"))
  .map(([type, rest]) =>
    text("unknown_type", JSON.stringify({ ...rest, message_type: type }), {
      reply: "error",
      code: ErrorCode.UnknownMessageType,
      field: "message_type",
    }),
  );

/** Random edits of valid JSON text; the parser decides what the answer must be. */
const mutatedText = fc
  .tuple(
    fullRequest,
    fc.array(
      fc.tuple(fc.nat(), fc.constantFrom("insert", "delete", "replace"), fc.string({ minLength: 1, maxLength: 3 })),
      {
        minLength: 1,
        maxLength: 6,
      },
    ),
  )
  .map(([message, edits]) => {
    let json = JSON.stringify(message);
    for (const [position, op, chars] of edits) {
      const at = position % (json.length + 1);
      json = json.slice(0, at) + (op === "delete" ? "" : chars) + json.slice(op === "insert" ? at : at + 1);
    }
    return text("mutated", json, { reply: "error" });
  });

const randomText = fc
  .string({ unit: "binary", maxLength: 300 })
  .map((value) => text("random_text", value, { reply: "error" }));

const binaryFrame = fc.uint8Array({ maxLength: 512 }).map(
  (bytes): HostileCase => ({
    kind: "binary",
    payload: { bytes, binary: true },
    fragments: 1,
    expect: { reply: "error", code: ErrorCode.BinaryFrame },
  }),
);

const INVALID_UTF8 = [[0xff], [0xc0, 0x80], [0x80], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xfe]];
const invalidUtf8 = fc
  .tuple(fc.constantFrom(...INVALID_UTF8), shortText, shortText)
  .map(([bad, before, after]): HostileCase => {
    const bytes = Buffer.concat([
      Buffer.from(`{"message_type":"${before}`),
      Buffer.from(bad),
      Buffer.from(`${after}"}`),
    ]);
    return { kind: "invalid_utf8", payload: { bytes, binary: false }, fragments: 1, expect: { close: 1007 } };
  });

export function oversize(limit: number): fc.Arbitrary<HostileCase> {
  return fc.integer({ min: limit + 1, max: limit * 3 }).map((size) => ({
    kind: "oversize",
    payload: { text: `{"message_type":"invocation_message","user_prompt":"${"x".repeat(size)}"}` },
    fragments: 1,
    expect: { close: 1009 },
  }));
}

function text(kind: string, value: string, expect: Expectation): HostileCase {
  return { kind, payload: { text: value }, fragments: 1, expect };
}

/** The whole mix, each text case possibly split into WebSocket fragments. */
export function hostileCase(frameLimit: number): fc.Arbitrary<HostileCase> {
  const cases = fc.oneof(
    { weight: 20, arbitrary: wrongType },
    { weight: 6, arbitrary: missingField },
    { weight: 6, arbitrary: protoKeys },
    { weight: 4, arbitrary: deepNesting },
    { weight: 6, arbitrary: nonObject },
    { weight: 8, arbitrary: truncated },
    { weight: 6, arbitrary: unknownType },
    { weight: 20, arbitrary: mutatedText },
    { weight: 8, arbitrary: randomText },
    { weight: 6, arbitrary: binaryFrame },
    { weight: 1, arbitrary: invalidUtf8 },
    { weight: 1, arbitrary: oversize(frameLimit) },
  );
  return fc
    .tuple(cases, fc.integer({ min: 1, max: 4 }))
    .map(([hostile, fragments]) => ("text" in hostile.payload ? { ...hostile, fragments } : hostile));
}
