import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { codesFixture } from "../src/codes.js";
import { ClientErrorCode, ErrorCode } from "../src/index.js";

test("fixtures/codes.json lists the terminal types and every error code as the package defines them", () => {
  const committed = JSON.parse(readFileSync(new URL("../fixtures/codes.json", import.meta.url), "utf8"));
  assert.deepEqual(
    committed,
    codesFixture(),
    "fixtures/codes.json is out of date: run `npm run build && node packages/protocol/scripts/write-codes.mjs`",
  );
});

test("client-side codes are snake_case and never reuse a wire code", () => {
  const wire = new Set<string>(Object.values(ErrorCode));
  for (const code of Object.values(ClientErrorCode)) {
    assert.match(code, /^[a-z]+(_[a-z]+)*$/);
    assert.ok(!wire.has(code), `${code} is also a wire code`);
  }
});

test("docs/ERRORS.md lists every wire and client-side code", () => {
  const doc = readFileSync(new URL("../../../docs/ERRORS.md", import.meta.url), "utf8");
  for (const code of [...Object.values(ErrorCode), ...Object.values(ClientErrorCode)]) {
    assert.ok(doc.includes(`| \`${code}\``), `docs/ERRORS.md has no table row for ${code}`);
  }
});
