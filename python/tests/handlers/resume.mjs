// Resume test handler: the prompt is "<lines> <messages> <artifacts> <dir>".
// Streams `seq 1 <lines>` as command output, then <messages> numbered
// assistant messages, then writes <artifacts> files into <dir> (offered as
// artifacts), a little paced so that a test can cut the connection meanwhile.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export const artifactText = (i) => `artifact ${i}\n`.repeat(50 + i);

export default {
  async run(invocation, sender) {
    const [lines, messages, artifacts, dir] = invocation.userPrompt.split(" ");
    const outcome = await invocation.runCommand(`seq 1 ${Number(lines)}`);
    for (let i = 1; i <= Number(messages); i++) {
      await sender.sendAssistantMessage([`message ${i}`]);
      if (i % 50 === 0) await sleep(20);
    }
    for (let i = 1; i <= Number(artifacts); i++) {
      await writeFile(join(dir, `artifact-${i}.bin`), artifactText(i));
      await sleep(10);
    }
    return { type: "text", text: `seq exited ${outcome.exitCode}` };
  },
};
