import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { RuntimeUseClient } from "runtimeuse-client/node";
import { AGENT_PACKAGES } from "../../src/handlers/agent-packages.js";
import { diskUsage, installRuntime, npm, SLIM_INSTALL_LIMIT_BYTES } from "./support/install.js";
import { cleanEnv, startListening } from "./support/process.js";
import { type LocalRegistry, startLocalRegistry } from "./support/registry.js";
import { builtRelease, type ReleaseFiles, ROOT } from "./support/release.js";

const run = promisify(execFile);

const ECHO = ["--agent", "echo", "--port", "0", "--host", "127.0.0.1"];
const OWN_PACKAGES = ["@runtimeuse/protocol", "runtimeuse", "runtimeuse-client"];
const SDK_NAMES = Object.values(AGENT_PACKAGES).flatMap((packages) => packages.map((pkg) => pkg.name));

let dir: string;
let files: ReleaseFiles;
let registry: LocalRegistry | undefined;
let prefix: string;
let bin: string;
let cache: string;

before(async () => {
  files = await builtRelease();
  dir = await mkdtemp(join(tmpdir(), "ru-install-"));
  cache = join(dir, "npm-cache");
  registry = await startLocalRegistry(ROOT);
  prefix = join(dir, "prefix");
  bin = await installRuntime(files.runtime, prefix, registry, cache);
});

after(async () => {
  await registry?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("installing the release tarballs", () => {
  test("the runtime tarball installs alone into an empty prefix, under 40 MB, with no agent SDK and nothing fetched of this repository", async () => {
    const size = await diskUsage(prefix);
    assert.ok(size <= SLIM_INSTALL_LIMIT_BYTES, `the slim install takes ${(size / 1e6).toFixed(1)} MB`);
    const asked = new Set(registry?.requested);
    for (const name of [...OWN_PACKAGES, ...SDK_NAMES]) assert.ok(!asked.has(name), `${name} was fetched`);
    assert.ok(asked.has("zod") && asked.has("ws"), "the dependencies came from the registry");
    const { stdout } = await run(bin, ["--version"]);
    const { version } = JSON.parse(await readFile(join(ROOT, "packages/runtimeuse/package.json"), "utf8"));
    assert.equal(stdout.trim(), version);
    // The library entry imports its dependencies (zod among them) from the global install's own node_modules.
    const library = join(prefix, "lib/node_modules/runtimeuse/dist/index.js");
    const { stdout: exported } = await run(process.execPath, [
      "--input-type=module",
      "-e",
      `const m = await import(${JSON.stringify(library)}); console.log(typeof m.RuntimeUseServer, m.ErrorCode.Cancelled);`,
    ]);
    assert.equal(exported.trim(), "function cancelled");
    const echo = await startListening(bin, ECHO, { cwd: dir, env: cleanEnv() });
    try {
      const answer = await new RuntimeUseClient({ url: echo.url }).query("installed and answering", {
        systemPrompt: "You are a test.",
        model: "echo",
      });
      assert.deepEqual(answer.data, { type: "text", text: "installed and answering" });
    } finally {
      await echo.stop();
    }
  });

  test("both tarballs install alone into an empty project; a TypeScript program type-checks against their types and runs an embedded runtime with the client", async () => {
    const app = join(dir, "app");
    await mkdir(app);
    await writeFile(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
    await npm(["install", files.runtime, files.client], registry as LocalRegistry, cache, app);
    await writeFile(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: "NodeNext",
          moduleResolution: "NodeNext",
          target: "ES2022",
          lib: ["ES2023", "ESNext.Disposable"],
          noEmit: true,
          skipLibCheck: true,
          types: ["node"],
          typeRoots: [join(ROOT, "node_modules/@types")],
        },
        include: ["main.ts"],
      }),
    );
    await writeFile(
      join(app, "main.ts"),
      [
        'import { type AgentHandler, echoHandler, RuntimeUseServer } from "runtimeuse";',
        'import { type ArtifactManifestEntry, type QueryResult, RuntimeUseClient } from "runtimeuse-client/node";',
        "const handler: AgentHandler = echoHandler;",
        'const server = new RuntimeUseServer({ handler, port: 0, host: "127.0.0.1" });',
        "const { url } = await server.startListening();",
        "const client = new RuntimeUseClient({ url });",
        'const result: QueryResult = await client.query("typed", { systemPrompt: "s", model: "echo" });',
        "const manifest: ArtifactManifestEntry[] = [];",
        "// @ts-expect-error: the types are real, so a query without a model is an error",
        'void client.query("untyped", { systemPrompt: "s" }).catch(() => {});',
        'console.log(result.data.type === "text" ? result.data.text : "", manifest.length);',
        "await server.stop();",
      ].join("\n"),
    );
    await run(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", app]).catch((error) =>
      assert.fail(`the program does not type-check against the installed packages: ${error.stdout}`),
    );
    const { stdout } = await run(process.execPath, ["--import", import.meta.resolve("tsx"), "main.ts"], { cwd: app });
    assert.equal(stdout.trim(), "typed 0");
    const { stdout: tree } = await run("npm", ["ls", "--all", "--parseable"], { cwd: app });
    assert.doesNotMatch(tree, /@runtimeuse\/protocol/, "the protocol is inside the packages, not a package of its own");
  });

  test("a handler package installed globally beside the runtime is found by --handler <name> from any directory", async () => {
    // What `npm install -g @acme/agent` leaves in the prefix the runtime is installed in.
    const agent = join(prefix, "lib/node_modules/@acme/agent");
    await mkdir(agent, { recursive: true });
    await writeFile(
      join(agent, "package.json"),
      JSON.stringify({ name: "@acme/agent", type: "module", exports: { ".": "./agent.js" } }),
    );
    await writeFile(
      join(agent, "agent.js"),
      'export default { async run(invocation) { return { type: "text", text: "agent: " + invocation.userPrompt }; } };\n',
    );
    const elsewhere = join(dir, "elsewhere");
    await mkdir(elsewhere, { recursive: true });
    const served = await startListening(bin, ["--handler", "@acme/agent", "--port", "0", "--host", "127.0.0.1"], {
      cwd: elsewhere,
      env: cleanEnv(),
    });
    try {
      const answer = await new RuntimeUseClient({ url: served.url }).query("found", {
        systemPrompt: "You are a test.",
        model: "none",
      });
      assert.deepEqual(answer.data, { type: "text", text: "agent: found" });
    } finally {
      await served.stop();
      await rm(agent, { recursive: true, force: true });
    }
  });
});
