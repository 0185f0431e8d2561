import { realpath } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import type { LogSink } from "../logger.js";
import { isInside } from "./files.js";
import type { ResolvedArtifactOptions } from "./options.js";
import { type ArtifactRecord, UNFINISHED_ERROR } from "./records.js";
import { describeTarget, type UploadAgents, uploadFile } from "./upload-file.js";

export interface UploadQueueEvents {
  /** An upload ended (uploaded or failed); the record's phase says which. */
  settled(record: ArtifactRecord): void;
}

/**
 * The answered offers of one connection: at most `maxConcurrentUploads` PUTs
 * at a time over keep-alive connections, the rest queued in answer order.
 */
export class UploadQueue {
  private readonly queue: ArtifactRecord[] = [];
  private readonly running = new Set<ArtifactRecord>();
  /** Created by the first upload: most connections upload nothing. */
  private agents: UploadAgents | undefined;
  private released = false;

  constructor(
    private readonly options: ResolvedArtifactOptions,
    private readonly log: LogSink,
    private readonly events: UploadQueueEvents,
  ) {}

  private uploadAgents(): UploadAgents {
    if (this.agents === undefined) {
      const agentOptions = { keepAlive: true, maxSockets: this.options.maxConcurrentUploads };
      this.agents = { http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) };
    }
    return this.agents;
  }

  start(record: ArtifactRecord, presignedUrl: string, contentType: string): void {
    const url = parseUploadUrl(presignedUrl);
    if (url === undefined) {
      this.fail(record, "presigned_url is not an absolute http(s) URL");
      this.events.settled(record);
      return;
    }
    record.phase = "queued";
    record.target = { url, contentType };
    this.queue.push(record);
    this.pump();
  }

  idle(): boolean {
    return this.running.size === 0 && this.queue.length === 0;
  }

  /** Gives up on every queued and running upload; each is reported failed. */
  abandonAll(): void {
    for (const record of this.queue.splice(0)) this.fail(record, UNFINISHED_ERROR);
    for (const record of this.running) {
      this.fail(record, UNFINISHED_ERROR);
      record.abort?.abort();
    }
  }

  /** No more uploads will be started by the owner: free the connections once the last one ends. */
  release(): void {
    this.released = true;
    if (this.idle()) this.destroyAgents();
  }

  private pump(): void {
    while (this.running.size < this.options.maxConcurrentUploads) {
      const record = this.queue.shift();
      if (record === undefined) return;
      this.running.add(record);
      void this.run(record).finally(() => {
        this.running.delete(record);
        this.pump();
        if (this.released && this.idle()) this.destroyAgents();
        this.events.settled(record);
      });
    }
  }

  private async run(record: ArtifactRecord): Promise<void> {
    const target = record.target;
    if (target === undefined) return;
    record.phase = "uploading";
    const abort = new AbortController();
    record.abort = abort;
    const started = performance.now();
    // Checked again now: a symlink may have been pointed elsewhere since the offer.
    const real = await realpath(record.path).catch(() => undefined);
    const outcome =
      real === undefined || !isInside(record.root.realPath, real)
        ? { ok: false as const, error: "the file is gone or no longer inside the watched directory", attempts: 0 }
        : await uploadFile({
            path: real,
            url: target.url,
            contentType: target.contentType,
            idleTimeoutMs: this.options.uploadTimeoutMs,
            retries: this.options.retries,
            backoffMs: this.options.retryBackoffMs,
            agents: this.uploadAgents(),
            quietMs: this.options.settleMs,
            quietMaxWaitMs: this.options.uploadTimeoutMs,
            signal: abort.signal,
            onRetry: (attempt, reason, delayMs) =>
              this.log.write("info", "artifact upload failed, retrying", {
                path: record.path,
                attempt,
                reason,
                retry_in_ms: delayMs,
              }),
          });
    record.abort = undefined;
    if (record.phase !== "uploading") return; // abandoned meanwhile; already reported failed
    if (outcome.ok) {
      record.phase = "uploaded";
      record.stamp = outcome.stamp;
      record.size = outcome.stamp.size;
      record.sha256 = outcome.sha256;
      this.log.write("info", "uploaded artifact", {
        path: record.path,
        bytes: outcome.stamp.size,
        attempts: outcome.attempts,
        ms: Math.round(performance.now() - started),
      });
    } else {
      this.fail(record, outcome.error);
      this.log.write("warn", "artifact upload failed", {
        path: record.path,
        error: outcome.error,
        target: describeTarget(target.url),
      });
    }
  }

  private fail(record: ArtifactRecord, error: string): void {
    record.phase = "failed";
    record.error = error;
    record.target = undefined;
  }

  private destroyAgents(): void {
    this.agents?.http.destroy();
    this.agents?.https.destroy();
  }
}

function parseUploadUrl(text: string): URL | undefined {
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:" ? url : undefined;
  } catch {
    return undefined;
  }
}
