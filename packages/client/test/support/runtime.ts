import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { AgentHandlerFunction, AgentHandlerLike, AgentInvocation } from "../../../runtimeuse/src/handler.js";
import { startTestServer, type TestServer } from "../../../runtimeuse/test/support/server.js";

export { startTestServer, type TestServer };

/** Default request options for queries whose system prompt and model do not matter. */
export const Q = { systemPrompt: "You are a test.", model: "test-model" } as const;

/** Generous bound for waiting on a condition in a test; a hang fails the test instead of the run. */
export const WAIT_MS = 20_000;

/** Polls `condition` until it holds, failing after WAIT_MS. */
export async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Resolves when `signal` fires (so a handler can block until it is cancelled). */
export function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}

/** A handler that records every invocation and delegates to `body` (default: echo the prompt). */
export function recordingHandler(
  body: AgentHandlerLike = async (invocation) => ({ type: "text", text: invocation.userPrompt }),
): { handler: AgentHandlerFunction; invocations: AgentInvocation[] } {
  const invocations: AgentInvocation[] = [];
  const run = typeof body === "function" ? body : body.run.bind(body);
  return {
    invocations,
    handler: (invocation, sender) => {
      invocations.push(invocation);
      return run(invocation, sender);
    },
  };
}

/** A real HTTP server on 127.0.0.1 serving fixed files by path, for downloads. */
export async function startFileServer(
  files: Record<string, string>,
): Promise<{ url: string; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const http = createServer((request, response) => {
    requests.push(request.url ?? "");
    const body = files[request.url ?? ""];
    if (body === undefined) {
      response.writeHead(404).end("not found");
      return;
    }
    response.writeHead(200, { "content-type": "application/octet-stream" }).end(body);
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => http.close(() => resolve())),
  };
}

/** Runs `fn` against a fresh real runtime and stops it afterwards. */
export async function withRuntime<T>(
  options: Parameters<typeof startTestServer>[0],
  fn: (runtime: TestServer) => Promise<T>,
): Promise<T> {
  const runtime = await startTestServer(options);
  try {
    return await fn(runtime);
  } finally {
    await runtime.close();
  }
}
