// Resume test handler: the prompt is "<lines> <messages> <artifacts> <dir> <gate>".
// Streams `seq 1 <lines>` as command output, then <messages> numbered
// assistant messages, then writes <artifacts> files into <dir> (offered as
// artifacts), a little paced so that a test can cut the connection meanwhile;
// then waits (at most 30 s) for the file <gate> before it returns, so that a
// test gets all its cuts in before the result.
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export const artifactText = (i) => `artifact ${i}\n`.repeat(50 + i);

export default {
  async run(invocation, sender) {
    const [lines, messages, artifacts, dir, gate] = invocation.userPrompt.split(" ");
    const outcome = await invocation.runCommand(`seq 1 ${Number(lines)}`);
    for (let i = 1; i <= Number(messages); i++) {
      await sender.sendAssistantMessage([`message ${i}`]);
      if (i % 25 === 0) await sleep(20);
    }
    for (let i = 1; i <= Number(artifacts); i++) {
      await writeFile(join(dir, `artifact-${i}.bin`), artifactText(i));
      await sleep(20);
    }
    const deadline = Date.now() + 30_000;
    while (gate && !existsSync(gate) && Date.now() < deadline) await sleep(20);
    return { type: "text", text: `seq exited ${outcome.exitCode}` };
  },
};
