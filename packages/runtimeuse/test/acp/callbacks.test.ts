import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { assistantBlocks, ofType, request } from "../agents/harness.js";
import { type AcpRuntime, scenario, startAcpRuntime } from "./support/runtime.js";

let dir: string;
let runtime: AcpRuntime;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "runtimeuse-acp-callbacks-"));
  runtime = await startAcpRuntime({ cwd: dir });
});
after(async () => {
  await runtime.stop();
  await rm(dir, { recursive: true, force: true });
});

function answerOf(messages: Array<Record<string, unknown>>): Record<string, unknown> {
  return JSON.parse(assistantBlocks(messages as never).join("")) as Record<string, unknown>;
}

describe("acp: permission requests", () => {
  test("--acp-permissions allow (the default) picks the allow-once option and logs it", async () => {
    const client = await runtime.client();
    const { messages, terminal } = await request(client, scenario({ scenario: "permission" }));
    assert.equal(terminal.message_type, "result_message");
    assert.deepEqual(assistantBlocks(messages), ["permission: yes"]);
    assert.ok(
      runtime.logs.some((line) =>
        /acp permission granted \(--acp-permissions allow\): Delete the build folder/.test(line),
      ),
      runtime.logs.join("\n"),
    );
  });

  test("--acp-permissions deny picks the reject-once option and logs it", async () => {
    const denying = await startAcpRuntime({ permissions: "deny" });
    try {
      const client = await denying.client();
      const { messages } = await request(client, scenario({ scenario: "permission" }));
      assert.deepEqual(assistantBlocks(messages), ["permission: no"]);
      assert.ok(denying.logs.some((line) => /acp permission refused \(--acp-permissions deny\)/.test(line)));
    } finally {
      await denying.stop();
    }
  });
});

describe("acp: file callbacks", () => {
  test("fs/read_text_file reads (whole and by lines), fs/write_text_file writes, and the written file is offered as an artifact", async () => {
    const source = join(dir, "in.txt");
    const target = join(dir, "out", "copy.txt");
    await writeFile(source, "line one\nline two\nline three\n");
    const client = await runtime.client();
    const { messages, terminal } = await request(
      client,
      scenario({ scenario: "fs", read: source, write: target }, { artifacts_dirs: [join(dir, "out")] }),
    );
    assert.equal(terminal.message_type, "result_message", JSON.stringify(terminal));
    const answer = answerOf(messages);
    assert.equal(answer.read, "line one\nline two\nline three\n");
    assert.equal(answer.line2, "line two");
    assert.match(String(answer.missing), /not found/i);
    assert.equal(await readFile(target, "utf8"), "copied: line one\nline two\nline three\n");
    const offers = ofType(messages, "artifact_upload_request_message");
    assert.deepEqual(
      offers.map((offer) => offer.filepath),
      [target],
    );
  });
});

describe("acp: file callbacks on what is not a regular file", () => {
  test("a FIFO, a device and a directory are refused at once, and the file after them is read", async () => {
    const fifo = join(dir, "pipe");
    execFileSync("mkfifo", [fifo]);
    const plain = join(dir, "plain.txt");
    await writeFile(plain, "plain text");
    const client = await runtime.client();
    const { messages, terminal } = await request(
      client,
      scenario({ scenario: "fs-each", reads: [fifo, "/dev/zero", dir, plain], writes: [fifo, "/dev/null"] }),
    );
    assert.equal(terminal.message_type, "result_message", JSON.stringify(terminal));
    const answer = answerOf(messages) as {
      reads: Array<Record<string, unknown>>;
      writes: Array<Record<string, unknown>>;
    };
    for (const [i, path] of [fifo, "/dev/zero", dir].entries()) {
      assert.match(String(answer.reads[i]?.error), /not a regular file/, `${path}: ${JSON.stringify(answer.reads[i])}`);
    }
    assert.deepEqual(answer.reads[3], { ok: { content: "plain text" } });
    for (const [i, path] of [fifo, "/dev/null"].entries()) {
      assert.match(
        String(answer.writes[i]?.error),
        /not a regular file/,
        `${path}: ${JSON.stringify(answer.writes[i])}`,
      );
    }
  });
});

describe("acp: terminals run through the command runner", () => {
  test("terminal/create runs the command with agent_env and its own env; output streams to the client and returns to the agent", async () => {
    const client = await runtime.client();
    const { messages, terminal } = await request(
      client,
      scenario(
        {
          scenario: "terminal",
          command: "sh",
          args: ["-c", 'echo "probe=$PROBE $OWN"; echo oops >&2; exit 3'],
          env: [{ name: "OWN", value: "own-value" }],
        },
        { agent_env: { PROBE: "from-agent-env" }, secrets_to_redact: ["own-value"] },
      ),
    );
    assert.equal(terminal.message_type, "result_message", JSON.stringify(terminal));
    const answer = answerOf(messages);
    assert.deepEqual(answer.exit, { exitCode: 3 });
    assert.match(String(answer.output), /probe=from-agent-env/);
    assert.match(String(answer.output), /oops/);
    const output = ofType(messages, "command_output_message");
    const command = `sh -c 'echo "probe=$PROBE $OWN"; echo oops >&2; exit 3'`;
    assert.ok(
      output.every((m) => m.command === command),
      JSON.stringify(output),
    );
    assert.equal(output.find((m) => m.stream === "stdout")?.text, "probe=from-agent-env [REDACTED]\n");
    assert.equal(output.find((m) => m.stream === "stderr")?.text, "oops\n");
  });

  test("outputByteLimit keeps the tail of the output and says it was truncated", async () => {
    const client = await runtime.client();
    const { messages } = await request(
      client,
      scenario({ scenario: "terminal", command: "printf 'abcdefghij'", outputByteLimit: 4 }),
    );
    const answer = answerOf(messages.filter((m) => m.message_type === "assistant_message"));
    assert.equal(answer.output, "ghij");
    assert.equal(answer.truncated, true);
  });
});
