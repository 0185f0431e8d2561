import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { BIN } from "../security/support.js";
import { invocation, RawClient } from "../support/client.js";

const README = new URL("../../../../README.md", import.meta.url);

test("the README's handler example, saved in a fresh folder, answers with the files there, as text and structured", async () => {
  const readme = await readFile(README, "utf8");
  const example = /### A custom handler[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!example?.includes("export default handler")) assert.fail("the README has the handler example");
  const dir = await mkdtemp(join(tmpdir(), "ru-readme-"));
  const sandbox = join(dir, "sandbox");
  await mkdir(sandbox);
  await writeFile(join(dir, "my-agent.ts"), example);
  await writeFile(join(sandbox, "notes.txt"), "hello\n");
  await writeFile(join(sandbox, ".env"), "A=1\n");
  // Run as the README says, from the sandbox's folder: `runtimeuse --handler ../my-agent.ts`.
  const child = spawn(process.execPath, [BIN, "--handler", "../my-agent.ts", "--port", "0", "--host", "127.0.0.1"], {
    cwd: sandbox,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (chunk) => {
        out += chunk;
        const match = /listening on (ws:\/\/\S+)/.exec(out);
        if (match?.[1]) resolve(match[1]);
      });
      child.once("exit", (code) => reject(new Error(`exited with ${code}: ${stderr}`)));
    });
    const client = await RawClient.connect(url);
    client.send(invocation({ user_prompt: "what is here?", source_id: "readme" }));
    const text = await client.untilTerminal();
    assert.deepEqual(
      text.frames.map((frame) => frame.message_type),
      ["assistant_message", "command_output_message", "result_message"],
    );
    assert.deepEqual(text.frames[0]?.text_blocks, [`Listing ${sandbox}`]);
    assert.deepEqual(text.terminal.data, { type: "text", text: "2 files: .env, notes.txt" });
    const schema = { type: "object", properties: { files: { type: "array", items: { type: "string" } } } };
    client.send(invocation({ output_format_json_schema_str: JSON.stringify(schema) }));
    assert.deepEqual((await client.untilTerminal()).terminal.data, {
      type: "structured_output",
      structured_output: { files: [".env", "notes.txt"] },
    });
    await client.close();
    assert.match(stderr, /\[readme\] found 2 files/);
  } finally {
    child.kill("SIGTERM");
    await new Promise((resolve) => child.once("exit", resolve));
    await rm(dir, { recursive: true, force: true });
  }
});
