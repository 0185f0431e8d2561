import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { FileStamp } from "../../src/artifacts/files.js";
import { type ArtifactRecord, buildManifest, judge, type Phase } from "../../src/artifacts/records.js";
import type { WatchedRoot } from "../../src/artifacts/watched-root.js";

const stamp = (size: number, mtimeMs = 1, ino = 1): FileStamp => ({ size, mtimeMs, ino });

function record(phase: Phase, fields: Partial<ArtifactRecord> = {}): ArtifactRecord {
  return {
    path: "/w/f",
    root: {} as WatchedRoot,
    phase,
    stamp: stamp(5),
    size: 5,
    changedSinceOffer: false,
    wirePath: "/w/f",
    ...fields,
  };
}

describe("judge", () => {
  test("an unknown file is offered unless it is empty", () => {
    assert.equal(judge(undefined, stamp(3)), "offer");
    assert.equal(judge(undefined, stamp(0)), "skip");
  });

  test("an unchanged stamp is skipped in every phase", () => {
    for (const phase of ["seen", "offered", "queued", "uploading", "uploaded", "failed"] as const) {
      assert.equal(judge(record(phase), stamp(5)), "skip", phase);
    }
  });

  test("a change while an offer is open is only noted: the upload reads the file when it starts", () => {
    for (const phase of ["offered", "queued", "uploading"] as const) {
      assert.equal(judge(record(phase), stamp(9, 2)), "note-change", phase);
    }
  });

  test("an uploaded file of the uploaded size needs a content comparison; another size is offered", () => {
    const uploaded = record("uploaded", { sha256: "abc" });
    assert.equal(judge(uploaded, stamp(5, 2)), "compare");
    assert.equal(judge(uploaded, stamp(6, 2)), "offer");
    assert.equal(judge(uploaded, stamp(0, 2)), "restamp");
  });

  test("an uploaded file seen emptied mid-rewrite is still compared with the uploaded content", () => {
    const uploaded = record("uploaded", { sha256: "abc", stamp: stamp(0, 2) });
    assert.equal(judge(uploaded, stamp(5, 3)), "compare");
  });

  test("a file present at watch start, or whose upload failed, is offered once it changes", () => {
    assert.equal(judge(record("seen"), stamp(5, 2)), "offer");
    assert.equal(judge(record("failed"), stamp(5, 2)), "offer");
    assert.equal(judge(record("seen"), stamp(0, 2)), "restamp");
  });
});

describe("buildManifest", () => {
  test("lists offered files only, with their last offer's status", () => {
    const { entries, omitted } = buildManifest(
      [
        record("seen", { path: "/w/old", wirePath: undefined }),
        record("uploaded", { wirePath: "/w/a" }),
        record("offered", { wirePath: "/w/b", size: 2 }),
        record("failed", { wirePath: "/w/c", error: "HTTP 403" }),
        record("uploading", { wirePath: "/w/d" }),
      ],
      1024 * 1024,
    );
    assert.equal(omitted, 0);
    assert.deepEqual(entries, [
      { filepath: "/w/b", size: 2, status: "not_requested" },
      { filepath: "/w/c", size: 5, status: "failed", error: "HTTP 403" },
      { filepath: "/w/d", size: 5, status: "failed", error: "the session ended before the upload finished" },
      { filepath: "/w/a", size: 5, status: "uploaded" },
    ]);
  });

  test("a manifest over its byte cap keeps the problems and drops uploaded entries first", () => {
    const records = [
      ...Array.from({ length: 50 }, (_, i) => record("uploaded", { wirePath: `/w/ok-${i}` })),
      record("failed", { wirePath: "/w/bad", error: "HTTP 500" }),
    ];
    const { entries, omitted } = buildManifest(records, 600);
    assert.equal(entries[0]?.filepath, "/w/bad");
    assert.ok(omitted > 0);
    assert.equal(entries.length + omitted, 51);
    assert.ok(JSON.stringify(entries).length <= 600);
  });
});
