// Interop handler that waits. Prompt "abort" (the default) waits until the
// request's signal fires (cancel, disconnect), at most 120 s; prompt
// "sleep:<ms>" waits that long or until the signal fires. When the signal
// fires it writes "aborted" to the file named by agent_env ABORT_MARKER (if
// given), then tries to send more, which the runtime must drop.
import { writeFile } from "node:fs/promises";

function waitFor(signal, ms) {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(true);
    const timer = setTimeout(() => resolve(false), ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export default {
  async run(invocation, sender) {
    const prompt = invocation.userPrompt;
    const ms = prompt.startsWith("sleep:") ? Number(prompt.slice("sleep:".length)) : 120_000;
    await sender.sendAssistantMessage(["waiting"]);
    const aborted = await waitFor(invocation.signal, ms);
    if (!aborted) return { type: "text", text: `slept ${ms}` };
    if (invocation.env.ABORT_MARKER) await writeFile(invocation.env.ABORT_MARKER, "aborted");
    await sender.sendAssistantMessage(["after abort"]);
    return { type: "text", text: "too late" };
  },
};
