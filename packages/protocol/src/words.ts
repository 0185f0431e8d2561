import * as z from "zod";

// The schemas marked as words of the protocol (see free-text.ts): schemas.ts
// marks them, textPlanOf reads the marks. Not part of the package's face.

export interface WordMeta {
  /** The values that are words; absent: every value is. */
  values?: readonly string[];
  /** For a record: the keys whose values are words, with the values that count as words. */
  fields?: Readonly<Record<string, readonly string[]>>;
}

const words = z.registry<WordMeta>();

/**
 * Marks a schema as a word of the protocol, not free text. On a string: the
 * whole value (or, with `values`, those values). On a record: the named keys'
 * values, when they are one of the listed words.
 */
export function protocolWord<T extends z.ZodType>(schema: T, meta: WordMeta = {}): T {
  words.add(schema, meta);
  return schema;
}

/** What `protocolWord` recorded for `schema`, if anything. */
export function wordMeta(schema: z.ZodType): WordMeta | undefined {
  return words.get(schema);
}
