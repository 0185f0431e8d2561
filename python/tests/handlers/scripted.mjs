// Interop handler that routes each request to one of the behaviours beside
// it, so a single runtime (and a single persistent session) can mix them.
// The prompt is "<behaviour>|<prompt for that behaviour>", e.g.
// "echo|hello", "stream|50", "fail|throw:boom", "wait|abort", "secret|fail".
import echo from "./echo.mjs";
import { handler as fail } from "./fail.mjs";
import secret from "./secret.mjs";
import stream from "./stream.mjs";
import wait from "./wait.mjs";

const behaviours = {
  echo: (invocation, sender) => echo.run(invocation, sender),
  fail,
  secret: (invocation, sender) => secret.run(invocation, sender),
  stream: (invocation, sender) => stream.run(invocation, sender),
  wait: (invocation, sender) => wait.run(invocation, sender),
};

export default async function scripted(invocation, sender) {
  const prompt = invocation.userPrompt;
  const bar = prompt.indexOf("|");
  const behaviour = bar < 0 ? undefined : behaviours[prompt.slice(0, bar)];
  if (behaviour === undefined) {
    throw new Error(`scripted handler: expected "<${Object.keys(behaviours).join("|")}>|<prompt>", got ${JSON.stringify(prompt)}`);
  }
  // Keep every other field (and method) of the invocation; replace the prompt.
  const inner = Object.create(invocation, { userPrompt: { value: prompt.slice(bar + 1), enumerable: true } });
  return behaviour(inner, sender);
}
