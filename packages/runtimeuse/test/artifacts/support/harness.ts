import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ArtifactManifestEntry } from "@runtimeuse/protocol";
import { ArtifactManager } from "../../../src/artifacts/manager.js";
import type { ArtifactManagerOptions, ArtifactOffer } from "../../../src/artifacts/options.js";
import type { LogFields, LogLevel } from "../../../src/logger.js";
import { redactSecrets } from "../../../src/session/index.js";
import { PutSink } from "./put-sink.js";

export interface LogLine {
  level: LogLevel;
  message: string;
  fields?: LogFields;
}

export type Answer = { presigned_url: string; content_type: string } | undefined;

export interface HarnessOptions extends Partial<Omit<ArtifactManagerOptions, "offer" | "log">> {
  /** How the in-process client answers an offer. Default: the sink's URL for that filepath, as text/plain. */
  answer?: (offer: ArtifactOffer, sink: PutSink) => Answer;
  /** Delay before each answer goes back, like a client that presigns first. */
  answerDelayMs?: number;
  sink?: PutSink;
}

export interface Harness {
  dir: string;
  sink: PutSink;
  manager: ArtifactManager;
  offers: ArtifactOffer[];
  logs: LogLine[];
  answered: () => number;
  offersOf(filepath: string): ArtifactOffer[];
  dispose(): Promise<void>;
}

/**
 * A manager wired to an in-process client that answers offers (the way the
 * published client does: one response per request, naming the same
 * filepath) and a real PUT sink on 127.0.0.1, in a fresh temporary
 * directory.
 */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), "rtu-artifacts-"));
  const ownSink = options.sink === undefined;
  const sink = options.sink ?? (await PutSink.start());
  const offers: ArtifactOffer[] = [];
  const logs: LogLine[] = [];
  let answered = 0;
  const answer =
    options.answer ??
    ((offer: ArtifactOffer, s: PutSink) => ({ presigned_url: s.urlFor(offer.filepath), content_type: "text/plain" }));
  const { answer: _a, answerDelayMs, sink: _s, ...managerOptions } = options;
  const manager: ArtifactManager = new ArtifactManager({
    settleMs: 30,
    retryBackoffMs: 10,
    ...managerOptions,
    log: { write: (level, message, fields) => logs.push({ level, message, fields }) },
    offer: (found) => {
      // The session sends every frame through its engine, which redacts it; this client sees what the wire carries.
      const offer = redactSecrets(found, managerOptions.secrets?.() ?? []);
      offers.push(offer);
      const reply = answer(offer, sink);
      if (reply === undefined) return;
      setTimeout(() => {
        answered++;
        manager.handleUploadResponse({
          message_type: "artifact_upload_response_message",
          filename: offer.filename,
          filepath: offer.filepath,
          ...reply,
        });
      }, answerDelayMs ?? 0);
    },
  });
  return {
    dir,
    sink,
    manager,
    offers,
    logs,
    answered: () => answered,
    offersOf: (filepath) => offers.filter((offer) => offer.filepath === filepath),
    async dispose() {
      await manager.close({ abandonUploads: true });
      if (ownSink) await sink.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `condition` until it holds; fails with `what` after a generous bound (tests must not depend on speed). */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export function entryFor(manifest: ArtifactManifestEntry[], filepath: string): ArtifactManifestEntry | undefined {
  return manifest.find((entry) => entry.filepath === filepath);
}
