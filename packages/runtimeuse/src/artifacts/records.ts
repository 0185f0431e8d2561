import type { ArtifactManifestEntry } from "@runtimeuse/protocol";
import { type FileStamp, sameStamp } from "./files.js";
import type { WatchedRoot } from "./watched-root.js";

/**
 * Where one file stands. `seen`: present when its directory started being
 * watched, never offered. `offered`: waiting for the client's
 * `artifact_upload_response_message`. `queued` / `uploading`: answered, the
 * PUT is waiting for a slot or running. `uploaded` / `failed`: the last offer
 * is over.
 */
export type Phase = "seen" | "offered" | "queued" | "uploading" | "uploaded" | "failed";

export interface ArtifactRecord {
  /** Absolute path under the watched directory, as the client named that directory. */
  readonly path: string;
  readonly root: WatchedRoot;
  phase: Phase;
  /** `seen`: as first found; offered or later: as offered, then as uploaded. */
  stamp: FileStamp;
  /** Size of the content last offered or uploaded (the manifest's `size`). */
  size: number;
  /** SHA-256 of the bytes the sink received on the last successful upload. */
  sha256?: string;
  /** The `filepath` sent in the offer (redacted); responses are matched on it. */
  wirePath?: string;
  /** The file changed after it was offered; re-examined once the upload is over. */
  changedSinceOffer: boolean;
  error?: string;
  target?: { url: URL; contentType: string };
  abort?: AbortController;
}

/**
 * What to do about a candidate file given what is known of it (no I/O).
 * `compare`: same size as the uploaded content, so only a hash can tell
 * whether it changed; `restamp`: remember the new stamp, offer nothing (an
 * emptied file).
 */
export type Verdict = "skip" | "offer" | "compare" | "note-change" | "restamp";

export function judge(record: ArtifactRecord | undefined, stamp: FileStamp): Verdict {
  if (record === undefined) return stamp.size === 0 ? "skip" : "offer";
  if (sameStamp(record.stamp, stamp)) return "skip";
  switch (record.phase) {
    case "offered":
    case "queued":
    case "uploading":
      // The upload reads the file when it starts; what changes after that is judged when it ends.
      return "note-change";
    case "uploaded":
      if (stamp.size === 0) return "restamp";
      // Compared with what the sink has (`size`), not with the last stamp: the file may have been seen emptied mid-rewrite.
      return stamp.size === record.size && record.sha256 !== undefined ? "compare" : "offer";
    case "seen":
    case "failed":
      return stamp.size === 0 ? "restamp" : "offer";
  }
}

/** The reason given for an upload still queued or running when the session's wait for it ran out. */
export const UNFINISHED_ERROR = "the session ended before the upload finished";

export function manifestEntry(record: ArtifactRecord): ArtifactManifestEntry | undefined {
  const filepath = record.wirePath;
  if (filepath === undefined) return undefined;
  const size = record.size;
  switch (record.phase) {
    case "seen":
      return undefined;
    case "uploaded":
      return { filepath, size, status: "uploaded" };
    case "offered":
      return { filepath, size, status: "not_requested" };
    case "failed":
      return { filepath, size, status: "failed", error: record.error ?? "upload failed" };
    case "queued":
    case "uploading":
      return { filepath, size, status: "failed", error: UNFINISHED_ERROR };
  }
}

/**
 * The manifest for `end_session_confirm_message`: one entry per file offered
 * during the session, its last offer's outcome. Capped at `maxBytes` of JSON
 * so that the confirm stays within a client's frame limit (the published
 * client accepts 1 MiB); problems (failed, not requested) are listed first so
 * a cut never hides them.
 */
export function buildManifest(
  records: Iterable<ArtifactRecord>,
  maxBytes: number,
): { entries: ArtifactManifestEntry[]; omitted: number } {
  const problems: ArtifactManifestEntry[] = [];
  const uploaded: ArtifactManifestEntry[] = [];
  for (const record of records) {
    const entry = manifestEntry(record);
    if (entry === undefined) continue;
    (entry.status === "uploaded" ? uploaded : problems).push(entry);
  }
  const entries: ArtifactManifestEntry[] = [];
  let bytes = 2;
  let omitted = 0;
  for (const entry of [...problems, ...uploaded]) {
    const size = Buffer.byteLength(JSON.stringify(entry)) + 1;
    if (bytes + size > maxBytes) {
      omitted++;
      continue;
    }
    bytes += size;
    entries.push(entry);
  }
  return { entries, omitted };
}
