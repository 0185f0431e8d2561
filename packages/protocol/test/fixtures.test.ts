import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { CLIENT_MESSAGE_TYPES, validateClientMessage, validateRuntimeMessage } from "../src/index.js";

const root = new URL("../fixtures/", import.meta.url);

function load(kind: "valid" | "invalid") {
  return readdirSync(new URL(`${kind}/`, root))
    .filter((name) => name.endsWith(".json"))
    .map((name) => ({ name, body: JSON.parse(readFileSync(new URL(`${kind}/${name}`, root), "utf8")) as unknown }));
}

function validate(name: string, body: unknown) {
  const type = name.split(".")[0] as string;
  return (CLIENT_MESSAGE_TYPES as readonly string[]).includes(type)
    ? validateClientMessage(body)
    : validateRuntimeMessage(body);
}

describe("shared protocol fixtures", () => {
  test("there is at least one valid fixture for every message type", () => {
    const types = new Set(load("valid").map(({ name }) => name.split(".")[0]));
    for (const type of [...CLIENT_MESSAGE_TYPES, "assistant_message", "command_output_message", "heartbeat_message"]) {
      assert.ok(types.has(type), `no valid fixture for ${type}`);
    }
  });

  for (const { name, body } of load("valid")) {
    test(`valid/${name} is accepted`, () => {
      const result = validate(name, body);
      assert.ok(result.ok, result.ok ? "" : result.error.message);
    });
  }

  for (const { name, body } of load("invalid")) {
    test(`invalid/${name} is rejected with an error naming a field`, () => {
      const result = validate(name, body);
      assert.equal(result.ok, false);
      if (!result.ok) assert.match(result.error.message, /\w+: /);
    });
  }
});
