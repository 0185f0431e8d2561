import { TERMINAL_MESSAGE_TYPES } from "@runtimeuse/protocol";
import type { Frame, RawClient } from "../../support/client.js";
import type { PutSink } from "./put-sink.js";

/**
 * Reads frames the way the published client does: answers every
 * `artifact_upload_request_message` at once with a URL on the sink, and
 * returns every frame read (heartbeats left out) up to and including the
 * first of `untilType` (or any terminal when `untilType` is "terminal").
 */
export async function readAnswering(
  client: RawClient,
  sink: PutSink,
  untilType: string,
  answer: (frame: Frame) => boolean = () => true,
): Promise<Frame[]> {
  const terminals = new Set<string>(TERMINAL_MESSAGE_TYPES);
  const frames: Frame[] = [];
  for (;;) {
    const frame = await client.next(60_000);
    if (frame.message_type === "heartbeat_message") continue;
    frames.push(frame);
    if (frame.message_type === "artifact_upload_request_message" && answer(frame)) {
      client.send({
        message_type: "artifact_upload_response_message",
        filename: frame.filename,
        filepath: frame.filepath,
        presigned_url: sink.urlFor(String(frame.filepath)),
        content_type: "application/octet-stream",
      });
    }
    if (frame.message_type === untilType || (untilType === "terminal" && terminals.has(String(frame.message_type)))) {
      return frames;
    }
  }
}
