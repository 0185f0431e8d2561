import type { ErrorObject, ValidateFunction } from "ajv";
import * as ajv07 from "ajv";
import * as ajv2019 from "ajv/dist/2019.js";
import * as ajv2020 from "ajv/dist/2020.js";
import * as formats from "ajv-formats";
import { schemaPattern } from "./schema-patterns.js";

/**
 * Checks structured results against the request's JSON Schema with ajv. This
 * module is loaded on first use, only by requests that carry a schema: ajv
 * is not needed for the server to start.
 *
 * The draft follows the schema's `$schema`: draft-07 (and -06) use ajv's
 * draft-07 validator, 2019-09 its 2019 one, anything else (2020-12, absent,
 * unknown) the 2020-12 one; a schema without `$schema` that only draft-07
 * accepts (tuple `items`) is compiled as draft-07. Unknown keywords are
 * ignored (agents' schemas carry their own), unknown formats are not checked.
 * `pattern` and `patternProperties` are matched by `schemaPattern`: in linear
 * time, with their JavaScript meaning.
 */

/** Where a value first fails its schema. */
export interface SchemaFailure {
  /** JSON Pointer of the failing value (`/answer`, `/items/0`); `""` is the whole value. */
  path: string;
  /** ajv's words: `must be integer`, `must have required property 'answer'`. */
  message: string;
}

/** A compiled schema: undefined when the value matches, else its first failure. */
export type SchemaCheck = (value: unknown) => SchemaFailure | undefined;

/** The schema itself is not a JSON Schema ajv can use. */
export class OutputSchemaError extends Error {
  override readonly name = "OutputSchemaError";
}

type AjvClass = typeof ajv2020.default.default;
type AjvInstance = InstanceType<AjvClass>;

const DRAFT_07 = /^https?:\/\/json-schema\.org\/draft-0[67]\/schema#?$/;
const DRAFT_2019 = /^https?:\/\/json-schema\.org\/draft\/2019-09\/schema#?$/;

/** Every failure of a value (up to a limit), for telling an agent all it must correct at once. */
export type SchemaFailures = (value: unknown) => SchemaFailure[];

/** Compiled checks by schema text; a client sends the same schema over and over. */
const cache = new Map<string, SchemaCheck>();
const failuresCache = new Map<string, SchemaFailures>();
const CACHE_LIMIT = 64;
/** Most failures `outputSchemaFailures` lists: an answer wrong everywhere must not make a huge prompt. */
export const MAX_LISTED_FAILURES = 10;
/** One ajv instance per draft; one set stopping at the first error, one collecting all. */
const instances = { first: new Map<AjvClass, AjvInstance>(), all: new Map<AjvClass, AjvInstance>() };

function instance(Class: AjvClass, allErrors: boolean): AjvInstance {
  const byClass = allErrors ? instances.all : instances.first;
  let ajv = byClass.get(Class);
  if (ajv === undefined) {
    // Patterns run on RE2 where it can express them: never for hours on one text (schema-patterns.ts).
    ajv = new Class({
      strict: false,
      allErrors,
      logger: false,
      validateFormats: true,
      code: { regExp: schemaPattern },
    });
    formats.default.default(ajv as Parameters<typeof formats.default.default>[0]);
    byClass.set(Class, ajv);
  }
  return ajv;
}

function compileWith(Class: AjvClass, schema: Record<string, unknown>, allErrors: boolean): ValidateFunction {
  const ajv = instance(Class, allErrors);
  try {
    return ajv.compile(schema);
  } finally {
    // Compiled functions keep what they need; the instance must not grow with every schema seen.
    ajv.removeSchema();
  }
}

function compile(schema: Record<string, unknown>, allErrors: boolean): ValidateFunction {
  const draft = typeof schema.$schema === "string" ? schema.$schema : undefined;
  if (draft !== undefined && DRAFT_07.test(draft)) {
    return compileWith(ajv07.default.default as AjvClass, schema, allErrors);
  }
  if (draft !== undefined && DRAFT_2019.test(draft)) {
    return compileWith(ajv2019.default.default as AjvClass, schema, allErrors);
  }
  const latest = draft === undefined || /2020-12/.test(draft) ? schema : withoutDraft(schema);
  try {
    return compileWith(ajv2020.default.default, latest, allErrors);
  } catch (error) {
    if (draft !== undefined) throw error;
    try {
      return compileWith(ajv07.default.default as AjvClass, schema, allErrors);
    } catch {
      throw error;
    }
  }
}

/** A schema naming a draft ajv does not know is read as 2020-12 rather than refused. */
function withoutDraft(schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = schema;
  return rest;
}

function firstFailure(errors: ErrorObject[] | null | undefined): SchemaFailure {
  const error = errors?.[0];
  return error === undefined ? { path: "", message: "does not match the schema" } : failureOf(error);
}

function failureOf(error: ErrorObject): SchemaFailure {
  const missing =
    error.keyword === "required" ? (error.params as { missingProperty?: string }).missingProperty : undefined;
  const path = missing === undefined ? error.instancePath : `${error.instancePath}/${escapePointer(missing)}`;
  return { path, message: error.message ?? `fails ${error.keyword}` };
}

function escapePointer(key: string): string {
  return key.replace(/~/g, "~0").replace(/\//g, "~1");
}

/**
 * The check for `schema`, compiled once per distinct `key` (the schema's
 * text). Throws `OutputSchemaError` when the schema cannot be compiled.
 */
export function outputSchemaCheck(key: string, schema: Record<string, unknown>): SchemaCheck {
  const cached = cache.get(key);
  if (cached !== undefined) return cached;
  const validate = compileOrRefuse(schema, false);
  const check: SchemaCheck = (value) => (validate(value) ? undefined : firstFailure(validate.errors));
  remember(cache, key, check);
  return check;
}

/**
 * Every failure of a value against `schema` (compiled once per `key`, with
 * ajv collecting all errors), at most `MAX_LISTED_FAILURES`, each path and
 * message once; `[]` when the value matches. For the failure path only:
 * collecting every error costs more than stopping at the first. Throws
 * `OutputSchemaError` when the schema cannot be compiled.
 */
export function outputSchemaFailures(key: string, schema: Record<string, unknown>): SchemaFailures {
  const cached = failuresCache.get(key);
  if (cached !== undefined) return cached;
  const validate = compileOrRefuse(schema, true);
  const failures: SchemaFailures = (value) => {
    if (validate(value)) return [];
    const listed = new Map<string, SchemaFailure>();
    for (const error of validate.errors ?? []) {
      const failure = failureOf(error);
      listed.set(`${failure.path}\0${failure.message}`, failure);
      if (listed.size >= MAX_LISTED_FAILURES) break;
    }
    return listed.size > 0 ? [...listed.values()] : [firstFailure(undefined)];
  };
  remember(failuresCache, key, failures);
  return failures;
}

/** `schema` compiled, or `OutputSchemaError` when ajv cannot use it. */
function compileOrRefuse(schema: Record<string, unknown>, allErrors: boolean): ValidateFunction {
  try {
    return compile(schema, allErrors);
  } catch (error) {
    throw new OutputSchemaError(error instanceof Error ? error.message : String(error));
  }
}

function remember<T>(map: Map<string, T>, key: string, value: T): void {
  if (map.size >= CACHE_LIMIT) map.delete(map.keys().next().value as string);
  map.set(key, value);
}
