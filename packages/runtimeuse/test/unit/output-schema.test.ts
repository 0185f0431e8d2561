import assert from "node:assert/strict";
import { test } from "node:test";
import {
  MAX_LISTED_FAILURES,
  OutputSchemaError,
  outputSchemaCheck,
  outputSchemaFailures,
} from "../../src/output-schema.js";

const schema = {
  type: "object",
  properties: {
    answer: { type: "integer" },
    unit: { type: "string" },
    tags: { type: "array", items: { type: "string" } },
  },
  required: ["answer"],
  additionalProperties: false,
};
const key = JSON.stringify(schema);

test("outputSchemaFailures lists every failure with its JSON Pointer; the check keeps giving the first", () => {
  const value = { unit: 7, tags: ["a", 1], extra: true };
  assert.deepEqual(outputSchemaFailures(key, schema)(value), [
    { path: "/answer", message: "must have required property 'answer'" },
    { path: "", message: "must NOT have additional properties" },
    { path: "/unit", message: "must be string" },
    { path: "/tags/1", message: "must be string" },
  ]);
  assert.deepEqual(outputSchemaCheck(key, schema)(value), {
    path: "/answer",
    message: "must have required property 'answer'",
  });
  assert.deepEqual(outputSchemaFailures(key, schema)({ answer: 42, tags: [] }), []);
});

test("outputSchemaFailures stops at its limit and names each failure once", () => {
  const list = { type: "array", items: { type: "integer" } };
  const failures = outputSchemaFailures(JSON.stringify(list), list)(Array.from({ length: 100 }, (_, i) => `x${i}`));
  assert.equal(failures.length, MAX_LISTED_FAILURES);
  assert.deepEqual(failures[0], { path: "/0", message: "must be integer" });
  assert.equal(new Set(failures.map((failure) => failure.path)).size, failures.length);
});

test("a schema ajv cannot compile is an OutputSchemaError for the failure list too", () => {
  const broken = { type: "object", properties: { a: { $ref: "#/nowhere" } } };
  assert.throws(() => outputSchemaFailures(JSON.stringify(broken), broken), OutputSchemaError);
});

test("patterns and patternProperties that backtrack without end in JavaScript are checked at once", () => {
  // `^(a+)+$` against thousands of a's and a ! would take JavaScript's engine hours: RE2 answers at once.
  const word = { type: "object", properties: { word: { type: "string", pattern: "^(a+)+$" } } };
  const endless = `${"a".repeat(5_000)}!`;
  assert.deepEqual(outputSchemaCheck(JSON.stringify(word), word)({ word: endless }), {
    path: "/word",
    message: 'must match pattern "^(a+)+$"',
  });
  assert.equal(outputSchemaCheck(JSON.stringify(word), word)({ word: "aaaa" }), undefined);
  const keys = { type: "object", patternProperties: { "^(a|a)*$": { type: "integer" } } };
  assert.deepEqual(outputSchemaFailures(JSON.stringify(keys), keys)({ [endless]: "x", aaa: "y" }), [
    { path: "/aaa", message: "must be integer" },
  ]);
});
