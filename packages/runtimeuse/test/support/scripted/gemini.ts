import type { ServerResponse } from "node:http";
import { type RecordedRequest, type ScriptedServer, startScriptedHttp, writeJson } from "./http.js";

/**
 * A scripted Gemini API (generativelanguage) on loopback, for Gemini CLI with
 * `GOOGLE_GEMINI_BASE_URL`: `POST /v1beta/models/{model}:streamGenerateContent?alt=sse`
 * answers each turn of the script as the real server-sent events (one chunk
 * per part, the last with `finishReason` and `usageMetadata`). Side calls the
 * CLI makes besides the conversation (`:generateContent` for its internal
 * checks, `:countTokens`) get neutral answers and do not use up the script.
 */

export type PartSpec = { text: string } | { functionCall: { name: string; args: Record<string, unknown> } };

export type TurnReply =
  | { type: "output"; parts: PartSpec[]; usage?: { input: number; output: number } }
  | { type: "http_error"; status: number; message: string };

export type Turn = TurnReply | ((request: RecordedRequest) => TurnReply);

export interface ScriptedGemini extends ScriptedServer {
  /** For `GOOGLE_GEMINI_BASE_URL`. */
  baseURL: string;
  /** The bodies of the streaming conversation requests, in order. */
  conversationRequests(): Record<string, unknown>[];
}

export const geminiText = (text: string): PartSpec => ({ text });
export const geminiCall = (name: string, args: Record<string, unknown>): PartSpec => ({ functionCall: { name, args } });
export const geminiReply = (parts: PartSpec[], usage?: { input: number; output: number }): TurnReply => ({
  type: "output",
  parts,
  ...(usage === undefined ? {} : { usage }),
});

const isStream = (request: RecordedRequest) => request.method === "POST" && /:streamGenerateContent/.test(request.path);

export async function startScriptedGemini(script: Turn[]): Promise<ScriptedGemini> {
  let next = 0;
  const server = await startScriptedHttp((request, response) => {
    if (request.method === "POST" && /:countTokens/.test(request.path)) {
      writeJson(response, 200, { totalTokens: 10 });
      return;
    }
    if (request.method === "POST" && /:generateContent/.test(request.path)) {
      // The CLI's internal checks (routing, next speaker, loop detection) ask for JSON.
      writeJson(response, 200, candidateChunk([{ text: JSON.stringify(sideAnswer(request)) }], true, usageOf()));
      return;
    }
    if (!isStream(request)) {
      writeJson(response, 404, {
        error: { code: 404, message: `scripted Gemini: no route ${request.method} ${request.path}` },
      });
      return;
    }
    const turn = script[next++];
    if (turn === undefined) {
      writeJson(response, 500, {
        error: { code: 500, message: `scripted Gemini: script exhausted at request ${next}` },
      });
      return;
    }
    respond(typeof turn === "function" ? turn(request) : turn, response);
  });
  return {
    ...server,
    baseURL: server.origin,
    conversationRequests: () => server.requests.filter(isStream).map((r) => r.body ?? {}),
  };
}

function respond(answer: TurnReply, response: ServerResponse): void {
  if (answer.type === "http_error") {
    writeJson(response, answer.status, { error: { code: answer.status, message: answer.message, status: "INTERNAL" } });
    return;
  }
  response.writeHead(200, { "content-type": "text/event-stream" });
  answer.parts.forEach((part, at) => {
    const last = at === answer.parts.length - 1;
    const chunk = candidateChunk([part], last, last ? usageOf(answer.usage) : undefined);
    response.write(`data: ${JSON.stringify(chunk)}\r\n\r\n`);
  });
  response.end();
}

function candidateChunk(parts: PartSpec[], last: boolean, usage: Record<string, number> | undefined) {
  return {
    candidates: [{ content: { role: "model", parts }, index: 0, ...(last ? { finishReason: "STOP" } : {}) }],
    ...(usage ? { usageMetadata: usage } : {}),
    modelVersion: "scripted-gemini",
  };
}

function usageOf(usage = { input: 10, output: 5 }) {
  return {
    promptTokenCount: usage.input,
    candidatesTokenCount: usage.output,
    totalTokenCount: usage.input + usage.output,
  };
}

/** A neutral answer for a side check: the conversation goes on as scripted. */
function sideAnswer(request: RecordedRequest): Record<string, unknown> {
  const text = JSON.stringify(request.body ?? {});
  if (/next_speaker/.test(text)) return { reasoning: "scripted", next_speaker: "user" };
  return { reasoning: "scripted", model_choice: "flash" };
}
