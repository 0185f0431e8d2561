import type { z } from "zod";

/**
 * A narrower parse of one object schema for the shapes clients send most: a
 * request with its optional fields `null` or absent, its required fields
 * plain strings. Derived from the zod schema itself (zod stays the one
 * definition): a field the plan cannot check directly is parsed by its own
 * zod schema, and anything unexpected gives up (`undefined`), so the caller
 * parses the frame with zod, which then gives the same result or names the
 * problem. When it returns a value, that value is what `schema.parse` returns:
 * the same keys, in the same order, with the same values.
 */
export type FastParse = (raw: Record<string, unknown>) => Record<string, unknown> | undefined;

type FieldPlan =
  | { key: string; kind: "literal"; value: unknown }
  | { key: string; kind: "string" }
  | { key: string; kind: "field"; schema: z.ZodType; nullishIsUndefined: boolean }
  | { key: string; kind: "nullish"; whenAbsent: Absent; inner: z.ZodType; strings: boolean };

/** What a nullish field (see `nullishField`) gives for `null` or a missing value. */
export type Absent = "undefined" | "empty list";

/**
 * Schemas made by `nullishField`: `null` or absent gives `whenAbsent`, any
 * other value is parsed by `inner` alone. Recorded where the schema is made,
 * so that this parse knows what zod's transform does without running it.
 */
const nullishFields = new WeakMap<z.ZodType, { inner: z.ZodType; whenAbsent: Absent }>();

/**
 * Records that `schema` is `inner` made nullish: a `null` or missing value
 * parses to `whenAbsent` (undefined, or a new empty list), any other value
 * exactly as `inner` parses it. The caller defines `schema` so; returns it.
 */
export function nullishField<T extends z.ZodType>(schema: T, inner: z.ZodType, whenAbsent: Absent): T {
  nullishFields.set(schema, { inner, whenAbsent });
  return schema;
}

/** The parts of zod's schema definitions the plan reads. */
interface Definition {
  type: string;
  checks?: readonly unknown[];
  values?: readonly unknown[];
  shape?: Record<string, z.ZodType>;
  catchall?: unknown;
}

function definitionOf(schema: z.ZodType): Definition {
  return (schema as unknown as { _zod: { def: Definition } })._zod.def;
}

function parsesToUndefined(schema: z.ZodType, value: null | undefined): boolean {
  const result = schema.safeParse(value);
  return result.success && result.data === undefined;
}

/** An array of strings, neither with checks of its own. */
function isPlainStringArray(schema: z.ZodType): boolean {
  const def = definitionOf(schema) as Definition & { element?: z.ZodType };
  if (def.type !== "array" || (def.checks?.length ?? 0) > 0 || def.element === undefined) return false;
  const element = definitionOf(def.element);
  return element.type === "string" && (element.checks?.length ?? 0) === 0;
}

function planField(key: string, schema: z.ZodType): FieldPlan {
  const nullish = nullishFields.get(schema);
  if (nullish !== undefined) {
    return { key, kind: "nullish", ...nullish, strings: isPlainStringArray(nullish.inner) };
  }
  const def = definitionOf(schema);
  const plain = def.checks === undefined || def.checks.length === 0;
  if (def.type === "literal" && plain && def.values?.length === 1)
    return { key, kind: "literal", value: def.values[0] };
  if (def.type === "string" && plain) return { key, kind: "string" };
  return {
    key,
    kind: "field",
    schema,
    nullishIsUndefined: parsesToUndefined(schema, null) && parsesToUndefined(schema, undefined),
  };
}

/**
 * The fast parse of an object schema with no object-level checks and unknown
 * keys stripped; undefined otherwise, or when the process forbids generating
 * code (the caller then parses with zod, which gives the same answers).
 */
export function fastParseOf(schema: z.ZodType): FastParse | undefined {
  const def = definitionOf(schema);
  if (def.type !== "object" || def.shape === undefined || (def.checks?.length ?? 0) > 0 || def.catchall) {
    return undefined;
  }
  return compiled(Object.entries(def.shape).map(([key, field]) => planField(key, field)));
}

/** Whether `value` is a list of strings (nothing else in it). */
function isStringList(value: unknown): value is string[] {
  if (!Array.isArray(value)) return false;
  for (const item of value) if (typeof item !== "string") return false;
  return true;
}

/**
 * The plan as one generated function: each field read and written by its
 * own name, the output built in one shape, instead of a loop of reads and
 * writes by computed key (slow, generic property lookups on the path every
 * request takes). Undefined when the process forbids generating code.
 */
function compiled(plans: readonly FieldPlan[]): FastParse | undefined {
  const lines = ["const out = {};", "let value;", "let result;"];
  plans.forEach((plan, i) => {
    const key = JSON.stringify(plan.key);
    lines.push(`value = raw[${key}];`);
    switch (plan.kind) {
      case "literal":
        lines.push(`if (value !== plans[${i}].value) return undefined;`, `out[${key}] = value;`);
        break;
      case "string":
        lines.push(`if (typeof value !== "string") return undefined;`, `out[${key}] = value;`);
        break;
      case "nullish":
        lines.push(
          "if (value === null || value === undefined) {",
          plan.whenAbsent === "empty list" ? `  out[${key}] = [];` : `  if (${key} in raw) out[${key}] = undefined;`,
          plan.strings
            ? `} else if (isStringList(value)) { out[${key}] = value.slice(); } else return undefined;`
            : `} else { result = plans[${i}].inner.safeParse(value); if (!result.success) return undefined; out[${key}] = result.data; }`,
        );
        break;
      case "field":
        if (plan.nullishIsUndefined) {
          lines.push(
            `if (value === null || value === undefined) { if (${key} in raw) out[${key}] = undefined; } else {`,
          );
        } else lines.push("{");
        lines.push(
          `  result = plans[${i}].schema.safeParse(value);`,
          "  if (!result.success) return undefined;",
          `  if (result.data !== undefined || ${key} in raw) out[${key}] = result.data;`,
          "}",
        );
        break;
    }
  });
  lines.push("return out;");
  try {
    const make = new Function("plans", "isStringList", `return (raw) => {\n${lines.join("\n")}\n};`);
    return make(plans, isStringList) as FastParse;
  } catch (error) {
    // Code generation from strings is disallowed in this process (an EvalError); anything else is a bug here.
    if (error instanceof EvalError) return undefined;
    throw error;
  }
}
