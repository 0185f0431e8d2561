import type { ServerResponse } from "node:http";
import { chunks, type RecordedRequest, type ScriptedServer, startScriptedHttp, writeJson, writeSse } from "./http.js";

/**
 * A scripted Anthropic Messages API on loopback: `POST /v1/messages` with
 * `stream: true` answers with the real event stream (message_start,
 * content_block_start, text_delta / input_json_delta, content_block_stop,
 * message_delta with usage, message_stop). Each request takes the next turn
 * of the script; a turn may be a function of the request, to check the tool
 * results the agent sent back before answering.
 */

export type ContentSpec =
  | { type: "text"; text: string }
  | { type: "tool_use"; name: string; input: Record<string, unknown>; id?: string };

export type TurnReply =
  | { type: "output"; content: ContentSpec[]; usage?: ScriptedUsage }
  | { type: "http_error"; status: number; message: string; errorType: string }
  /** Holds the response open, never answering (until the server closes). */
  | { type: "hang" };

/** Tokens one reply reports; cache reads and writes are 0 unless given. */
export interface ScriptedUsage {
  input: number;
  output: number;
  cacheRead?: number;
  cacheWrite?: number;
}

export type Turn = TurnReply | ((request: RecordedRequest) => TurnReply);

export interface ScriptedAnthropic extends ScriptedServer {
  /** For `ANTHROPIC_BASE_URL`. */
  baseURL: string;
  /** The bodies of `POST /v1/messages` requests, in order. */
  messageRequests(): Record<string, unknown>[];
}

export const text = (value: string): ContentSpec => ({ type: "text", text: value });
export const toolUse = (name: string, input: Record<string, unknown>, id?: string): ContentSpec => ({
  type: "tool_use",
  name,
  input,
  ...(id === undefined ? {} : { id }),
});
export const reply = (content: ContentSpec[], usage?: ScriptedUsage): TurnReply => ({
  type: "output",
  content,
  ...(usage === undefined ? {} : { usage }),
});

const isMessagesCall = (request: RecordedRequest) =>
  request.method === "POST" && /^\/v1\/messages(\?|$)/.test(request.path);

export async function startScriptedAnthropic(script: Turn[]): Promise<ScriptedAnthropic> {
  let next = 0;
  const server = await startScriptedHttp((request, response) => {
    if (!isMessagesCall(request)) {
      writeJson(response, 404, {
        type: "error",
        error: { type: "not_found_error", message: `scripted Anthropic: no route ${request.method} ${request.path}` },
      });
      return;
    }
    const turn = script[next++];
    if (turn === undefined) {
      writeJson(response, 500, {
        type: "error",
        error: { type: "api_error", message: `scripted Anthropic: script exhausted at request ${next}` },
      });
      return;
    }
    respond(typeof turn === "function" ? turn(request) : turn, request, response, next);
  });
  return {
    ...server,
    baseURL: server.origin,
    messageRequests: () => server.requests.filter(isMessagesCall).map((r) => r.body ?? {}),
  };
}

function respond(answer: TurnReply, request: RecordedRequest, response: ServerResponse, index: number): void {
  if (answer.type === "hang") {
    response.writeHead(200, { "content-type": "text/event-stream" });
    return;
  }
  if (answer.type === "http_error") {
    response.setHeader("request-id", `req_scripted_${index}`);
    writeJson(response, answer.status, { type: "error", error: { type: answer.errorType, message: answer.message } });
    return;
  }
  if (request.body?.stream !== true) {
    writeJson(response, 400, {
      type: "error",
      error: { type: "invalid_request_error", message: "scripted Anthropic answers streaming requests only" },
    });
    return;
  }
  response.writeHead(200, { "content-type": "text/event-stream", "request-id": `req_scripted_${index}` });
  const send = (type: string, data: Record<string, unknown>) => writeSse(response, type, { type, ...data });
  const usage: ScriptedUsage = answer.usage ?? { input: 10, output: 5 };
  send("message_start", {
    message: {
      id: `msg_scripted_${index}`,
      type: "message",
      role: "assistant",
      model: String(request.body.model ?? "scripted"),
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: {
        input_tokens: usage.input,
        output_tokens: 1,
        cache_creation_input_tokens: usage.cacheWrite ?? 0,
        cache_read_input_tokens: usage.cacheRead ?? 0,
      },
    },
  });
  answer.content.forEach((block, at) => {
    if (block.type === "text") {
      send("content_block_start", { index: at, content_block: { type: "text", text: "" } });
      for (const delta of chunks(block.text)) {
        send("content_block_delta", { index: at, delta: { type: "text_delta", text: delta } });
      }
    } else {
      const id = block.id ?? `toolu_scripted_${index}_${at}`;
      send("content_block_start", { index: at, content_block: { type: "tool_use", id, name: block.name, input: {} } });
      for (const delta of chunks(JSON.stringify(block.input), 16)) {
        send("content_block_delta", { index: at, delta: { type: "input_json_delta", partial_json: delta } });
      }
    }
    send("content_block_stop", { index: at });
  });
  const stopReason = answer.content.some((block) => block.type === "tool_use") ? "tool_use" : "end_turn";
  send("message_delta", {
    delta: { stop_reason: stopReason, stop_sequence: null },
    usage: { output_tokens: usage.output },
  });
  send("message_stop", {});
  response.end();
}

/** The text of the `tool_result` for `toolUseId` in a request's last user message, if any. */
export function toolResult(body: Record<string, unknown> | undefined, toolUseId: string): string | undefined {
  const messages = body?.messages;
  if (!Array.isArray(messages)) return undefined;
  for (const message of messages) {
    const content = (message as { content?: unknown }).content;
    if (!Array.isArray(content)) continue;
    for (const block of content as Array<Record<string, unknown>>) {
      if (block.type !== "tool_result" || block.tool_use_id !== toolUseId) continue;
      const value = block.content;
      if (typeof value === "string") return value;
      if (Array.isArray(value)) {
        return value.map((part) => (part as { text?: unknown }).text ?? "").join("");
      }
      return "";
    }
  }
  return undefined;
}
