import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { stripAddedNulls, toStrictJsonSchema } from "../../src/handlers/openai/strict-schema.js";

// What pydantic v2 emits for:
//   class Item(BaseModel): name: str; qty: int = 1
//   class Order(BaseModel): items: list[Item]; note: str | None = None; kind: Kind (an Enum, with a description)
const pydanticOrder = {
  $defs: {
    Item: {
      properties: { name: { title: "Name", type: "string" }, qty: { default: 1, title: "Qty", type: "integer" } },
      required: ["name"],
      title: "Item",
      type: "object",
    },
    Kind: { enum: ["a", "b"], title: "Kind", type: "string" },
  },
  properties: {
    items: { items: { $ref: "#/$defs/Item" }, title: "Items", type: "array" },
    note: { anyOf: [{ type: "string" }, { type: "null" }], default: null, title: "Note" },
    kind: { $ref: "#/$defs/Kind", description: "what sort of order" },
  },
  required: ["items", "kind"],
  title: "Order",
  type: "object",
};

describe("strict output schema conversion", () => {
  test("a pydantic schema becomes strict: closed objects, all properties required, defaults dropped, $ref siblings inlined", () => {
    const { schema, strict } = toStrictJsonSchema(pydanticOrder);
    assert.equal(strict, true);
    assert.deepEqual(schema, {
      $defs: {
        Item: {
          properties: { name: { title: "Name", type: "string" }, qty: { title: "Qty", type: ["integer", "null"] } },
          required: ["name", "qty"],
          additionalProperties: false,
          title: "Item",
          type: "object",
        },
        Kind: { enum: ["a", "b"], title: "Kind", type: "string" },
      },
      properties: {
        items: { items: { $ref: "#/$defs/Item" }, title: "Items", type: "array" },
        note: { anyOf: [{ type: "string" }, { type: "null" }], title: "Note" },
        kind: { enum: ["a", "b"], title: "Kind", type: "string", description: "what sort of order" },
      },
      required: ["items", "note", "kind"],
      additionalProperties: false,
      title: "Order",
      type: "object",
    });
  });

  test("the original schema is left untouched", () => {
    const before = JSON.stringify(pydanticOrder);
    toStrictJsonSchema(pydanticOrder);
    assert.equal(JSON.stringify(pydanticOrder), before);
  });

  test("oneOf becomes anyOf, and an optional enum or $ref becomes nullable through anyOf", () => {
    const { schema } = toStrictJsonSchema({
      type: "object",
      properties: {
        shape: { oneOf: [{ type: "string" }, { type: "integer" }] },
        level: { enum: ["low", "high"] },
        ref: { $ref: "#/$defs/R" },
      },
      required: ["shape"],
      $defs: { R: { type: "object", properties: { x: { type: "number" } }, required: ["x"] } },
    });
    const properties = schema.properties as Record<string, unknown>;
    assert.deepEqual(properties.shape, { anyOf: [{ type: "string" }, { type: "integer" }] });
    assert.deepEqual(properties.level, { anyOf: [{ enum: ["low", "high"] }, { type: "null" }] });
    assert.deepEqual(properties.ref, { anyOf: [{ $ref: "#/$defs/R" }, { type: "null" }] });
  });

  test("an object with free keys cannot be strict: the original schema is kept and strict is off", () => {
    const schema = {
      type: "object",
      properties: { scores: { type: "object", additionalProperties: { type: "number" } } },
    };
    const result = toStrictJsonSchema(schema);
    assert.equal(result.strict, false);
    assert.equal(result.schema, schema);
  });

  test("a root that is not an object is refused with a message naming the type", () => {
    assert.throws(
      () => toStrictJsonSchema({ type: "array", items: { type: "string" } }),
      /must describe a JSON object.*"array"/,
    );
  });

  test("a recursive $ref with siblings does not loop", () => {
    const { strict } = toStrictJsonSchema({
      type: "object",
      properties: { root: { $ref: "#/$defs/Node", description: "top" } },
      required: ["root"],
      $defs: {
        Node: {
          type: "object",
          properties: { child: { $ref: "#/$defs/Node", description: "next" } },
          required: [],
        },
      },
    });
    assert.equal(strict, true);
  });
});

describe("removing the nulls added for optional properties", () => {
  test("nulls of optional, non-nullable properties go, at any depth through $ref and items", () => {
    const answer = { items: [{ name: "x", qty: null }], note: null, kind: "a" };
    assert.deepEqual(stripAddedNulls(answer, pydanticOrder), { items: [{ name: "x" }], note: null, kind: "a" });
  });

  test("a null in a required property is kept (the model's answer is not rewritten beyond that)", () => {
    const schema = { type: "object", properties: { a: { type: "string" } }, required: ["a"] };
    assert.deepEqual(stripAddedNulls({ a: null }, schema), { a: null });
  });
});
