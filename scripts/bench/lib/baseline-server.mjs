#!/usr/bin/env node
// The bare baseline: a minimal `ws` server that answers the benchmark's
// requests with the same frames as the runtime with the bench handlers, but
// with no validation, no session state machine, no redaction and no logs.
// Run as a child process: `node baseline-server.mjs [--port N] [--host H]`;
// prints `baseline listening on ws://HOST:PORT` once ready; SIGTERM stops it.
import { parseArgs } from "node:util";
import { WebSocketServer } from "ws";
import { SEND_HIGH_WATER_MARK, STREAM_MODEL, streamBlock, streamCount } from "./messages.mjs";

const { values } = parseArgs({
  options: { port: { type: "string", default: "0" }, host: { type: "string", default: "127.0.0.1" } },
});

/** Sends one frame; resolves once the socket is below the high-water mark (same rule as the runtime). */
function send(ws, text) {
  if (ws.readyState !== ws.OPEN) return Promise.resolve();
  if (ws.bufferedAmount + text.length <= SEND_HIGH_WATER_MARK) {
    ws.send(text);
    return Promise.resolve();
  }
  return new Promise((resolve) => ws.send(text, () => resolve()));
}

async function answer(ws, message) {
  if (message.model === STREAM_MODEL) {
    const count = streamCount(message.user_prompt);
    for (let i = 0; i < count && ws.readyState === ws.OPEN; i++) {
      await send(ws, JSON.stringify({ message_type: "assistant_message", text_blocks: [streamBlock(i)] }));
    }
    await send(
      ws,
      JSON.stringify({
        message_type: "result_message",
        metadata: {},
        data: { type: "text", text: `streamed ${count}` },
      }),
    );
    return;
  }
  await send(ws, JSON.stringify({ message_type: "assistant_message", text_blocks: [message.user_prompt] }));
  await send(
    ws,
    JSON.stringify({ message_type: "result_message", metadata: {}, data: { type: "text", text: message.user_prompt } }),
  );
}

const wss = new WebSocketServer({ port: Number(values.port), host: values.host });
wss.on("connection", (ws) => {
  ws.on("error", () => {});
  ws.on("message", (data) => {
    let message;
    try {
      message = JSON.parse(data.toString("utf8"));
    } catch {
      return;
    }
    if (message?.message_type === "invocation_message") void answer(ws, message);
    else if (message?.message_type === "end_session_message") {
      ws.send(JSON.stringify({ message_type: "end_session_confirm_message" }));
      ws.close(1000, "session ended");
    }
  });
});
wss.on("listening", () => {
  const { port } = wss.address();
  process.stdout.write(`baseline listening on ws://${values.host}:${port}\n`);
});
process.once("SIGTERM", () => {
  for (const ws of wss.clients) ws.terminate();
  wss.close(() => process.exit(0));
});
