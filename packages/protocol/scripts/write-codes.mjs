#!/usr/bin/env node
// Writes fixtures/codes.json from the built package (run `npm run build`
// first): the terminal message types and every error code, wire and
// client-side, for the test suites that cannot import TypeScript (Python).
// test/codes.test.ts fails when the committed file is out of date.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { codesFixture } from "../dist/codes.js";

const target = fileURLToPath(new URL("../fixtures/codes.json", import.meta.url));
writeFileSync(target, `${JSON.stringify(codesFixture(), null, 2)}\n`);
console.log(`wrote ${target}`);
