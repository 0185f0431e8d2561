#!/usr/bin/env node
// The bundled CLI (see scripts/bundle.mjs): one file to load before listening
// instead of the ~160 modules of dist/cli/main.js, which it is built from.
import { main } from "../dist/bundle/cli.js";

process.exitCode = await main(process.argv.slice(2));
