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
  | { key: string; kind: "field"; schema: z.ZodType; nullishIsUndefined: boolean };

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

function planField(key: string, schema: z.ZodType): FieldPlan {
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

/** The fast parse of an object schema with no object-level checks and unknown keys stripped; undefined otherwise. */
export function fastParseOf(schema: z.ZodType): FastParse | undefined {
  const def = definitionOf(schema);
  if (def.type !== "object" || def.shape === undefined || (def.checks?.length ?? 0) > 0 || def.catchall) {
    return undefined;
  }
  const plans = Object.entries(def.shape).map(([key, field]) => planField(key, field));
  return (raw) => {
    const out: Record<string, unknown> = {};
    for (const plan of plans) {
      const value = raw[plan.key];
      if (plan.kind === "literal") {
        if (value !== plan.value) return undefined;
        out[plan.key] = value;
      } else if (plan.kind === "string") {
        if (typeof value !== "string") return undefined;
        out[plan.key] = value;
      } else if (plan.nullishIsUndefined && (value === null || value === undefined)) {
        // zod keeps a key whose value came out undefined only when the input had it.
        if (plan.key in raw) out[plan.key] = undefined;
      } else {
        const result = plan.schema.safeParse(value);
        if (!result.success) return undefined;
        if (result.data !== undefined || plan.key in raw) out[plan.key] = result.data;
      }
    }
    return out;
  };
}
