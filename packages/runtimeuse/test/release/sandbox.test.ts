import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { AgentRuntimeError, RuntimeUseClient } from "runtimeuse-client/node";
import { PutSink } from "../artifacts/support/put-sink.js";
import { TestHttpServer } from "../downloads/support/http-server.js";
import { requireBubblewrap, type Sandbox, shareWithSandbox, startSandbox } from "./support/bwrap.js";
import { installRuntime } from "./support/install.js";
import { type LocalRegistry, startLocalRegistry } from "./support/registry.js";
import { builtRelease, ROOT } from "./support/release.js";

const AGENT = { systemPrompt: "You are a test.", model: "echo" } as const;
const ECHO = ["--agent", "echo", "--port", "0", "--host", "127.0.0.1"];

/** Every process in the sandbox as `name state` (R, S, Z...), read from its own /proc. */
const PROCESS_STATES = `for s in /proc/[0-9]*/status; do awk '/^Name:/{n=$2} /^State:/{print n, $2}' "$s" 2>/dev/null; done`;

let dir: string;
let prefix: string;
let registry: LocalRegistry | undefined;

before(async () => {
  await requireBubblewrap();
  const { runtime } = await builtRelease();
  dir = await mkdtemp(join(tmpdir(), "ru-sandbox-"));
  await shareWithSandbox(dir, "readable");
  registry = await startLocalRegistry(ROOT);
  prefix = join(dir, "prefix");
  await installRuntime(runtime, prefix, registry, join(dir, "npm-cache"));
});

after(async () => {
  await registry?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function workspace(name: string): Promise<string> {
  const path = join(dir, name);
  await mkdir(path);
  await shareWithSandbox(path, "writable");
  return path;
}

async function withSandbox<T>(
  options: { name: string; init?: boolean },
  body: (sandbox: Sandbox) => Promise<T>,
): Promise<T> {
  const sandbox = await startSandbox({
    prefix,
    workspace: await workspace(options.name),
    args: ECHO,
    hostname: options.name,
    ...(options.init === undefined ? {} : { init: options.init }),
  });
  try {
    return await body(sandbox);
  } finally {
    await sandbox.kill();
  }
}

describe("the release tarball inside bubblewrap", () => {
  test("a client outside drives a whole request: download, pre-commands as uid 1000 on a read-only system, echo agent, structured result, artifacts to a PUT sink, end_session", async () => {
    const files = await TestHttpServer.start();
    const sink = await PutSink.start();
    try {
      const dataUrl = files.file("/inputs/data.txt", "served from outside the sandbox\n");
      await withSandbox({ name: "whole-request" }, async (sandbox) => {
        const output: string[] = [];
        const client = new RuntimeUseClient({ url: sandbox.url });
        await using session = await client.session({
          onArtifactUploadRequest: ({ filename }) => ({
            presignedUrl: sink.urlFor(filename),
            contentType: "text/plain",
          }),
        });
        const result = await session.query('{"verdict": "approve", "issues": 0}', {
          ...AGENT,
          outputSchema: {
            type: "object",
            properties: { verdict: { enum: ["approve", "reject"] }, issues: { type: "integer" } },
            required: ["verdict", "issues"],
          },
          preAgentDownloadables: [{ downloadUrl: dataUrl, workingDir: "/workspace/inputs" }],
          preAgentInvocationCommands: [
            { command: "mkdir -p out && cp inputs/data.txt out/copy.txt && id -u > out/uid.txt" },
            { command: "echo host=$(hostname) pid1=$(cat /proc/1/comm)" },
            { command: "touch /usr/probe 2>/dev/null && echo system=writable || echo system=read-only" },
            { command: "touch /tmp/probe && echo tmp=$(ls /tmp)" },
          ],
          artifactsDirs: ["/workspace/out"],
          onCommandOutput: ({ text }) => void output.push(text),
        });
        assert.deepEqual(result.data, {
          type: "structured_output",
          structuredOutput: { verdict: "approve", issues: 0 },
        });
        const printed = output.join("");
        assert.match(printed, /host=whole-request pid1=tini/);
        assert.match(printed, /system=read-only/);
        assert.match(printed, /tmp=probe\n/, "the sandbox's /tmp is private: only its own file is there");
        const { artifacts } = await session.close();
        const statuses = Object.fromEntries((artifacts ?? []).map((entry) => [entry.filepath, entry.status]));
        assert.deepEqual(statuses, { "/workspace/out/copy.txt": "uploaded", "/workspace/out/uid.txt": "uploaded" });
        assert.equal(sink.uploadsOf("copy.txt")[0]?.body?.toString(), "served from outside the sandbox\n");
        assert.equal(sink.uploadsOf("uid.txt")[0]?.body?.toString(), "1000\n");
      });
    } finally {
      await files.close();
      await sink.close();
    }
  });

  test("a background job a command leaves behind is reaped by the sandbox's init; with the runtime itself as PID 1 it stays a zombie", async () => {
    const zombies = async (init: boolean) =>
      withSandbox({ name: init ? "with-init" : "runtime-as-pid1", init }, async (sandbox) => {
        const client = new RuntimeUseClient({ url: sandbox.url });
        await client.executeCommands([{ command: "(sleep 0.2 &); echo left a job behind" }]);
        // The job's parent shell is gone, so the job is PID 1's child until it ends.
        let states: string[] = [];
        const deadline = Date.now() + 10_000;
        do {
          await new Promise((resolve) => setTimeout(resolve, 100));
          const { results } = await client.executeCommands([{ command: PROCESS_STATES }]);
          states = (results[0]?.stdout ?? "").split("\n").filter((line) => line.startsWith("sleep "));
        } while (states.some((state) => state !== "sleep Z") && Date.now() < deadline);
        return states;
      });
    assert.deepEqual(await zombies(true), [], "tini reaped the finished job");
    assert.deepEqual(await zombies(false), ["sleep Z"], "without an init the finished job is a zombie");
  });

  test("SIGTERM to the sandbox's init stops the runtime cleanly: the request in flight gets its terminal and the sandbox exits 0", async () => {
    await withSandbox({ name: "sigterm" }, async (sandbox) => {
      const client = new RuntimeUseClient({ url: sandbox.url });
      let started: () => void = () => {};
      const running = new Promise<void>((resolve) => {
        started = resolve;
      });
      const request = client.executeCommands([{ command: "echo started; sleep 30" }], {
        onCommandOutput: () => started(),
      });
      const outcome = request.then(
        () => undefined,
        (error: unknown) => error,
      );
      await running;
      const exit = await sandbox.stop();
      const error = await outcome;
      assert.ok(error instanceof AgentRuntimeError, `the request ended with the runtime's terminal: ${String(error)}`);
      assert.equal(error.code, "cancelled");
      assert.deepEqual(exit, { code: 0, signal: null }, sandbox.stderr());
      assert.match(sandbox.stderr(), /INFO\s+stopped/);
    });
  });
});

describe("examples/fleet.ts", () => {
  test("runs the same task in four sandboxes at once and reports the one that crashed without stopping the others", async () => {
    const { runFleet } = await import("../../../../examples/fleet.js");
    const names = ["fleet-1", "fleet-2", "fleet-3", "fleet-doomed"];
    const sandboxes = await Promise.all(
      names.map(async (name) => ({
        name,
        // A short resume window: the client waits that long for a crashed sandbox to come back.
        sandbox: await startSandbox({
          prefix,
          workspace: await workspace(name),
          args: [...ECHO, "--resume-grace", "1500"],
          hostname: name,
        }),
      })),
    );
    try {
      const byName = new Map(sandboxes.map((entry) => [entry.name, entry.sandbox]));
      const outcomes = await runFleet(
        sandboxes.map(({ name, sandbox }) => ({ name, url: sandbox.url })),
        async (client, target) => {
          await using session = await client.session();
          const { results } = await session.executeCommands([{ command: "hostname; sleep 0.3" }], {
            // The doomed sandbox is killed from outside while its command runs.
            onCommandOutput: () => {
              if (target.name === "fleet-doomed") void byName.get(target.name)?.kill();
            },
          });
          const answer = await session.query(`hello from ${results[0]?.stdout?.trim()}`, AGENT);
          return answer.data.type === "text" ? answer.data.text : "";
        },
      );
      assert.deepEqual(
        outcomes.map((outcome) => [outcome.sandbox, outcome.ok]),
        names.map((name) => [name, name !== "fleet-doomed"]),
      );
      for (const outcome of outcomes) {
        if (outcome.ok) assert.equal(outcome.value, `hello from ${outcome.sandbox}`);
        else assert.match(outcome.error.name, /Connection(Lost)?Error|SessionClosedError/, outcome.error.message);
      }
    } finally {
      await Promise.all(sandboxes.map(({ sandbox }) => sandbox.kill()));
    }
  });
});
