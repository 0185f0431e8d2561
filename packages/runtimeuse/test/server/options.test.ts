import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { echoHandler } from "../../src/handlers/echo.js";
import { RuntimeUseServer, type RuntimeUseServerOptions } from "../../src/server/index.js";

// What an embedder passes to `new RuntimeUseServer` is checked where it is
// given: a value the runtime cannot work with is refused, naming the option.

const refuse = (options: Record<string, unknown>, error: RegExp) =>
  assert.throws(() => new RuntimeUseServer(options as unknown as RuntimeUseServerOptions), error);

describe("new RuntimeUseServer(options)", () => {
  test("no handler, or one without a run method, is a TypeError naming options.handler", () => {
    refuse({}, /^TypeError: RuntimeUseServer: options\.handler must be an AgentHandler .* got undefined$/);
    refuse({ handler: 5 }, /options\.handler must be .* got 5$/);
    refuse({ handler: { name: "x" } }, /options\.handler must be .* got a value of type object$/);
  });

  test("download limits that cannot be used are refused naming the limit; valid ones are taken", () => {
    const handler = echoHandler;
    refuse(
      { handler, downloads: 5 },
      /^TypeError: RuntimeUseServer: options\.downloads must be an object of download limits, got number$/,
    );
    refuse(
      { handler, downloads: { maxBytes: 1 } },
      /^TypeError: RuntimeUseServer: options\.downloads\.maxBytes is not a download limit; known: maxDownloadBytes, /,
    );
    refuse(
      { handler, downloads: { maxDownloadBytes: 0 } },
      /^RangeError: RuntimeUseServer: options\.downloads\.maxDownloadBytes must be a whole number from 1 to \d+, got 0$/,
    );
    refuse(
      { handler, downloads: { idleTimeoutMs: 1.5 } },
      /options\.downloads\.idleTimeoutMs must be a whole number from 1 to 86400000, got 1\.5$/,
    );
    refuse(
      { handler, downloads: { maxEntries: "10" } },
      /options\.downloads\.maxEntries must be a whole number .* got 10$/,
    );
    assert.doesNotThrow(
      () => new RuntimeUseServer({ handler, downloads: { maxDownloadBytes: 2 ** 40, idleTimeoutMs: undefined } }),
    );
  });

  test("a handler class is a TypeError asking for an instance, whether or not its instances could run", () => {
    class Agent {
      async run() {
        return { type: "text" as const, text: "x" };
      }
    }
    refuse(
      { handler: Agent },
      /^TypeError: RuntimeUseServer: options\.handler is the class Agent, not a handler: pass an instance \(new Agent\(\)\)$/,
    );
    refuse({ handler: class Empty {} }, /options\.handler is the class Empty, not a handler/);
    refuse(
      { handler: (() => class {})() },
      /options\.handler is a class, not a handler: pass an instance \(made with new\)$/,
    );
    // An instance, a bare function and an arrow function are handlers.
    for (const handler of [new Agent(), async () => ({ type: "text", text: "x" }), function run() {}]) {
      new RuntimeUseServer({ handler } as unknown as RuntimeUseServerOptions);
    }
  });

  test("an empty host is a TypeError naming options.host", () => {
    refuse(
      { handler: echoHandler, host: "" },
      /^TypeError: RuntimeUseServer: options\.host must be a non-empty string, got ""$/,
    );
    refuse({ handler: echoHandler, host: 8080 }, /options\.host must be a non-empty string, got 8080$/);
  });

  test("a number out of its range, not whole or not a number is a RangeError naming the option and the range", () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ port: -1 }, /options\.port must be a whole number from 0 to 65535, got -1$/],
      [{ port: "8080" }, /options\.port must be a whole number from 0 to 65535, got "8080"$/],
      [{ maxConnections: 0 }, /options\.maxConnections must be a whole number from 1 to /],
      [{ heartbeatIntervalMs: 0 }, /options\.heartbeatIntervalMs must be a whole number from 1 to /],
      [{ pingIntervalMs: 1.5 }, /options\.pingIntervalMs must be a whole number from 100 to /],
      [{ replayBufferBytes: 4096 }, /options\.replayBufferBytes must be a whole number from 1048576 to /],
      [{ sendHighWaterMark: Number.NaN }, /options\.sendHighWaterMark must be a whole number from 1 to .*, got NaN$/],
      [{ killGraceMs: -5 }, /options\.killGraceMs must be a whole number from 0 to /],
    ];
    for (const [options, error] of cases) refuse({ handler: echoHandler, ...options }, error);
  });

  test("a bare function is a handler; options at the ends of their ranges are taken", async () => {
    const server = new RuntimeUseServer({
      handler: async () => ({ type: "text", text: "ok" }),
      port: 0,
      host: "127.0.0.1",
      maxConnections: 1,
      shutdownTimeoutMs: 0,
      maxCapturedStdout: 0,
    });
    const address = await server.startListening();
    assert.ok(address.port > 0);
    await server.stop();
  });
});
