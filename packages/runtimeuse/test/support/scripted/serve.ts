/**
 * Runs a scripted model server as its own process, for tests outside this
 * TypeScript suite (the Python interop tests):
 *
 *   node --import tsx packages/runtimeuse/test/support/scripted/serve.ts openai|anthropic|gemini SCRIPT.json
 *
 * SCRIPT.json is a JSON array of turns, as in openai-responses.ts,
 * anthropic-messages.ts or gemini.ts (without function turns). Prints one
 * line once ready, `scripted <api> listening <base URL>`, the value for
 * OPENAI_BASE_URL, ANTHROPIC_BASE_URL or GOOGLE_GEMINI_BASE_URL. `GET <origin>/__scripted/requests` returns every
 * request received so far. Stops on SIGTERM or SIGINT.
 */
import { readFileSync } from "node:fs";
import { startScriptedAnthropic } from "./anthropic-messages.js";
import { startScriptedGemini } from "./gemini.js";
import { startScriptedOpenAI } from "./openai-responses.js";

const [api, scriptPath] = process.argv.slice(2);
if ((api !== "openai" && api !== "anthropic" && api !== "gemini") || !scriptPath) {
  process.stderr.write("usage: serve.ts openai|anthropic|gemini SCRIPT.json\n");
  process.exit(2);
}
const script = JSON.parse(readFileSync(scriptPath, "utf8"));
if (!Array.isArray(script)) {
  process.stderr.write(`${scriptPath}: expected a JSON array of turns\n`);
  process.exit(2);
}
const starters = { openai: startScriptedOpenAI, anthropic: startScriptedAnthropic, gemini: startScriptedGemini };
const server = await starters[api](script);
process.stdout.write(`scripted ${api} listening ${server.baseURL}\n`);
const stop = () => void server.close().then(() => process.exit(0));
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
