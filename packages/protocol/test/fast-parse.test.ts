import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import type { z } from "zod";
import { fastParseOf } from "../src/fast-parse.js";
import { ClientMessageSchema, RuntimeMessageSchema } from "../src/schemas.js";

// The fast parse must never disagree with zod: when it answers, its answer is
// exactly zod's output (same keys, order and values); when zod refuses, it
// gives up. Checked on every shared fixture and on variants of the request
// shape the published Python client sends (every optional field null).

const members = new Map<string, z.ZodType>(
  [...ClientMessageSchema.options, ...RuntimeMessageSchema.options].map((option) => [
    option.shape.message_type.value,
    option,
  ]),
);

function fixtures(): Array<{ name: string; body: Record<string, unknown> }> {
  const root = new URL("../fixtures/", import.meta.url);
  return ["valid", "invalid"].flatMap((kind) =>
    readdirSync(new URL(`${kind}/`, root))
      .filter((name) => name.endsWith(".json"))
      .map((name) => ({
        name: `${kind}/${name}`,
        body: JSON.parse(readFileSync(new URL(`${kind}/${name}`, root), "utf8")) as Record<string, unknown>,
      })),
  );
}

/** An invocation as the published Python client sends it: every optional field null, a secret to redact. */
const pythonShaped: Record<string, unknown> = {
  ...(JSON.parse(
    readFileSync(new URL("../fixtures/valid/invocation_message.all-null.json", import.meta.url), "utf8"),
  ) as Record<string, unknown>),
  secrets_to_redact: ["sk-secret"],
};

function variants(): Array<{ name: string; body: Record<string, unknown> }> {
  const out = [{ name: "python-shaped", body: pythonShaped }];
  const values: unknown[] = [undefined, null, "text", 7, [], ["a"], [1], {}, { K: "v" }, { K: 1 }, '{"type":"object"}'];
  for (const key of Object.keys(pythonShaped)) {
    for (const value of values) {
      const body: Record<string, unknown> = { ...pythonShaped };
      if (value === undefined) delete body[key];
      else body[key] = value;
      out.push({ name: `${key}=${JSON.stringify(value)}`, body });
    }
  }
  out.push({ name: "unknown key", body: { ...pythonShaped, extra: 1 } });
  return out;
}

test("the fast parse answers exactly as zod does, or leaves the frame to zod", () => {
  let answered = 0;
  for (const { name, body } of [...fixtures(), ...variants()]) {
    const schema = members.get(String(body.message_type));
    if (schema === undefined) continue;
    const fast = fastParseOf(schema);
    assert.ok(fast, `${String(body.message_type)} has a fast parse`);
    const mine = fast(body);
    const zod = schema.safeParse(body);
    if (mine === undefined) continue;
    answered++;
    assert.ok(zod.success, `${name}: the fast parse accepted what zod refuses`);
    assert.deepStrictEqual(mine, zod.data, name);
    assert.deepEqual(Object.keys(mine), Object.keys(zod.data as object), `${name}: key order`);
  }
  assert.ok(answered > 20, `the fast parse answered ${answered} frames`);
});

test("the python-shaped invocation is answered by the fast parse", () => {
  const schema = members.get("invocation_message");
  assert.ok(schema);
  assert.ok(fastParseOf(schema)?.(pythonShaped));
});
