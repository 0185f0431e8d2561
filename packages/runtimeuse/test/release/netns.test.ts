import assert from "node:assert/strict";
import { chmod, copyFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { RuntimeUseClient } from "runtimeuse-client/node";
import { WebSocket } from "ws";
import { leftovers, type NetworkNamespace, requireNetworkNamespaces, withNetworkNamespace } from "./support/netns.js";
import { startListening } from "./support/process.js";
import { builtRelease } from "./support/release.js";

const TOKEN = "netns-test-token";

let dir: string;

before(async () => {
  await requireNetworkNamespaces();
  dir = await mkdtemp(join(tmpdir(), "ru-netns-"));
  await chmod(dir, 0o755);
  await copyFile((await builtRelease()).oneFile, join(dir, "runtimeuse.mjs"));
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The HTTP status a WebSocket upgrade gets (101 when it is accepted). */
function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once("unexpected-response", (_request, response) => {
      resolve(response.statusCode ?? 0);
      ws.terminate();
    });
    ws.once("open", () => {
      resolve(101);
      ws.close();
    });
    ws.once("error", (error) => reject(error));
  });
}

describe("across a network namespace", () => {
  test("the runtime in its own network namespace on --host 0.0.0.0 with a token: over the veth pair /health answers, no token gets 401, the client with the token completes a request; the namespace and links are gone afterwards", async () => {
    let made: NetworkNamespace | undefined;
    await withNetworkNamespace(async (namespace) => {
      made = namespace;
      // As an unprivileged user inside the namespace, the way a sandbox runs it.
      const [file, args] = namespace.exec([
        ...["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"],
        ...[process.execPath, "runtimeuse.mjs", "--agent", "echo", "--host", "0.0.0.0", "--port", "8080"],
        ...["--token", TOKEN],
      ]);
      const runtime = await startListening(file, args, { cwd: dir, env: { PATH: process.env.PATH, HOME: dir } });
      try {
        assert.equal(runtime.url, "ws://0.0.0.0:8080");
        const url = `ws://${namespace.sandboxAddress}:8080`;
        const health = await fetch(`http://${namespace.sandboxAddress}:8080/health`);
        assert.equal(health.status, 200);
        assert.equal(((await health.json()) as { status?: string }).status, "ok");
        assert.equal(await upgradeStatus(url), 401);
        assert.equal(await upgradeStatus(`${url}/?token=wrong`), 401);
        const answer = await new RuntimeUseClient({ url, token: TOKEN }).query("across the veth pair", {
          systemPrompt: "You are a test.",
          model: "echo",
        });
        assert.deepEqual(answer.data, { type: "text", text: "across the veth pair" });
        assert.doesNotMatch(runtime.stderr(), new RegExp(TOKEN), "the token stays out of the logs");
      } finally {
        assert.deepEqual(await runtime.stop(), { code: 0, signal: null }, runtime.stderr());
      }
    });
    assert.ok(made, "the namespace was made");
    assert.deepEqual(leftovers(made), []);
  });

  test("the namespace and links are removed when the body fails", async () => {
    let made: NetworkNamespace | undefined;
    await assert.rejects(
      withNetworkNamespace(async (namespace) => {
        made = namespace;
        assert.deepEqual(
          leftovers(namespace),
          [namespace.name, namespace.hostLink],
          "made: the host sees its own link",
        );
        throw new Error("the test body failed");
      }),
      /the test body failed/,
    );
    assert.ok(made);
    assert.deepEqual(leftovers(made), []);
  });
});
