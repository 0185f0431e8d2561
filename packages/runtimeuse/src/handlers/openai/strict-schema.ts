/**
 * The OpenAI API enforces an output schema only in its "strict" form: every
 * object closed (`additionalProperties: false`) and every property listed in
 * `required`. Clients send ordinary JSON Schemas (pydantic's, zod's), so this
 * module converts one into that form and, after the model answered, converts
 * the answer back: a property that was optional in the client's schema is
 * made required-but-nullable for the model, and a `null` the model put there
 * is removed again so the answer validates against the client's schema.
 */

type Schema = Record<string, unknown>;

export interface StrictSchemaResult {
  schema: Schema;
  /**
   * False when the schema holds an object whose keys are free (a map, or an
   * object with no listed properties): strict mode cannot express it, so the
   * original schema is sent without enforcement.
   */
  strict: boolean;
}

/** Keywords the strict mode rejects and that carry no meaning once every property is required. */
const DROPPED_KEYWORDS = [
  "default",
  "patternProperties",
  "unevaluatedProperties",
  "propertyNames",
  "minProperties",
  "maxProperties",
  "dependentRequired",
  "dependentSchemas",
] as const;

function isSchema(value: unknown): value is Schema {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Throws when the schema cannot describe an object, which both APIs and the protocol require. */
export function assertObjectRoot(schema: Schema): void {
  const type = schema.type;
  const isObject = type === "object" || (type === undefined && isSchema(schema.properties));
  if (!isObject) {
    throw new Error(
      `the output schema must describe a JSON object (its root "type" must be "object"), got ${JSON.stringify(type ?? null)}`,
    );
  }
}

export function toStrictJsonSchema(schema: Schema): StrictSchemaResult {
  assertObjectRoot(schema);
  const state: ConvertState = { strict: true, root: schema, inlined: 0 };
  const converted = convert(schema, state);
  return state.strict ? { schema: converted, strict: true } : { schema, strict: false };
}

interface ConvertState {
  strict: boolean;
  root: Schema;
  /** Nesting of inlined `$ref`s, bounded so a recursive definition cannot loop. */
  inlined: number;
}

function convert(schema: Schema, state: ConvertState): Schema {
  // Strict mode accepts a `$ref` only on its own: one with sibling keywords
  // (a description, say) is inlined.
  if (typeof schema.$ref === "string" && Object.keys(schema).length > 1) {
    const { $ref, ...rest } = schema;
    const target = resolve({ $ref }, state.root);
    if (target.$ref === undefined && state.inlined < 16) {
      state.inlined++;
      const inlined = convert({ ...target, ...rest }, state);
      state.inlined--;
      return inlined;
    }
  }
  const out: Schema = { ...schema };
  for (const key of DROPPED_KEYWORDS) delete out[key];

  for (const key of ["$defs", "definitions"] as const) {
    const defs = schema[key];
    if (isSchema(defs)) {
      out[key] = Object.fromEntries(
        Object.entries(defs).map(([name, def]) => [name, isSchema(def) ? convert(def, state) : def]),
      );
    }
  }

  const properties = isSchema(schema.properties) ? schema.properties : undefined;
  if (schema.type === "object" || properties) {
    if (!properties || Object.keys(properties).length === 0 || isOpen(schema.additionalProperties)) {
      state.strict = false;
    }
    const required = new Set(Array.isArray(schema.required) ? schema.required.map(String) : []);
    const strictProps: Schema = {};
    for (const [name, value] of Object.entries(properties ?? {})) {
      if (!isSchema(value)) {
        strictProps[name] = value;
        continue;
      }
      const property = convert(value, state);
      strictProps[name] = required.has(name) ? property : nullable(property);
    }
    out.properties = strictProps;
    out.required = Object.keys(strictProps);
    out.additionalProperties = false;
  }

  if (isSchema(schema.items)) out.items = convert(schema.items, state);
  for (const key of ["anyOf", "oneOf"] as const) {
    const branches = schema[key];
    if (Array.isArray(branches)) {
      // Strict mode knows anyOf only; oneOf's exclusivity is lost, its branches kept.
      delete out[key];
      out.anyOf = branches.map((branch) => (isSchema(branch) ? convert(branch, state) : branch));
    }
  }
  const allOf = schema.allOf;
  if (Array.isArray(allOf)) {
    if (allOf.length === 1 && isSchema(allOf[0])) {
      delete out.allOf;
      Object.assign(out, convert(allOf[0], state));
    } else {
      out.allOf = allOf.map((part) => (isSchema(part) ? convert(part, state) : part));
    }
  }
  return out;
}

function isOpen(additional: unknown): boolean {
  return additional === true || isSchema(additional);
}

function allowsNull(schema: Schema): boolean {
  const type = schema.type;
  if (type === "null" || (Array.isArray(type) && type.includes("null"))) return true;
  if (Array.isArray(schema.enum) && schema.enum.includes(null)) return true;
  if (schema.const === null) return true;
  const branches = schema.anyOf ?? schema.oneOf;
  return Array.isArray(branches) && branches.some((branch) => isSchema(branch) && allowsNull(branch));
}

function nullable(schema: Schema): Schema {
  if (allowsNull(schema)) return schema;
  const type = schema.type;
  const simple = schema.enum === undefined && schema.const === undefined && schema.$ref === undefined;
  if (simple && typeof type === "string") return { ...schema, type: [type, "null"] };
  if (simple && Array.isArray(type)) return { ...schema, type: [...type, "null"] };
  return { anyOf: [schema, { type: "null" }] };
}

/**
 * Removes the `null`s the model gave for properties that were optional and
 * not nullable in the client's `schema`, at any depth reachable through
 * `properties`, `items`, local `$ref`s and single-element `allOf`. Branches of
 * `anyOf`/`oneOf` are left as they are (which branch applies is unknown).
 */
export function stripAddedNulls(value: unknown, schema: Schema, root: Schema = schema, depth = 0): unknown {
  if (depth > 64) return value;
  const resolved = resolve(schema, root);
  if (Array.isArray(value)) {
    const items = resolved.items;
    return isSchema(items) ? value.map((item) => stripAddedNulls(item, items, root, depth + 1)) : value;
  }
  if (!isSchema(value)) return value;
  const properties = isSchema(resolved.properties) ? resolved.properties : undefined;
  if (!properties) return value;
  const required = new Set(Array.isArray(resolved.required) ? resolved.required.map(String) : []);
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const property = properties[key];
    if (!isSchema(property)) {
      out[key] = item;
      continue;
    }
    if (item === null && !required.has(key) && !allowsNull(resolve(property, root))) continue;
    out[key] = stripAddedNulls(item, property, root, depth + 1);
  }
  return out;
}

function resolve(schema: Schema, root: Schema): Schema {
  let current = schema;
  for (let hops = 0; hops < 32; hops++) {
    const ref = current.$ref;
    if (typeof ref === "string" && ref.startsWith("#/")) {
      let target: unknown = root;
      for (const part of ref.slice(2).split("/")) {
        target = isSchema(target) ? target[part.replace(/~1/g, "/").replace(/~0/g, "~")] : undefined;
      }
      if (!isSchema(target)) return current;
      current = target;
      continue;
    }
    const allOf = current.allOf;
    if (Array.isArray(allOf) && allOf.length === 1 && isSchema(allOf[0]) && current.properties === undefined) {
      current = allOf[0];
      continue;
    }
    return current;
  }
  return current;
}
