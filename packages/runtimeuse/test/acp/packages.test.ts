import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ACP_PRESETS, presetCommand } from "../../src/handlers/acp/presets.js";
import { packageBin } from "../../src/handlers/agent-packages.js";

describe("ACP preset packages", () => {
  test("every preset's executable is found in its installed package and run with this Node.js", () => {
    for (const name of Object.keys(ACP_PRESETS) as Array<keyof typeof ACP_PRESETS>) {
      const command = presetCommand(name);
      assert.ok(command, name);
      assert.equal(command.command, process.execPath);
      assert.match(command.args[0] ?? "", /\.js$/, name);
    }
  });

  test("a package that is not installed has no executable", () => {
    assert.equal(
      packageBin("@agentclientprotocol/codex-acp", "codex-acp", () => undefined),
      undefined,
    );
  });
});
