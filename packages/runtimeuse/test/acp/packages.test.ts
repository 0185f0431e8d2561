import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { ACP_PRESETS, presetCommand } from "../../src/handlers/acp/presets.js";
import { AGENT_PACKAGES, installHint, packageBin } from "../../src/handlers/agent-packages.js";

const manifest = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

describe("agent packages, listed once", () => {
  test("each agent package's range is the one package.json installs", () => {
    for (const pkg of Object.values(AGENT_PACKAGES)) {
      const installed = manifest.dependencies[pkg.name] ?? manifest.devDependencies[pkg.name];
      assert.equal(installed, pkg.range, pkg.name);
    }
  });

  test("the install hint is one npm command with the range", () => {
    assert.equal(installHint(AGENT_PACKAGES.codex), 'npm install @agentclientprotocol/codex-acp@"^2.6.0"');
  });

  test("every preset's executable is found in its installed package and run with this Node.js", () => {
    for (const name of Object.keys(ACP_PRESETS) as Array<keyof typeof ACP_PRESETS>) {
      const command = presetCommand(name);
      assert.ok(command, name);
      assert.equal(command.command, process.execPath);
      assert.match(command.args[0] ?? "", /\.js$/, name);
    }
    assert.equal(
      packageBin("@agentclientprotocol/codex-acp", "codex-acp", () => undefined),
      undefined,
    );
  });
});
