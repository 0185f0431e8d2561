import assert from "node:assert/strict";
import { test } from "node:test";
import type { AgentHandler } from "../../src/handler.js";
import { invocation, RawClient } from "../support/client.js";
import { startTestServer } from "../support/server.js";

test("invocation.logger has debug, info, log, warn and error, each at its level, prefixed and redacted", async () => {
  const handler: AgentHandler = {
    async run(inv) {
      inv.logger.debug("d", 1);
      inv.logger.info("i", { k: "v" });
      inv.logger.log("l hush-42");
      inv.logger.warn("w");
      inv.logger.error(new Error("e"));
      return { type: "text", text: "ok" };
    },
  };
  const server = await startTestServer({ handler });
  try {
    const client = await RawClient.connect(server.url);
    client.send(invocation({ source_id: "job-7", secrets_to_redact: ["hush-42"] }));
    assert.equal((await client.untilTerminal()).terminal.message_type, "result_message");
    await client.close();
    const lines = server.logs.filter((line) => line.includes("[job-7]"));
    assert.deepEqual(lines.slice(0, 4), [
      "DEBUG [job-7] d 1",
      'INFO [job-7] i {"k":"v"}',
      "INFO [job-7] l [REDACTED]",
      "WARN [job-7] w",
    ]);
    assert.match(lines[4] ?? "", /^ERROR \[job-7\] Error: e\n\s+at /);
  } finally {
    await server.close();
  }
});

test("invocation.logger never throws, whatever it is handed, and shows what JSON cannot", async () => {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  const hostile = {
    toJSON() {
      throw new Error("no JSON");
    },
    toString() {
      throw new Error("no string");
    },
  };
  const cycle: Record<string, unknown> = { name: "loop" };
  cycle.self = cycle;
  let threw: unknown;
  const handler: AgentHandler = {
    async run(inv) {
      try {
        inv.logger.info("values", undefined, 10n, Symbol("s"), function named() {}, cycle);
        inv.logger.warn("hostile", hostile);
        inv.logger.error("revoked", proxy);
      } catch (error) {
        threw = error;
      }
      return { type: "text", text: "ok" };
    },
  };
  const server = await startTestServer({ handler });
  try {
    const client = await RawClient.connect(server.url);
    client.send(invocation({ source_id: "job-8" }));
    assert.equal((await client.untilTerminal()).terminal.message_type, "result_message");
    await client.close();
    assert.equal(threw, undefined);
    const lines = server.logs.filter((line) => line.includes("[job-8]"));
    assert.equal(
      lines[0],
      "INFO [job-8] values undefined 10n Symbol(s) [Function: named] <ref *1> { name: 'loop', self: [Circular *1] }",
    );
    assert.match(
      lines[1] ?? "",
      /^WARN \[job-8\] hostile \{ toJSON: \[Function: toJSON\], toString: \[Function: toString\] \}$/,
    );
    assert.equal(lines[2], "ERROR [job-8] revoked <Revoked Proxy>");
  } finally {
    await server.close();
  }
});
