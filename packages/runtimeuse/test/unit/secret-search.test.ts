import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { normalizeSecrets, REDACTED, redactText, secretRanges } from "../../src/redact/redact.js";
import { containsSecret, INDEX_FROM, SHORT_SETS_FROM, WINDOW } from "../../src/redact/secret-search.js";
import { StreamRedactor } from "../../src/redact/stream-redactor.js";

// From INDEX_FROM secrets on, the secrets of WINDOW characters or more are
// found through a hash index instead of one search each. These tests hold it
// to the plain search: the same ranges, for lists of that size, on texts full
// of near misses, overlaps and shared prefixes.

/** The plain search, written out: every occurrence of every non-empty secret, overlapping ranges merged. */
function expectedRanges(text: string, secrets: readonly string[]): Array<[number, number]> {
  const covered = new Array<boolean>(text.length).fill(false);
  for (const secret of secrets) {
    if (secret === "") continue;
    for (let at = 0; at + secret.length <= text.length; at++) {
      if (text.slice(at, at + secret.length) === secret) covered.fill(true, at, at + secret.length);
    }
  }
  const ranges: Array<[number, number]> = [];
  for (let i = 0; i < text.length; i++) {
    if (!covered[i]) continue;
    const last = ranges.at(-1);
    if (last !== undefined && last[1] === i) last[1] = i + 1;
    else ranges.push([i, i + 1]);
  }
  return ranges;
}

/** A small deterministic generator (the failures a seed finds stay reproducible). */
function generator(seed: number): (below: number) => number {
  let state = seed >>> 0;
  return (below) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % below;
  };
}

/** Characters with many collisions between secrets: few letters, a non-ASCII one and both halves of a surrogate pair. */
const ALPHABET = ["a", "b", "c", "-", "é", "\ud83d", "\ude00"];

function randomText(next: (below: number) => number, length: number): string {
  let text = "";
  for (let i = 0; i < length; i++) text += ALPHABET[next(ALPHABET.length)];
  return text;
}

/** `count` secrets: short and long, many sharing a prefix of WINDOW characters or more, some prefixes of others. */
function randomSecrets(next: (below: number) => number, count: number): string[] {
  const secrets: string[] = [];
  const prefix = `sk-${randomText(next, WINDOW)}`;
  for (let i = 0; i < count; i++) {
    switch (next(4)) {
      case 0:
        secrets.push(randomText(next, 1 + next(WINDOW - 1)));
        break;
      case 1:
        secrets.push(prefix + randomText(next, next(6)));
        break;
      case 2:
        secrets.push((secrets[next(secrets.length || 1)] ?? prefix).slice(0, WINDOW + next(4)));
        break;
      default:
        secrets.push(randomText(next, WINDOW + next(12)));
    }
  }
  return secrets;
}

/** Random text with some of the secrets, whole or cut short, written into it. */
function textWith(next: (below: number) => number, secrets: readonly string[]): string {
  let text = "";
  while (text.length < 600) {
    const secret = secrets[next(secrets.length)] ?? "";
    text += randomText(next, next(20));
    text += next(3) === 0 ? secret.slice(0, Math.max(0, secret.length - 1 - next(3))) : secret;
  }
  return text;
}

describe("finding many secrets", () => {
  test("gives the ranges of the plain search, for lists long enough to be indexed", () => {
    for (let seed = 1; seed <= 150; seed++) {
      const next = generator(seed);
      const secrets = randomSecrets(next, INDEX_FROM + next(40));
      const text = textWith(next, secrets);
      const expected = expectedRanges(text, secrets);
      assert.deepEqual(secretRanges(text, secrets), expected, `seed ${seed}`);
      assert.deepEqual(secretRanges(text, normalizeSecrets(secrets)), expected, `seed ${seed}, normalized`);
      assert.equal(containsSecret(text, secrets), expected.length > 0, `seed ${seed}`);
    }
  });

  test("hundreds of secrets sharing their first window, duplicates among them, give the ranges of the plain search", () => {
    for (let seed = 1; seed <= 40; seed++) {
      const next = generator(seed * 7919);
      const prefix = `sk-${randomText(next, WINDOW - 3)}`;
      const secrets: string[] = [];
      for (let i = 0; i < 200 + next(200); i++) {
        const roll = next(10);
        if (roll === 0) secrets.push(secrets[next(secrets.length || 1)] ?? prefix);
        else if (roll === 1) secrets.push(randomText(next, WINDOW + next(6)));
        else secrets.push(prefix + randomText(next, next(5)));
      }
      const text = textWith(next, secrets) + prefix.repeat(3);
      const expected = expectedRanges(text, secrets);
      assert.ok(expected.length > 0, `seed ${seed}: the text holds some secret`);
      assert.deepEqual(secretRanges(text, secrets), expected, `seed ${seed}`);
      assert.deepEqual(secretRanges(text, normalizeSecrets(secrets)), expected, `seed ${seed}, normalized`);
      assert.equal(containsSecret(`${prefix}~${text.slice(-3)}`, secrets), secrets.includes(prefix), `seed ${seed}`);
    }
  });

  test("hundreds of secrets shorter than the window, looked up by length, give the ranges of the plain search", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const next = generator(seed * 104729);
      const secrets = randomSecrets(next, 40);
      while (secrets.length < SHORT_SETS_FROM + 100) secrets.push(randomText(next, 1 + next(WINDOW - 1)));
      const text = textWith(next, secrets);
      const expected = expectedRanges(text, secrets);
      assert.deepEqual(secretRanges(text, secrets), expected, `seed ${seed}`);
      assert.deepEqual(secretRanges(text, normalizeSecrets(secrets)), expected, `seed ${seed}, normalized`);
      assert.equal(containsSecret(text, secrets), expected.length > 0, `seed ${seed}`);
    }
    const many = Array.from({ length: SHORT_SETS_FROM }, (_, i) => `#${i.toString(36)}#`);
    assert.equal(redactText("a #e7# b #0# c #e8#", many), `a ${REDACTED} b ${REDACTED} c #e8#`);
    assert.equal(redactText("#0", many), "#0");
    assert.equal(containsSecret("nothing", many), false);
  });

  test("a text holding none of the secrets, or only the start of one, is left as it is", () => {
    const secrets = Array.from({ length: INDEX_FROM * 2 }, (_, i) => `token-${String(i).padStart(4, "0")}-secret`);
    const text = `token-0001-secre ${"token-".repeat(50)} oken-0002-secret`;
    assert.equal(containsSecret(text, secrets), false);
    assert.equal(redactText(text, secrets), text);
    assert.equal(redactText("short", secrets), "short");
  });

  test("overlapping occurrences of indexed secrets are hidden whole", () => {
    const fillers = Array.from({ length: INDEX_FROM }, (_, i) => `filler-secret-${i}`);
    const secrets = [...fillers, "abcdefghij", "fghijklmnop", "0123456789", "01234567"];
    assert.equal(redactText("<abcdefghijklmnop>", secrets), `<${REDACTED}>`);
    assert.equal(redactText("x0123456789x01234567x", secrets), `x${REDACTED}x${REDACTED}x`);
    assert.equal(redactText("aaaaaaaaaaaaaaaaaaaa", [...fillers, "aaaaaaaaa"]), REDACTED);
  });

  test("indexed secrets are found at the very start and the very end of a text", () => {
    const fillers = Array.from({ length: INDEX_FROM }, (_, i) => `filler-secret-${i}`);
    const exact = "x".repeat(WINDOW - 1) + "y";
    const longer = `${exact}zz`;
    const secrets = [...fillers, exact, longer];
    for (const [text, redacted] of [
      [exact, REDACTED],
      [longer, REDACTED],
      [`${exact}.`, `${REDACTED}.`],
      [`.${exact}`, `.${REDACTED}`],
      [`..${longer}`, `..${REDACTED}`],
      [exact.slice(1), exact.slice(1)],
    ]) {
      assert.equal(redactText(text as string, secrets), redacted, JSON.stringify(text));
    }
  });

  test("a list changed in place after a search is searched as it is now", () => {
    const secrets = Array.from({ length: INDEX_FROM + 1 }, (_, i) => `first-list-secret-${i}`);
    assert.equal(redactText("nothing here", secrets), "nothing here");
    secrets[3] = "a-new-secret-value";
    assert.equal(redactText("x a-new-secret-value x", secrets), `x ${REDACTED} x`);
    secrets.push("appended-secret");
    assert.equal(redactText("appended-secret", secrets), REDACTED);
    secrets.length = INDEX_FROM - 1;
    assert.equal(redactText("appended-secret", secrets), "appended-secret");
    // The runtime's own lists cannot change in place: their index is kept without checking them.
    assert.ok(Object.isFrozen(normalizeSecrets(secrets)));
  });

  test("the stream redactor with many secrets leaks none of them at any chunk edge", () => {
    const next = generator(7);
    const secrets = randomSecrets(next, INDEX_FROM + 30);
    const text = textWith(next, secrets);
    assert.ok(secrets.some((secret) => secret.length >= WINDOW && text.includes(secret)));
    for (const size of [1, 5, 17, 64]) {
      const redactor = new StreamRedactor(secrets);
      let out = "";
      for (let at = 0; at < text.length; at += size) out += redactor.push(text.slice(at, at + size));
      out += redactor.end();
      for (const secret of normalizeSecrets(secrets)) assert.ok(!out.includes(secret), `chunks of ${size}: ${secret}`);
    }
  });
});
