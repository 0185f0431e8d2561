import type { IncomingMessage } from "node:http";
import {
  LAST_SEQ_PARAM,
  RESUMABLE_PARAM,
  RESUME_PARAM,
  RESUME_SECRET_HEADER,
  RESUME_SECRET_PARAM,
} from "@runtimeuse/protocol";

/** What an upgrade asks for (docs/PROTOCOL.md, "Resumable connections"). */
export type ResumeAsk =
  | { kind: "plain" }
  | { kind: "resumable" }
  | { kind: "resume"; sessionId: string; lastSeq: number; secret: string | undefined }
  | { kind: "invalid"; message: string };

/**
 * Reads an upgrade's resume parameters: `?resumable=1` asks for a resumable
 * connection; `?resume=<id>&last_seq=<n>` with the secret in the
 * `RuntimeUse-Resume-Secret` header (or `?resume_secret=`) resumes one.
 */
export function resumeAskOf(request: Pick<IncomingMessage, "url" | "headers">): ResumeAsk {
  const url = request.url ?? "";
  const at = url.indexOf("?");
  if (at < 0) return { kind: "plain" };
  let query: URLSearchParams;
  try {
    query = new URLSearchParams(url.slice(at + 1));
  } catch {
    return { kind: "plain" };
  }
  const sessionId = query.get(RESUME_PARAM);
  if (sessionId !== null) {
    const lastSeqText = query.get(LAST_SEQ_PARAM) ?? "0";
    const lastSeq = /^\d{1,15}$/.test(lastSeqText) ? Number(lastSeqText) : Number.NaN;
    if (!Number.isSafeInteger(lastSeq)) {
      return { kind: "invalid", message: `${LAST_SEQ_PARAM}: expected a whole number >= 0` };
    }
    const header = request.headers[RESUME_SECRET_HEADER];
    const secret = (Array.isArray(header) ? header[0] : header) ?? query.get(RESUME_SECRET_PARAM) ?? undefined;
    return { kind: "resume", sessionId, lastSeq, secret };
  }
  return query.get(RESUMABLE_PARAM) === "1" ? { kind: "resumable" } : { kind: "plain" };
}
