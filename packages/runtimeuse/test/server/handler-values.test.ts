import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { AgentHandler } from "../../src/handler.js";
import { type Frame, invocation, RawClient } from "../support/client.js";
import { startTestServer, type TestServer } from "../support/server.js";

// What a handler hands the runtime to send and JSON cannot carry (a BigInt, a
// cycle, a toJSON that throws), or that is no valid frame: each ends its own
// request with a clear error (or is refused to the handler), and the
// connection serves the next request.

const SECRET = "sk-handler-values-0123456789";
const circular = (): Record<string, unknown> => {
  const value: Record<string, unknown> = { name: "loop" };
  value.self = value;
  return value;
};
/** Serialises to the secret: the redaction must see what is sent, not the object. */
class Token {
  toJSON() {
    return `token ${SECRET}`;
  }
}
const thrown: string[] = [];

const handler: AgentHandler = {
  async run(run, sender) {
    const result = (value: unknown) => value as never;
    try {
      switch (run.userPrompt) {
        case "bigint-metadata":
          return result({ type: "text", text: "x", metadata: { count: 1n } });
        case "circular-metadata":
          return result({ type: "text", text: "x", metadata: circular() });
        case "throwing-toJSON":
          return result({
            type: "text",
            text: "x",
            metadata: {
              at: {
                toJSON() {
                  throw new Error("toJSON refused");
                },
              },
            },
          });
        case "bigint-structured":
          return result({ type: "structured_output", structuredOutput: { n: 2n } });
        case "toJSON-metadata":
          return result({
            type: "structured_output",
            structuredOutput: { token: new Token() },
            metadata: { when: new Token() },
          });
        case "undefined":
          return result(undefined);
        case "error-circular-metadata":
          sender.sendErrorMessage("gave up", circular());
          return result(undefined);
        case "error-string-metadata":
          sender.sendErrorMessage("gave up", "details" as never);
          return { type: "text", text: "dropped" };
        case "assistant-string":
          await sender.sendAssistantMessage("one block" as never);
          return { type: "text", text: "unreached" };
        case "output-stream":
          await sender.sendCommandOutput("ls", "stdin" as never, "x");
          return { type: "text", text: "unreached" };
        case "approval-bigint":
          await run.requestApproval({ toolName: "deploy", input: { size: 3n } });
          return { type: "text", text: "unreached" };
        case "approval-array":
          await run.requestApproval({ toolName: "deploy", input: ["a"] as never });
          return { type: "text", text: "unreached" };
        case "question-number":
          await run.ask({ question: 42 as never });
          return { type: "text", text: "unreached" };
        case "command-undefined":
          await run.runCommand(undefined as never);
          return { type: "text", text: "unreached" };
        case "command-timeout":
          await run.runCommand("echo ran", { timeoutMs: -1 });
          return { type: "text", text: "unreached" };
        case "command-capture":
          await run.runCommand("echo ran", { maxCapturedBytes: Number.NaN });
          return { type: "text", text: "unreached" };
        case "command-env":
          await run.runCommand("echo ran", { env: "A=1" as never });
          return { type: "text", text: "unreached" };
        case "huge-error":
          // A secret across the place where the middle of the text is cut (some 32,700 characters in).
          throw new Error(`${"x".repeat(32_690)}${SECRET}${"y".repeat(2_000_000)}`);
        default:
          return { type: "text", text: `ok ${run.userPrompt}` };
      }
    } catch (error) {
      thrown.push(error instanceof TypeError ? `TypeError: ${error.message}` : String(error));
      throw error;
    }
  },
};

let server: TestServer;
before(async () => {
  server = await startTestServer({ handler });
});
after(() => server.close());

/** Sends `prompt` on `client`, then "next" on the same connection: returns both terminals. */
async function thenNext(client: RawClient, prompt: string, extra: Record<string, unknown> = {}) {
  client.send(invocation({ user_prompt: prompt, secrets_to_redact: [SECRET], ...extra }));
  const first = await client.untilTerminal();
  client.send(invocation({ user_prompt: "next" }));
  const { terminal: next } = await client.untilTerminal();
  assert.deepEqual(next.data, { type: "text", text: "ok next" }, "the connection serves the next request");
  return first;
}

const codeOf = (frame: Frame) => (frame.metadata as { code?: string }).code;

describe("handler values that cannot be sent", () => {
  test("a result whose metadata or structured output JSON cannot carry ends with invalid_result naming why", async () => {
    const client = await RawClient.connect(server.url);
    try {
      const cases: Array<[string, RegExp]> = [
        ["bigint-metadata", /^the handler returned a result whose metadata cannot be sent as JSON: .*BigInt/],
        [
          "circular-metadata",
          /^the handler returned a result whose metadata cannot be sent as JSON: .*circular.*'self'/,
        ],
        ["throwing-toJSON", /metadata cannot be sent as JSON: toJSON refused$/],
        ["bigint-structured", /^the handler's structuredOutput cannot be sent as JSON: .*BigInt/],
        ["undefined", /expected \{type: "text", text: string\}.*; got undefined$/],
      ];
      for (const [prompt, error] of cases) {
        const { terminal } = await thenNext(client, prompt);
        assert.equal(terminal.message_type, "error_message", prompt);
        assert.equal(codeOf(terminal), "invalid_result", prompt);
        assert.match(String(terminal.error), error, prompt);
        assert.doesNotMatch(String(terminal.error), /\n/, `${prompt}: one line`);
      }
    } finally {
      await client.close();
    }
    assert.ok(!server.logs.some((line) => /session failed|inside the runtime/.test(line)), server.logs.join("\n"));
  });

  test("what toJSON returns is what is sent, and it is redacted", async () => {
    const client = await RawClient.connect(server.url);
    try {
      const { terminal } = await thenNext(client, "toJSON-metadata");
      assert.deepEqual(terminal, {
        message_type: "result_message",
        metadata: { when: "token [REDACTED]" },
        data: { type: "structured_output", structured_output: { token: "token [REDACTED]" } },
      });
    } finally {
      await client.close();
    }
  });

  test("sendErrorMessage with metadata that cannot be sent still ends the request with its error", async () => {
    const client = await RawClient.connect(server.url);
    try {
      for (const prompt of ["error-circular-metadata", "error-string-metadata"]) {
        const { terminal } = await thenNext(client, prompt);
        assert.deepEqual(terminal, {
          message_type: "error_message",
          error: "gave up",
          metadata: { code: "handler_error" },
        });
      }
    } finally {
      await client.close();
    }
    assert.ok(
      server.logs.some((line) => line.includes("the handler's error metadata cannot be sent as JSON; left out")),
    );
    assert.ok(server.logs.some((line) => line.includes("the handler's error metadata is not an object; left out")));
  });

  test("a sender call, prompt or command that cannot be a frame or cannot run throws a TypeError to the handler", async () => {
    const client = await RawClient.connect(server.url);
    thrown.length = 0;
    try {
      const cases: Array<[string, RegExp, Record<string, unknown>?]> = [
        [
          "assistant-string",
          /^TypeError: sendAssistantMessage takes an array of strings .*got the string "one block"$/,
        ],
        [
          "output-stream",
          /^TypeError: sendCommandOutput takes the stream "stdout" or "stderr", got the string "stdin"$/,
        ],
        [
          "approval-bigint",
          /^TypeError: requestApproval: the prompt cannot be sent as JSON: .*BigInt/,
          { approval_policy: "always" },
        ],
        [
          "approval-array",
          /^TypeError: requestApproval: approval_request_message: input: expected record, received array$/,
          { approval_policy: "always" },
        ],
        [
          "question-number",
          /^TypeError: ask: question_request_message: question: expected string/,
          { allow_questions: true },
        ],
        ["command-undefined", /^TypeError: runCommand: the command line must be a string, got undefined$/],
        [
          "command-timeout",
          /^TypeError: runCommand: options\.timeoutMs must be a number of milliseconds above 0 \(Infinity for no limit\), got -1$/,
        ],
        ["command-capture", /^TypeError: runCommand: options\.maxCapturedBytes must be .*, got NaN$/],
        ["command-env", /^TypeError: runCommand: options\.env must be an object of strings, got the string "A=1"$/],
      ];
      for (const [prompt, error, extra] of cases) {
        const { frames, terminal } = await thenNext(client, prompt, extra);
        assert.deepEqual(
          frames.filter((frame) => frame.message_type !== "heartbeat_message").slice(0, -1),
          [],
          `${prompt}: nothing but the terminal was sent`,
        );
        assert.equal(codeOf(terminal), "handler_error", prompt);
        assert.match(thrown.at(-1) ?? "", error, prompt);
        assert.equal(`TypeError: ${terminal.error}`, thrown.at(-1), `${prompt}: the client reads the same`);
      }
    } finally {
      await client.close();
    }
  });

  test("an error text longer than a client frame is cut in the middle, after the redaction: no part of a secret at the cut", async () => {
    const client = await RawClient.connect(server.url);
    try {
      const { terminal } = await thenNext(client, "huge-error");
      const error = String(terminal.error);
      assert.equal(codeOf(terminal), "handler_error");
      assert.ok(error.length < 70_000, `${error.length} characters`);
      assert.ok(/^x+\[REDACTED\]y* \[\.\.\. \d+ characters cut \.\.\.\] y+$/.test(error), error.slice(32_600, 32_800));
      assert.ok(!error.includes(SECRET.slice(0, 6)));
    } finally {
      await client.close();
    }
  });
});
