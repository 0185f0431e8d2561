import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { linearPattern, schemaPattern } from "../../src/schema-patterns.js";

// JSON Schema patterns run on RE2 where it can express them. These tests hold
// the RE2 path to what JavaScript's engine answers (the meaning a schema's
// author wrote), and check that a backtracking pattern answers at once.

/** Texts with the characters where the two engines' defaults differ: Unicode spaces, line terminators, a BOM. */
const TRICKY = ["a", "b", "1", " ", "\u00a0", "\t", "\r", "\n", "\u2028", "\u2029", "\ufeff", "é", "😀", "@", ".", "-"];

function generator(seed: number): (below: number) => number {
  let state = seed >>> 0;
  return (below) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % below;
  };
}

/** Pieces of patterns RE2 can take; each is valid JavaScript with the `u` flag. */
const ATOMS = [
  "a",
  "b",
  ".",
  "\\s",
  "\\S",
  "\\d",
  "\\w",
  "[ab]",
  "[^a\\s]",
  "[\\s@]",
  "[.]",
  "\\.",
  "\\u2028",
  "\\p{L}",
];
const QUANTIFIERS = ["", "", "*", "+", "?", "{1,2}"];

function randomPattern(next: (below: number) => number): string {
  const piece = (): string => {
    const atom =
      next(6) === 0 ? `(${ATOMS[next(ATOMS.length)]}|${ATOMS[next(ATOMS.length)]})` : ATOMS[next(ATOMS.length)];
    return `${atom}${QUANTIFIERS[next(QUANTIFIERS.length)]}`;
  };
  let pattern = next(2) === 0 ? "^" : "";
  for (let i = 0, count = 1 + next(4); i < count; i++) pattern += piece();
  return next(2) === 0 ? `${pattern}$` : pattern;
}

function randomText(next: (below: number) => number): string {
  let text = "";
  for (let i = 0, length = next(8); i < length; i++) text += TRICKY[next(TRICKY.length)];
  return text;
}

describe("schema patterns", () => {
  test("on RE2, a pattern matches what JavaScript's engine matches (random patterns, tricky texts)", () => {
    let compared = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const next = generator(seed);
      const pattern = randomPattern(next);
      const re2 = linearPattern(pattern);
      assert.ok(re2 !== undefined, `RE2 takes ${pattern}`);
      const native = new RegExp(pattern, "u");
      for (let i = 0; i < 25; i++) {
        const text = randomText(next);
        assert.equal(re2.test(text), native.test(text), `${pattern} on ${JSON.stringify(text)}`);
        compared++;
      }
    }
    assert.equal(compared, 10_000);
  });

  test("the usual patterns of schemas mean the same on RE2", () => {
    const cases: Array<[string, string[]]> = [
      ["^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$", ["a@b.co", "a b@c.d", "a\u00a0b@c.d", "@b.co", "a@b"]],
      ["^\\d{4}-\\d{2}-\\d{2}$", ["2024-05-01", "2024-5-01", "2024-05-01\n", "٢٠٢٤-05-01"]],
      ["^\\p{Lu}\\p{Ll}+$", ["Élan", "élan", "ÉLAN"]],
      ["^\\u{1F600}+$", ["😀😀", "😀a"]],
      ["^(?<year>\\d{4})$", ["2024", "24"]],
      ["\\bcat\\b", ["a cat", "concat", "cat."]],
      ["^\\S+$", ["abc", "a\u2028b", "a\ufeffb"]],
      ["^.+$", ["abc", "a\rb", "a\u2029b", "😀"]],
      ["^[\\w.-]+$", ["a.b-c_d", "a b"]],
      ["^$", ["", "\n"]],
    ];
    for (const [pattern, texts] of cases) {
      const engine = schemaPattern(pattern, "u");
      assert.ok(!(engine instanceof RegExp), `${pattern} runs on RE2`);
      const native = new RegExp(pattern, "u");
      for (const text of texts)
        assert.equal(engine.test(text), native.test(text), `${pattern} on ${JSON.stringify(text)}`);
    }
  });

  test("a pattern that backtracks without end in JavaScript answers at once", () => {
    // JavaScript would take hours: every way of splitting the a's is tried before the ! fails them all.
    for (const pattern of ["^(a+)+$", "^(a|a)*$", "^(a|aa)+b$", "^(\\w+\\s?)*$"]) {
      const engine = schemaPattern(pattern, "u");
      assert.ok(!(engine instanceof RegExp), `${pattern} runs on RE2`);
      assert.equal(engine.test(`${"a".repeat(5_000)}!`), false, pattern);
    }
    assert.equal(schemaPattern("^(a+)+$", "u").test("a".repeat(5_000)), true);
  });

  test("what RE2 cannot express runs on JavaScript's engine, with its meaning", () => {
    for (const [pattern, text, matches] of [
      ["^(?=.*\\d).{8,}$", "password1", true],
      ["^(?!admin$)\\w+$", "admin", false],
      ["(?<=\\$)\\d+", "$42", true],
      ["^(\\w)\\1$", "aa", true],
      ["^[\\S]+$", "a b", false],
      ["^[^]$", "\n", true],
      ["[]", "a", false],
    ] as const) {
      assert.equal(linearPattern(pattern), undefined, pattern);
      const engine = schemaPattern(pattern, "u");
      assert.ok(engine instanceof RegExp, pattern);
      assert.equal(engine.test(text), matches, pattern);
    }
  });

  test("a pattern JavaScript refuses is refused with its SyntaxError; ajv tells patterns apart by their text", () => {
    assert.throws(() => schemaPattern("(", "u"), SyntaxError);
    assert.throws(() => schemaPattern("\\-", "u"), SyntaxError);
    assert.equal(String(schemaPattern("^a$", "u")), "/^a$/u");
    assert.notEqual(String(schemaPattern("^a$", "u")), String(schemaPattern("^b$", "u")));
  });
});
