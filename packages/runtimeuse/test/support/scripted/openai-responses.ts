import type { ServerResponse } from "node:http";
import { chunks, type RecordedRequest, type ScriptedServer, startScriptedHttp, writeJson, writeSse } from "./http.js";

/**
 * A scripted OpenAI Responses API on loopback: `POST /v1/responses` with
 * `stream: true` answers with the real event stream (response.created,
 * output_item.added, output_text.delta, function_call_arguments.delta, ...,
 * response.completed with usage). Each request takes the next turn of the
 * script; a turn may be a function of the request, to check what the agent
 * sent back (a tool's output) before answering.
 */

export type OutputSpec =
  | { type: "message"; text: string }
  | { type: "function_call"; name: string; arguments: Record<string, unknown>; callId?: string }
  /** A hosted web search the API ran itself (the agent only sees it happened). */
  | { type: "web_search_call"; query: string };

export type TurnReply =
  | { type: "output"; output: OutputSpec[]; usage?: { input: number; output: number; cached?: number } }
  | { type: "http_error"; status: number; message: string; errorType?: string }
  /** Holds the response open, never answering (until the server closes). */
  | { type: "hang" };

export type Turn = TurnReply | ((request: RecordedRequest) => TurnReply);

export interface ScriptedOpenAI extends ScriptedServer {
  /** Base URL for the SDK (`OPENAI_BASE_URL`): `http://127.0.0.1:PORT/v1`. */
  baseURL: string;
  /** The bodies of `POST /v1/responses` requests, in order. */
  responseRequests(): Record<string, unknown>[];
}

export const message = (text: string): OutputSpec => ({ type: "message", text });
export const functionCall = (name: string, args: Record<string, unknown>, callId?: string): OutputSpec => ({
  type: "function_call",
  name,
  arguments: args,
  ...(callId === undefined ? {} : { callId }),
});
export const webSearch = (query: string): OutputSpec => ({ type: "web_search_call", query });
export const reply = (output: OutputSpec[], usage?: { input: number; output: number; cached?: number }): TurnReply => ({
  type: "output",
  output,
  ...(usage === undefined ? {} : { usage }),
});

export async function startScriptedOpenAI(script: Turn[]): Promise<ScriptedOpenAI> {
  let next = 0;
  const server = await startScriptedHttp((request, response) => {
    if (request.method !== "POST" || !request.path.startsWith("/v1/responses")) {
      writeJson(response, 404, { error: { message: `scripted OpenAI: no route ${request.method} ${request.path}` } });
      return;
    }
    const turn = script[next++];
    if (turn === undefined) {
      writeJson(response, 500, { error: { message: `scripted OpenAI: script exhausted at request ${next}` } });
      return;
    }
    const answer = typeof turn === "function" ? turn(request) : turn;
    respond(answer, request, response, next);
  });
  return {
    ...server,
    baseURL: `${server.origin}/v1`,
    responseRequests: () =>
      server.requests.filter((r) => r.method === "POST" && r.path.startsWith("/v1/responses")).map((r) => r.body ?? {}),
  };
}

function respond(answer: TurnReply, request: RecordedRequest, response: ServerResponse, index: number): void {
  if (answer.type === "hang") {
    response.writeHead(200, { "content-type": "text/event-stream" });
    return;
  }
  if (answer.type === "http_error") {
    response.setHeader("x-request-id", `req_scripted_${index}`);
    writeJson(response, answer.status, {
      error: { message: answer.message, type: answer.errorType ?? "invalid_request_error", param: null, code: null },
    });
    return;
  }
  if (request.body?.stream !== true) {
    writeJson(response, 400, { error: { message: "scripted OpenAI answers streaming requests only" } });
    return;
  }
  response.writeHead(200, { "content-type": "text/event-stream", "x-request-id": `req_scripted_${index}` });
  let sequence = 0;
  const send = (type: string, data: Record<string, unknown>) =>
    writeSse(response, type, { type, sequence_number: sequence++, ...data });
  const base = {
    id: `resp_${index}`,
    object: "response",
    created_at: Math.floor(Date.now() / 1000),
    model: String(request.body.model ?? "scripted"),
    parallel_tool_calls: true,
    tool_choice: "auto",
    tools: [],
    error: null,
    incomplete_details: null,
  };
  send("response.created", { response: { ...base, status: "in_progress", output: [], usage: null } });
  send("response.in_progress", { response: { ...base, status: "in_progress", output: [], usage: null } });

  const done: Record<string, unknown>[] = [];
  answer.output.forEach((spec, outputIndex) => {
    if (spec.type === "message") done.push(streamMessage(spec.text, outputIndex, index, send));
    else if (spec.type === "function_call") done.push(streamCall(spec, outputIndex, index, send));
    else done.push(streamWebSearch(spec.query, outputIndex, index, send));
  });
  const usage: { input: number; output: number; cached?: number } = answer.usage ?? { input: 10, output: 5 };
  send("response.completed", {
    response: {
      ...base,
      status: "completed",
      output: done,
      usage: {
        input_tokens: usage.input,
        input_tokens_details: { cached_tokens: usage.cached ?? 0 },
        output_tokens: usage.output,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: usage.input + usage.output,
      },
    },
  });
  response.end();
}

type Send = (type: string, data: Record<string, unknown>) => void;

function streamMessage(text: string, outputIndex: number, turn: number, send: Send): Record<string, unknown> {
  const id = `msg_${turn}_${outputIndex}`;
  const item = { id, type: "message", role: "assistant", status: "in_progress", content: [] };
  send("response.output_item.added", { output_index: outputIndex, item });
  const where = { item_id: id, output_index: outputIndex, content_index: 0 };
  send("response.content_part.added", { ...where, part: { type: "output_text", text: "", annotations: [] } });
  for (const delta of chunks(text)) send("response.output_text.delta", { ...where, delta, logprobs: [] });
  send("response.output_text.done", { ...where, text, logprobs: [] });
  const part = { type: "output_text", text, annotations: [] };
  send("response.content_part.done", { ...where, part });
  const finished = { ...item, status: "completed", content: [part] };
  send("response.output_item.done", { output_index: outputIndex, item: finished });
  return finished;
}

function streamCall(
  spec: Extract<OutputSpec, { type: "function_call" }>,
  outputIndex: number,
  turn: number,
  send: Send,
): Record<string, unknown> {
  const id = `fc_${turn}_${outputIndex}`;
  const args = JSON.stringify(spec.arguments);
  const item = {
    id,
    type: "function_call",
    status: "in_progress",
    call_id: spec.callId ?? `call_${turn}_${outputIndex}`,
    name: spec.name,
    arguments: "",
  };
  send("response.output_item.added", { output_index: outputIndex, item });
  for (const delta of chunks(args, 16)) {
    send("response.function_call_arguments.delta", { item_id: id, output_index: outputIndex, delta });
  }
  send("response.function_call_arguments.done", { item_id: id, output_index: outputIndex, arguments: args });
  const finished = { ...item, status: "completed", arguments: args };
  send("response.output_item.done", { output_index: outputIndex, item: finished });
  return finished;
}

function streamWebSearch(query: string, outputIndex: number, turn: number, send: Send): Record<string, unknown> {
  const id = `ws_${turn}_${outputIndex}`;
  const action = { type: "search", query };
  send("response.output_item.added", {
    output_index: outputIndex,
    item: { id, type: "web_search_call", status: "in_progress", action },
  });
  for (const phase of ["in_progress", "searching", "completed"]) {
    send(`response.web_search_call.${phase}`, { output_index: outputIndex, item_id: id });
  }
  const finished = { id, type: "web_search_call", status: "completed", action };
  send("response.output_item.done", { output_index: outputIndex, item: finished });
  return finished;
}

/** The `output` of the `function_call_output` item for `callId` in a request's input, if any. */
export function functionCallOutput(body: Record<string, unknown> | undefined, callId: string): string | undefined {
  const input = body?.input;
  if (!Array.isArray(input)) return undefined;
  for (const item of input) {
    const record = item as Record<string, unknown>;
    if (record.type === "function_call_output" && record.call_id === callId) {
      const output = record.output;
      return typeof output === "string" ? output : JSON.stringify(output);
    }
  }
  return undefined;
}
