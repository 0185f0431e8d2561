import type { RuntimeChannel } from "./channel.js";
import { buildArtifactResponse } from "./messages.js";
import { type Bound, type Raced, raceBound } from "./timing.js";
import type { ArtifactUploadRequest, OnArtifactUploadRequest } from "./types.js";

export type AnswerOutcome = Raced<void>;

/**
 * Answers one artifact offer: asks `callback` where the file goes and sends
 * `artifact_upload_response_message`. Used alike by a request, by an idle
 * session and by `close()`. Never throws: a callback that throws, returns a
 * target that is not valid, or overruns `bound` is the outcome, for the caller
 * to act on (a request stops; a session keeps the first such error for
 * `close()`). A connection that ended meanwhile is not: whoever reads the
 * channel next learns that.
 */
export async function answerOffer(
  channel: RuntimeChannel,
  callback: OnArtifactUploadRequest,
  offer: ArtifactUploadRequest,
  bound?: Bound,
): Promise<AnswerOutcome> {
  const outcome = await raceBound(
    Promise.resolve().then(() => callback(offer)),
    bound,
  );
  if (outcome.ok !== true) return outcome;
  try {
    channel.trySend(buildArtifactResponse(offer, outcome.value));
  } catch (error) {
    return { ok: false, error };
  }
  return { ok: true, value: undefined };
}
