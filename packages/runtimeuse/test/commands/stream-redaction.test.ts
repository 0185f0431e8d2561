import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, test } from "node:test";
import { OutputPump } from "../../src/commands/output-pump.js";
import type { OutputStream } from "../../src/commands/types.js";
import { REDACTED, redactText } from "../../src/redact/redact.js";
import { StreamRedactor } from "../../src/redact/stream-redactor.js";

function seededLetters(seed: number) {
  let state = seed;
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  return (length: number) => {
    let out = "";
    for (let i = 0; i < length; i++) {
      state = (state * 1103515245 + 12345) % 2147483648;
      out += alphabet[state % alphabet.length];
    }
    return out;
  };
}

function redactChunks(secrets: string[], chunks: string[]): string {
  const redactor = new StreamRedactor(secrets);
  return chunks.map((chunk) => redactor.push(chunk)).join("") + redactor.end();
}

/**
 * Feeds exact chunks to an OutputPump through a real Readable: each push is
 * one 'data' event, so the chunk edges are exactly where the test puts them.
 */
async function pumpChunks(name: OutputStream, chunks: Buffer[], secrets: string[]) {
  const source = new Readable({ read() {} });
  let streamed = "";
  const pump = new OutputPump(name, source, secrets, 1 << 20, (stream, text) => {
    assert.equal(stream, name);
    streamed += text;
  });
  await new Promise((resolve) => setImmediate(resolve));
  for (const chunk of chunks) source.push(chunk);
  source.push(null);
  await pump.done;
  return { streamed, captured: pump.captured.text() };
}

describe("StreamRedactor", () => {
  test("every secret length from 2 to 200, split at every position, gives the whole-text redaction", () => {
    const letters = seededLetters(3);
    for (let length = 2; length <= 200; length++) {
      const secret = letters(length);
      const text = `head ${secret} tail`;
      for (let cut = 0; cut <= text.length; cut++) {
        const out = redactChunks([secret], [text.slice(0, cut), text.slice(cut)]);
        if (out !== `head ${REDACTED} tail`) assert.fail(`length ${length}, split at ${cut}: ${out}`);
      }
    }
  });

  test("random chunkings of text with several secrets match the whole-text redaction", () => {
    const letters = seededLetters(5);
    const secrets = [2, 5, 9, 40, 120].map((length) => `#${letters(length - 1)}`);
    let text = "";
    for (let i = 0; i < 300; i++) text += `${letters(i % 13)} ${secrets[i % secrets.length]} `;
    const expected = redactText(text, secrets);
    let seed = 9;
    for (let round = 0; round < 200; round++) {
      const chunks: string[] = [];
      for (let at = 0; at < text.length; ) {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        const size = 1 + (seed % 50);
        chunks.push(text.slice(at, at + size));
        at += size;
      }
      assert.equal(redactChunks(secrets, chunks), expected, `round ${round}`);
    }
  });

  test("overlapping secrets at a chunk edge are hidden, never shown", () => {
    for (const secrets of [
      ["abc", "bcd"],
      ["bcd", "abc"],
      ["ab", "abcdef"],
    ]) {
      const text = "xxabcdefyy";
      for (let cut = 0; cut <= text.length; cut++) {
        const out = redactChunks(secrets, [text.slice(0, cut), text.slice(cut)]);
        for (const secret of secrets) assert.equal(out.includes(secret), false, `${secrets} split at ${cut}: ${out}`);
        assert.ok(out.startsWith("xx") && out.endsWith("yy"), out);
      }
    }
  });

  test("a run of overlapping matches does not make it hold back without bound", () => {
    const redactor = new StreamRedactor(["aa"]);
    const chunk = "a".repeat(64 * 1024);
    let out = "";
    for (let i = 0; i < 16; i++) out += redactor.push(chunk);
    assert.ok(out.length > 0, "matches are emitted while the run goes on");
    out += redactor.end();
    assert.equal(out.includes("aa"), false);
    assert.equal(/^(\[REDACTED\])+a?$/.test(out), true);
  });

  test("with no secrets every chunk comes back unchanged and nothing is held", () => {
    const redactor = new StreamRedactor([]);
    assert.equal(redactor.push("abc"), "abc");
    assert.equal(redactor.push(""), "");
    assert.equal(redactor.end(), "");
  });
});

describe("OutputPump with exact chunk edges", () => {
  test("every secret length from 2 to 200, split at every position, on stdout and stderr", async () => {
    const letters = seededLetters(13);
    for (let length = 2; length <= 200; length++) {
      const secret = letters(length);
      const chunks: Buffer[] = [];
      let expected = "";
      for (let cut = 1; cut < length; cut++) {
        chunks.push(Buffer.from(`<${secret.slice(0, cut)}`), Buffer.from(`${secret.slice(cut)}>`));
        expected += `<${REDACTED}>`;
      }
      for (const name of ["stdout", "stderr"] as const) {
        const { streamed, captured } = await pumpChunks(name, chunks, [secret]);
        if (streamed !== expected || captured !== expected) assert.fail(`${name}, secret of ${length} bytes leaked`);
      }
    }
  });

  test("a secret written one byte at a time is redacted", async () => {
    const secret = seededLetters(17)(200);
    const bytes = [...Buffer.from(`x${secret}y${secret}z`)].map((byte) => Buffer.from([byte]));
    const { streamed } = await pumpChunks("stderr", bytes, [secret]);
    assert.equal(streamed, `x${REDACTED}y${REDACTED}z`);
  });

  test("a multi-byte character split at every byte inside it arrives whole", async () => {
    for (const char of ["é", "€", "😀"]) {
      const bytes = Buffer.from(char);
      for (let cut = 1; cut < bytes.length; cut++) {
        const { streamed } = await pumpChunks("stdout", [bytes.subarray(0, cut), bytes.subarray(cut)], []);
        assert.equal(streamed, char, `${char} split at byte ${cut}`);
      }
      const oneByOne = [...bytes].map((byte) => Buffer.from([byte]));
      assert.equal((await pumpChunks("stdout", oneByOne, [])).streamed, char);
    }
  });

  test("a secret made of multi-byte characters split inside a character is redacted", async () => {
    const secret = "pässwörd€😀";
    const bytes = Buffer.from(`a${secret}b`);
    for (let cut = 1; cut < bytes.length; cut++) {
      const { streamed } = await pumpChunks("stdout", [bytes.subarray(0, cut), bytes.subarray(cut)], [secret]);
      assert.equal(streamed, `a${REDACTED}b`, `split at byte ${cut}`);
    }
  });
});
