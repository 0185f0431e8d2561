import { RE2JS } from "re2js";

/**
 * The regular expressions of JSON Schemas (`pattern`, `patternProperties`),
 * matched in time linear in the text. A schema comes from the client and the
 * text it checks from the model, and JavaScript's backtracking engine takes
 * as long as the two make it: `^(a+)+$` against forty `a`s and a `!` runs for
 * hours, with the event loop, and so every connection, stopped meanwhile. So
 * a pattern runs on RE2 (re2js, which never backtracks) whenever RE2 can
 * express it. JavaScript's own engine is kept for what RE2 has no construct
 * for: lookarounds, backreferences, `\S` inside a class, the empty classes
 * `[]` and `[^]`; those patterns are as exposed as before.
 *
 * JSON Schema patterns are ECMAScript regular expressions, and where the two
 * engines read the same syntax differently the JavaScript meaning is kept:
 * `\s` and `\S` are JavaScript's whitespace (Unicode spaces, line separators
 * and the BOM besides ASCII's), and `.` leaves out every line terminator
 * (`\r`, U+2028 and U+2029 as well as `\n`). The rest (`\d`, `\w`, `\b`,
 * `\p{...}`, `\u{...}`, named groups) means the same in both.
 */

/** JavaScript's `\s`, as the members of a class (RE2's `\s` is ASCII only). */
const JS_SPACE = "\\t\\n\\u000b\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff";
/** JavaScript's `.` without the `s` flag (RE2's leaves out `\n` only). */
const JS_DOT = "[^\\n\\r\\u2028\\u2029]";

/** What ajv calls a pattern engine: a function with a `code` name (ajv writes it into standalone code). */
export type PatternEngine = ((pattern: string, flags: string) => { test(text: string): boolean }) & { code: string };

/**
 * `pattern` with `flags` (ajv's: `"u"`) as ajv's `code.regExp` wants it:
 * RE2 where it can, JavaScript's RegExp otherwise. A pattern JavaScript
 * itself refuses throws its SyntaxError, as `new RegExp` would.
 */
export const schemaPattern: PatternEngine = Object.assign(
  (pattern: string, flags: string) => {
    const native = new RegExp(pattern, flags);
    const re2 = flags === "u" ? linearPattern(pattern) : undefined;
    if (re2 === undefined) return native;
    // ajv tells its patterns apart by `toString()`: the same text as the RegExp's.
    const text = native.toString();
    return { test: (input: string) => re2.test(input), toString: () => text };
  },
  { code: "schemaPattern" },
);

/** `pattern` (valid JavaScript with the `u` flag) compiled by RE2 with JavaScript's meaning, or undefined when RE2 cannot. */
export function linearPattern(pattern: string): RE2JS | undefined {
  const rewritten = withJavaScriptClasses(pattern);
  if (rewritten === undefined) return undefined;
  try {
    return RE2JS.compile(RE2JS.translateRegExp(rewritten));
  } catch {
    return undefined;
  }
}

/**
 * `pattern` with `\s`, `\S` and `.` spelt out as JavaScript means them, or
 * undefined when that cannot be written for RE2 (`\S` in a class) or the
 * pattern holds a class RE2 reads otherwise (`[]`, `[^]`).
 */
function withJavaScriptClasses(pattern: string): string | undefined {
  let out = "";
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] as string;
    if (char === "\\") {
      const escaped = pattern[i + 1] ?? "";
      i++;
      if (escaped === "s") out += inClass ? JS_SPACE : `[${JS_SPACE}]`;
      else if (escaped === "S") {
        if (inClass) return undefined;
        out += `[^${JS_SPACE}]`;
      } else out += `\\${escaped}`;
      continue;
    }
    if (inClass) {
      if (char === "]") inClass = false;
      out += char;
      continue;
    }
    if (char === "[") {
      const empty = pattern[i + 1] === "]" || (pattern[i + 1] === "^" && pattern[i + 2] === "]");
      if (empty) return undefined;
      inClass = true;
    }
    out += char === "." ? JS_DOT : char;
  }
  return out;
}
