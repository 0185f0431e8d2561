// Run as a child process under a low open-files limit (`runOutOfFds` in
// out-of-fds.ts): prepares what the case named by argv[2] needs, takes every
// free file descriptor, runs the case's first step, gives the descriptors
// back, runs its second step, and prints what happened as one JSON line.
import { closeSync, openSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadWatching } from "../../src/artifacts/index.js";
import { runCommand } from "../../src/commands/index.js";
import { AgentProcess as AcpAgentProcess } from "../../src/handlers/acp/agent-process.js";
import { AgentProcess as ClaudeAgentProcess } from "../../src/handlers/claude/agent-process.js";
import { silentSink } from "../../src/logger.js";
import { SCRIPTED_AGENT } from "../acp/support/runtime.js";
import { startHarness } from "../artifacts/support/harness.js";

const uncaught: string[] = [];
process.on("uncaughtException", (error) => uncaught.push(String(error)));

function takeEveryDescriptor(): number[] {
  const held: number[] = [];
  for (;;) {
    try {
      held.push(openSync("/dev/null", "r"));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EMFILE") return held;
      throw error;
    }
  }
}

async function outcome(step: () => Promise<unknown>): Promise<unknown> {
  try {
    return await step();
  } catch (error) {
    return { threw: error instanceof Error ? error.message : String(error) };
  }
}

const command = async () => {
  const notified: string[] = [];
  const ran = await runCommand({ command: "echo ran", onOutput: (_stream, text) => void notified.push(text) });
  return { exitCode: ran.exitCode, stdout: ran.stdout, stderr: ran.stderr, notified };
};

const acp = async () => {
  const agent = await AcpAgentProcess.start({
    label: "fd-test",
    command: process.execPath,
    args: [SCRIPTED_AGENT],
    env: process.env,
    cwd: process.cwd(),
    log: silentSink,
    startTimeoutMs: 10_000,
    killGraceMs: 100,
    version: "0.0.0",
  });
  await agent.stop();
  return { started: true };
};

const claude = async () => {
  const agent = new ClaudeAgentProcess({ logger: console, killGraceMs: 100 });
  const child = agent.spawn({
    command: "/bin/true",
    args: [],
    cwd: process.cwd(),
    env: {},
    signal: new AbortController().signal,
  });
  await new Promise((resolve) => child.once("exit", resolve));
  return { started: true };
};

interface Case {
  withoutFds(): Promise<unknown>;
  afterwards(): Promise<unknown>;
}

async function artifacts(): Promise<Case> {
  const harness = await startHarness();
  await loadWatching(); // as the server's preload does
  return {
    // Watching starts while no descriptor is free; it must come back, not wait forever.
    withoutFds: () =>
      Promise.race([
        harness.manager.watch([harness.dir], undefined).then(() => "returned"),
        new Promise((resolve) => setTimeout(() => resolve("still waiting after 10 s"), 10_000)),
      ]),
    // A file the run writes later is still found, uploaded and listed.
    afterwards: async () => {
      await writeFile(join(harness.dir, "report.txt"), "made after the descriptors came back\n");
      const manifest = await harness.manager.finish();
      await harness.dispose();
      return manifest.map((entry) => `${entry.filepath}: ${entry.status}`);
    },
  };
}

const CASES: Record<string, () => Promise<Case>> = {
  command: async () => ({ withoutFds: command, afterwards: command }),
  acp: async () => ({ withoutFds: acp, afterwards: acp }),
  claude: async () => ({ withoutFds: claude, afterwards: claude }),
  artifacts,
};

const make = CASES[process.argv[2] ?? ""];
if (make === undefined) throw new Error(`unknown case ${process.argv[2]}`);
const steps = await make();
const held = takeEveryDescriptor();
const withoutFds = await outcome(() => steps.withoutFds());
for (const fd of held) closeSync(fd);
const afterwards = await outcome(() => steps.afterwards());
// Give a stray error event its turn to surface as an uncaught exception.
await new Promise((resolve) => setTimeout(resolve, 50));
process.stdout.write(`${JSON.stringify({ withoutFds, afterwards, uncaught })}\n`);
