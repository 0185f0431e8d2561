import type * as z from "zod";
import { wordMeta } from "./words.js";

/**
 * Which parts of a message are free text (prompts, output, errors, paths,
 * metadata values) and which are words of the protocol (`message_type`,
 * `data.type`, `stream`, `phase`, an artifact's `status`, an error's
 * `metadata.code`). Redaction replaces secrets in free text only: a secret
 * that happens to equal a protocol word must not make a message unparseable.
 *
 * The plan is derived from the zod schemas, so a new message or field is
 * covered as soon as its schema exists: literals and enums are words, strings
 * are free text unless marked with `protocolWord`, values of unknown shape are
 * free text at every depth. Object keys are never free text.
 */
export type TextPlan =
  /** A string that is free text. */
  | { kind: "text" }
  /** A word of the protocol; with `values`, only those values are words and anything else is free text. */
  | { kind: "word"; values?: ReadonlySet<string> }
  /** A value of any shape: every string in it, at any depth, is free text; keys are not. */
  | { kind: "json" }
  /** No strings in it (numbers, booleans). */
  | { kind: "none" }
  | { kind: "object"; fields: Readonly<Record<string, TextPlan>>; rest: TextPlan }
  | { kind: "array"; items: TextPlan }
  | { kind: "union"; discriminator: string; options: ReadonlyMap<string, TextPlan> };

const TEXT: TextPlan = { kind: "text" };
const JSON_PLAN: TextPlan = { kind: "json" };
const NONE: TextPlan = { kind: "none" };

interface Def {
  type: string;
  [key: string]: unknown;
}

function defOf(schema: unknown): Def {
  return (schema as { _zod: { def: Def } })._zod.def;
}

/** The text plan of a zod schema. */
export function textPlanOf(schema: z.ZodType): TextPlan {
  const meta = wordMeta(schema);
  const def = defOf(schema);
  if (meta !== undefined && def.type === "string") {
    return { kind: "word", ...(meta.values ? { values: new Set(meta.values) } : {}) };
  }
  switch (def.type) {
    case "string":
      return TEXT;
    case "literal":
      return { kind: "word", values: new Set((def.values as unknown[]).map(String)) };
    case "enum":
      return { kind: "word", values: new Set(Object.values(def.entries as Record<string, string>).map(String)) };
    case "number":
    case "int":
    case "boolean":
    case "null":
    case "undefined":
      return NONE;
    case "optional":
    case "nullable":
    case "default":
    case "readonly":
      return textPlanOf(def.innerType as z.ZodType);
    case "pipe": {
      // A transform's output is not described; the input side is what was checked.
      const input = def.in as z.ZodType;
      return defOf(input).type === "transform" ? textPlanOf(def.out as z.ZodType) : textPlanOf(input);
    }
    case "array":
      return { kind: "array", items: textPlanOf(def.element as z.ZodType) };
    case "object": {
      const fields: Record<string, TextPlan> = {};
      for (const [key, value] of Object.entries(def.shape as Record<string, z.ZodType>))
        fields[key] = textPlanOf(value);
      return { kind: "object", fields, rest: def.catchall ? textPlanOf(def.catchall as z.ZodType) : JSON_PLAN };
    }
    case "record": {
      const rest = textPlanOf(def.valueType as z.ZodType);
      const fields: Record<string, TextPlan> = {};
      for (const [key, values] of Object.entries(meta?.fields ?? {}))
        fields[key] = { kind: "word", values: new Set(values) };
      return { kind: "object", fields, rest };
    }
    case "union": {
      const discriminator = def.discriminator as string | undefined;
      if (discriminator === undefined) return JSON_PLAN;
      const options = new Map<string, TextPlan>();
      for (const option of def.options as z.ZodType[]) {
        const plan = textPlanOf(option);
        const tag = plan.kind === "object" ? plan.fields[discriminator] : undefined;
        if (tag?.kind !== "word" || tag.values === undefined) return JSON_PLAN;
        for (const value of tag.values) options.set(value, plan);
      }
      return { kind: "union", discriminator, options };
    }
    default:
      return JSON_PLAN;
  }
}
