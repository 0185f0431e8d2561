import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { AgentHandlerFunction } from "../../runtimeuse/src/handler.js";
import { echoHandler } from "../../runtimeuse/src/handlers/index.js";
import { FaultProxy } from "../../runtimeuse/test/support/fault-proxy.js";
import {
  type ApprovalRequest,
  NodeWebSocketTransport,
  type QuestionRequest,
  type ReconnectEvent,
  RuntimeUseClient,
  type Transport,
} from "../src/node.js";
import { Q, withRuntime } from "./support/runtime.js";

/*
 * A person in the loop across a network drop: the real runtime and its echo
 * agent, the real client, and between them the fault proxy. An approval or
 * question the client has not answered yet must reach it after the resume,
 * be asked once, and its answer must take effect once.
 */

const PING_MS = 150;

/** The Node transport, recording the type of every frame received and sent on any of its connections. */
function recordingTransport(frames: { received: string[]; sent: string[] }): Transport {
  const inner = new NodeWebSocketTransport({ pingInterval: PING_MS });
  const typeOf = (frame: string) => String((JSON.parse(frame) as { message_type?: unknown }).message_type);
  return {
    sendsHeaders: inner.sendsHeaders,
    connect: async (target, handlers) => {
      const connection = await inner.connect(target, {
        ...handlers,
        onMessage: (data) => {
          if (typeof data === "string") frames.received.push(typeOf(data));
          handlers.onMessage(data);
        },
      });
      return {
        send: (frame) => {
          connection.send(frame);
          frames.sent.push(typeOf(frame));
        },
        close: () => connection.close(),
        pause: () => connection.pause?.(),
        resume: () => connection.resume?.(),
      };
    },
  };
}

const count = (types: string[], type: string) => types.filter((t) => t === type).length;

interface Rig {
  proxy: FaultProxy;
  /** The client, through the proxy, with every frame recorded and every resume counted. */
  client: RuntimeUseClient;
  frames: { received: string[]; sent: string[] };
  reconnects: ReconnectEvent[];
  /** A file the agent's tool call appends to: one line per time it ran. */
  applied: string;
  /** Runs when a request reaches the agent, before the agent starts. */
  beforeAgent: () => void;
}

/** Runs `fn` with the echo agent behind a fault proxy. */
async function throughProxy(fn: (rig: Rig) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "client-hitl-resume-"));
  let rig: Rig | undefined;
  const handler: AgentHandlerFunction = (invocation, sender) => {
    rig?.beforeAgent();
    return echoHandler.run(invocation, sender);
  };
  try {
    await withRuntime({ handler, resumeGraceMs: 15_000, pingIntervalMs: PING_MS }, async (runtime) => {
      const proxy = await FaultProxy.start(runtime.port);
      const frames = { received: [] as string[], sent: [] as string[] };
      const reconnects: ReconnectEvent[] = [];
      const client = new RuntimeUseClient({
        url: proxy.url,
        transport: recordingTransport(frames),
        maxReconnectDelay: 200,
        onReconnect: (event) => reconnects.push(event),
      });
      rig = {
        proxy,
        client,
        frames,
        reconnects,
        applied: join(dir, "applied"),
        beforeAgent: () => {},
      };
      try {
        await fn(rig);
      } finally {
        await proxy.close();
      }
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("a person in the loop across a resumed connection", () => {
  test("an approval request sent while the connection was silently dead is replayed after the resume, asked once, and its allow runs the tool once", async () => {
    await throughProxy(async (rig) => {
      const { proxy, client, frames, reconnects, applied } = rig;
      const asked: ApprovalRequest[] = [];
      // The connection stalls before the agent starts, so the approval request goes into a dead connection.
      rig.beforeAgent = () => assert.equal(proxy.cut("stall"), 1);
      const result = await client.query("go", {
        ...Q,
        agentEnv: { ECHO_COMMAND: `echo once >> ${applied}` },
        approvalPolicy: ["shell"],
        onApprovalRequest: (request) => {
          asked.push(request);
          return { decision: "allow" };
        },
      });
      assert.equal(reconnects.length, 1, "the request was answered on the resumed connection");
      assert.equal(result.metadata.reconnects, 1);
      assert.equal(asked.length, 1, "onApprovalRequest was called once");
      assert.deepEqual(asked[0]?.input, { command: `echo once >> ${applied}` });
      assert.equal(count(frames.received, "approval_request_message"), 1, "the request arrived once, by replay");
      assert.equal(count(frames.received, "response_error_message"), 0, "no answer was refused");
      assert.deepEqual(result.data, { type: "text", text: "go\nshell: exit_code 0" });
      assert.equal(await readFile(applied, "utf8"), "once\n", "the tool ran once");
    });
  });

  test("answers lost on their way to the runtime (a reset, a stall) are re-sent after each resume and applied once", async () => {
    await throughProxy(async ({ proxy, client, frames, reconnects, applied }) => {
      const questions: QuestionRequest[] = [];
      const asked: ApprovalRequest[] = [];
      const result = await client.query("go", {
        ...Q,
        agentEnv: { ECHO_QUESTION: "Which region?", ECHO_COMMAND: `echo once >> ${applied}` },
        approvalPolicy: "always",
        // Each callback breaks the connection after its request arrived and before its answer is sent.
        onQuestion: (question) => {
          questions.push(question);
          assert.equal(proxy.cut("reset"), 1);
          return "eu-west-1";
        },
        onApprovalRequest: (request) => {
          asked.push(request);
          assert.equal(proxy.cut("stall"), 1);
          return { decision: "allow" };
        },
      });
      assert.equal(reconnects.length, 2, "one resume per cut");
      assert.equal(result.metadata.reconnects, 2);
      assert.equal(questions.length, 1, "onQuestion was called once");
      assert.equal(asked.length, 1, "onApprovalRequest was called once");
      assert.equal(count(frames.received, "question_request_message"), 1);
      assert.equal(count(frames.received, "approval_request_message"), 1);
      assert.equal(count(frames.received, "response_error_message"), 0, "no answer arrived twice or too late");
      // Each answer went into its broken connection first, then again after the resume.
      assert.equal(count(frames.sent, "question_response_message"), 2);
      assert.equal(count(frames.sent, "approval_response_message"), 2);
      assert.deepEqual(result.data, { type: "text", text: "go\nanswer: eu-west-1\nshell: exit_code 0" });
      assert.equal(await readFile(applied, "utf8"), "once\n", "the tool ran once");
    });
  });
});
