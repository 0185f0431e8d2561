import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { before, test } from "node:test";
import { assertBuilt } from "./support/built.js";

const MAIN_EXPORTS = [
  "AgentRuntimeError",
  "CancelledError",
  "ConnectionError",
  "ConnectionLostError",
  "InvalidOptionsError",
  "ProtocolViolationError",
  "RuntimeUseClient",
  "RuntimeUseClientError",
  "RuntimeUseSession",
  "SessionClosedError",
  "StandardWebSocketTransport",
  "TimeoutError",
];

before(assertBuilt);

/** The entry for runtimes other than Node.js, which Node itself never resolves the package name to. */
const standardEntry = () => import("../dist/index.js");

test("the standard entry exports exactly its public API", async () => {
  const api = await standardEntry();
  assert.deepEqual(Object.keys(api).sort(), MAIN_EXPORTS);
});

test("on Node.js, runtimeuse-client resolves to the ws-based entry, the same module as runtimeuse-client/node", async () => {
  const byName = await import("runtimeuse-client");
  const node = await import("runtimeuse-client/node");
  assert.equal(byName, node);
  assert.ok(Object.keys(byName).includes("NodeWebSocketTransport"));
});

test("runtimeuse-client/node exports the same API plus the Node transport, with a client that extends the main one", async () => {
  const api = await standardEntry();
  const node = await import("runtimeuse-client/node");
  assert.deepEqual(Object.keys(node).sort(), [...MAIN_EXPORTS, "NodeWebSocketTransport"].sort());
  for (const name of MAIN_EXPORTS) {
    if (name !== "RuntimeUseClient") assert.equal(node[name as keyof typeof node], api[name as keyof typeof api], name);
  }
  const client = new node.RuntimeUseClient({ url: "ws://127.0.0.1:1" });
  assert.ok(client instanceof api.RuntimeUseClient);
});

test("the error classes form one family with stable names", async () => {
  const api = await standardEntry();
  for (const name of MAIN_EXPORTS.filter((n) => n.endsWith("Error"))) {
    const ErrorClass = api[name as keyof typeof api] as unknown as new (...args: never[]) => Error;
    assert.equal(ErrorClass.name, name);
    assert.ok(ErrorClass.prototype instanceof Error);
    if (name !== "RuntimeUseClientError") assert.ok(ErrorClass.prototype instanceof api.RuntimeUseClientError, name);
  }
  const error = new api.AgentRuntimeError("boom", { code: "handler_error" });
  assert.equal(error.name, "AgentRuntimeError");
  assert.equal(String(error), "AgentRuntimeError: boom");
});

test("package.json publishes two entry points (Node.js first, types first within each), and depends only on the protocol package and ws", async () => {
  const pkg = JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8"));
  assert.deepEqual(pkg.exports, {
    ".": {
      node: { types: "./dist/node.d.ts", import: "./dist/node.js" },
      types: "./dist/index.d.ts",
      import: "./dist/index.js",
    },
    "./node": { types: "./dist/node.d.ts", import: "./dist/node.js" },
    "./package.json": "./package.json",
  });
  assert.deepEqual(Object.keys(pkg.dependencies).sort(), ["@runtimeuse/protocol", "ws"]);
  assert.equal(pkg.type, "module");
  assert.equal(pkg.sideEffects, false);
});
