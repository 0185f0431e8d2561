/**
 * The same task in many sandboxes at once: one runtimeuse per sandbox (an
 * E2B, Modal or Daytona sandbox, a Kubernetes pod: see sandbox/README.md),
 * one client per sandbox, every task started together and the outcomes
 * gathered as they finish. A sandbox that fails (unreachable, crashed, its
 * task failing) is reported in its own outcome; the others carry on.
 *
 *   RUNTIMEUSE_URLS=ws://10.0.0.5:8080,ws://10.0.0.6:8080 RUNTIMEUSE_TOKEN=... \
 *     npx -y tsx examples/fleet.ts "Summarise README.md in one line"
 *
 * prints one line per sandbox and exits 1 when any of them failed.
 */
import { pathToFileURL } from "node:url";
import { RuntimeUseClient } from "runtimeuse-client/node";

export interface Sandbox {
  /** How the outcome names this sandbox. */
  name: string;
  /** The runtime's `ws://` or `wss://` URL. */
  url: string;
  token?: string;
}

export type Outcome<T> =
  | { sandbox: string; ok: true; value: T; ms: number }
  | { sandbox: string; ok: false; error: Error; ms: number };

/**
 * Runs `task` against every sandbox at once and resolves, once all have
 * ended, with one outcome per sandbox in the order given. Never rejects: a
 * sandbox's failure is its outcome.
 */
export async function runFleet<T>(
  sandboxes: readonly Sandbox[],
  task: (client: RuntimeUseClient, sandbox: Sandbox) => Promise<T>,
): Promise<Outcome<T>[]> {
  return Promise.all(
    sandboxes.map(async (sandbox): Promise<Outcome<T>> => {
      const started = performance.now();
      const client = new RuntimeUseClient({ url: sandbox.url, ...(sandbox.token ? { token: sandbox.token } : {}) });
      try {
        const value = await task(client, sandbox);
        return { sandbox: sandbox.name, ok: true, value, ms: performance.now() - started };
      } catch (error) {
        const failure = error instanceof Error ? error : new Error(String(error));
        return { sandbox: sandbox.name, ok: false, error: failure, ms: performance.now() - started };
      }
    }),
  );
}

/** `RUNTIMEUSE_URLS` (comma-separated) as sandboxes named by their host, with `RUNTIMEUSE_TOKEN` for each. */
export function sandboxesFromEnv(env: NodeJS.ProcessEnv = process.env): Sandbox[] {
  const urls = (env.RUNTIMEUSE_URLS ?? "").split(",").filter((url) => url.trim() !== "");
  return urls.map((url) => ({
    name: new URL(url.trim()).host,
    url: url.trim(),
    ...(env.RUNTIMEUSE_TOKEN ? { token: env.RUNTIMEUSE_TOKEN } : {}),
  }));
}

async function main(): Promise<number> {
  const sandboxes = sandboxesFromEnv();
  const prompt = process.argv[2];
  if (sandboxes.length === 0 || prompt === undefined) {
    console.error('usage: RUNTIMEUSE_URLS=ws://host-a:8080,ws://host-b:8080 npx -y tsx examples/fleet.ts "<prompt>"');
    return 2;
  }
  const outcomes = await runFleet(sandboxes, (client) =>
    client.query(prompt, {
      systemPrompt: "You are a careful engineer.",
      model: process.env.RUNTIMEUSE_MODEL ?? "gpt-5",
      timeout: 15 * 60_000,
    }),
  );
  for (const outcome of outcomes) {
    const took = `${(outcome.ms / 1000).toFixed(1)} s`;
    if (!outcome.ok) console.log(`${outcome.sandbox}: failed after ${took}: ${outcome.error.message}`);
    else {
      const data = outcome.value.data;
      console.log(
        `${outcome.sandbox}: ${took}: ${data.type === "text" ? data.text : JSON.stringify(data.structuredOutput)}`,
      );
    }
  }
  return outcomes.every((outcome) => outcome.ok) ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main();
}
