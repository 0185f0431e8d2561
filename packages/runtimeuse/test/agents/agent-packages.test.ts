import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  AGENT_PACKAGES,
  checkAgentPackages,
  installCommand,
  missingAgentPackages,
} from "../../src/handlers/agent-packages.js";
import { BUILTIN_AGENTS } from "../../src/handlers/builtin.js";

const MANIFEST = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
};
const CLAUDE = AGENT_PACKAGES.claude ?? [];
const nothingInstalled = () => false;

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "ru-agent-packages-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("agent SDK packages", () => {
  test("are exactly the optional peer dependencies of runtimeuse, with the same ranges, and dev dependencies of this repository", () => {
    const listed = Object.fromEntries(
      Object.values(AGENT_PACKAGES)
        .flat()
        .map((pkg) => [pkg.name, pkg.range]),
    );
    assert.deepEqual(listed, MANIFEST.peerDependencies);
    for (const name of Object.keys(listed)) {
      assert.equal(MANIFEST.peerDependenciesMeta[name]?.optional, true, `${name} is optional`);
      assert.equal(MANIFEST.dependencies[name], undefined, `${name} is not a dependency`);
      assert.equal(MANIFEST.devDependencies[name], listed[name], `${name} is a dev dependency with the same range`);
    }
  });

  test("are all installed here, so the monorepo's tests run every agent", () => {
    for (const agent of Object.keys(AGENT_PACKAGES)) assert.deepEqual(missingAgentPackages(agent), [], agent);
    assert.equal(checkAgentPackages("claude"), undefined);
  });

  test("a missing SDK fails the agent's startup check before anything else, naming the packages and the command", () => {
    const claude = checkAgentPackages("claude", nothingInstalled);
    assert.match(
      claude?.error ?? "",
      /^the claude agent needs @anthropic-ai\/claude-agent-sdk, which is not installed; install with: npm install /,
    );
    const openai = checkAgentPackages("openai", nothingInstalled);
    assert.match(
      openai?.error ?? "",
      /^the openai agent needs @openai\/agents and openai, which are not installed; install with: /,
    );
    assert.equal(checkAgentPackages("echo", nothingInstalled), undefined, "echo needs no package");
    // Installed here, so the built-in checks go on to their own conditions.
    assert.match(BUILTIN_AGENTS.openai?.check({}).error ?? "", /OPENAI_API_KEY/);
  });

  test("the install command puts the SDK where the runtime resolves it: beside a global install, in the project, through npx, beside the one file", async () => {
    const spec = `'${CLAUDE[0]?.name}@${CLAUDE[0]?.range}'`;
    const globalPrefix = join(dir, "usr local");
    await mkdir(join(globalPrefix, "bin"), { recursive: true });
    await writeFile(join(globalPrefix, "bin", "runtimeuse"), "");
    const globalFile = join(globalPrefix, "lib/node_modules/runtimeuse/dist/bundle/chunk.js");
    assert.equal(installCommand("claude", CLAUDE, globalFile), `npm install -g --prefix '${globalPrefix}' ${spec}`);

    const projectFile = join(dir, "app/node_modules/runtimeuse/dist/bundle/chunk.js");
    assert.equal(installCommand("claude", CLAUDE, projectFile), `npm install --prefix ${join(dir, "app")} ${spec}`);

    const npxFile = "/root/.npm/_npx/0a1b2c/node_modules/runtimeuse/dist/bundle/chunk.js";
    assert.equal(
      installCommand("claude", CLAUDE, npxFile),
      `npx -y -p runtimeuse -p ${spec} runtimeuse --agent claude`,
    );

    assert.equal(installCommand("claude", CLAUDE, "/opt/runtimeuse.mjs"), `npm install --prefix /opt ${spec}`);
  });
});
