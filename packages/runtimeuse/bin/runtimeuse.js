#!/usr/bin/env node
// The bundled CLI (see scripts/bundle.mjs): one file to load before listening
// instead of the ~160 modules of dist/cli/main.js, which it is built from.
// The Node.js version is checked first, before the bundle is linked: on an
// older Node the link fails on a missing export, which names no version.
import { nodeTooOld } from "../dist/cli/node-version.js";

const tooOld = nodeTooOld();
if (tooOld) {
  process.stderr.write(`runtimeuse: ${tooOld}\n`);
  process.exitCode = 1;
} else {
  const { main } = await import("../dist/bundle/cli.js");
  process.exitCode = await main(process.argv.slice(2));
}
