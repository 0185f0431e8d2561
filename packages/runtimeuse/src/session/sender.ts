import { ErrorCode, type RuntimeMessage } from "@runtimeuse/protocol";
import type { OutputStream } from "../commands/index.js";
import type { MessageSender } from "../handler.js";
import { plainJson } from "../json-text.js";
import { errorMessage } from "./engine.js";
import type { RequestHost } from "./request-run.js";

/**
 * The `MessageSender` a handler gets. What it is handed becomes wire frames
 * here: text is made text, and a value that cannot be a frame is refused
 * with a `TypeError` naming the method and the value, thrown to the handler
 * that made the mistake, never left to fail the connection later.
 */
export function createSender(host: RequestHost): MessageSender {
  return {
    sendAssistantMessage: (textBlocks) =>
      host.emit({ message_type: "assistant_message", text_blocks: asStrings(textBlocks) }),
    sendErrorMessage: (error, metadata) =>
      host.terminate(errorMessage(String(error), { code: ErrorCode.HandlerError, ...errorMetadata(metadata, host) })),
    sendCommandOutput: (command, stream, text) =>
      host.emit(outputMessage(outputStream(stream), String(text), String(command))),
  };
}

export function outputMessage(stream: OutputStream, text: string, command: string): RuntimeMessage {
  return { message_type: "command_output_message", stream, text, command };
}

const isString = (value: unknown): value is string => typeof value === "string";

/** The blocks as strings: the array itself when they already are (it is serialised before `emit` returns). */
function asStrings(blocks: unknown): string[] {
  if (!Array.isArray(blocks)) {
    throw new TypeError(
      `sendAssistantMessage takes an array of strings (the message's text blocks), got ${describe(blocks)}`,
    );
  }
  return blocks.every(isString) ? blocks : blocks.map(String);
}

function outputStream(stream: unknown): OutputStream {
  if (stream === "stdout" || stream === "stderr") return stream;
  throw new TypeError(`sendCommandOutput takes the stream "stdout" or "stderr", got ${describe(stream)}`);
}

/**
 * The handler's error metadata as sent. The error itself always goes: metadata
 * that is not an object, or that JSON cannot carry, is left out (and logged).
 */
function errorMetadata(metadata: unknown, host: RequestHost): Record<string, unknown> {
  if (metadata === undefined) return {};
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    host.log.write("warn", "the handler's error metadata is not an object; left out", host.logFields);
    return {};
  }
  const plain = plainJson(metadata);
  if (plain.ok) return plain.value as Record<string, unknown>;
  host.log.write("warn", "the handler's error metadata cannot be sent as JSON; left out", {
    ...host.logFields,
    reason: plain.reason,
  });
  return {};
}

/** A value a handler handed over, as an error message names it. */
export function describe(value: unknown): string {
  if (typeof value === "string")
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  if (typeof value === "number" || typeof value === "boolean" || value === null || value === undefined) {
    return String(value);
  }
  if (Array.isArray(value)) return "an array";
  return `a value of type ${typeof value}`;
}
