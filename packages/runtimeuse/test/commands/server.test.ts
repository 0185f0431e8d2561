import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { WebSocket } from "ws";
import { echoHandler } from "../../src/handlers/echo.js";
import { REDACTED } from "../../src/redact/redact.js";
import { tarArchive, zipArchive } from "../downloads/support/archives.js";
import { TestHttpServer } from "../downloads/support/http-server.js";
import { commands, type Frame, invocation, RawClient } from "../support/client.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { commandName, isRunning, runningInGroup, waitFor } from "./support/processes.js";

const writer = fileURLToPath(new URL("./support/writer.mjs", import.meta.url));
let scratch: string;
let http: TestHttpServer;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), "commands-server-"));
  http = await TestHttpServer.start();
});
after(async () => {
  await http.close();
  await rm(scratch, { recursive: true, force: true });
});

const TREE = "echo $$; sleep 300 & sleep 301 | cat";

/** Starts TREE through the server and returns its process group once all four processes run. */
async function startTree(client: RawClient): Promise<{ pgid: number; pids: number[] }> {
  client.send(commands([TREE]));
  const first = await client.next();
  assert.equal(first.message_type, "command_output_message");
  const pgid = Number(String(first.text).trim());
  // Forked children show as "sh" until they exec: wait for the real names.
  const pids = await waitFor(() => {
    const running = runningInGroup(pgid);
    return running.map(commandName).sort().join(" ") === "cat sh sleep sleep" ? running : undefined;
  }, "sh, both sleeps and cat");
  return { pgid, pids };
}

async function allGone(pids: number[]): Promise<void> {
  await waitFor(() => pids.every((pid) => !isRunning(pid)), `processes ${pids.join(", ")} to be gone`);
}

describe("commands through a real server", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ handler: echoHandler, maxCapturedStdout: 1000 });
  });
  after(async () => {
    await server.close();
  });

  test("cancel_message leaves no process of `sleep 300 & sleep 301 | cat` alive", async () => {
    const client = await RawClient.connect(server.url);
    const { pids } = await startTree(client);
    client.send({ message_type: "cancel_message" });
    const { terminal } = await client.untilTerminal();
    assert.deepEqual([terminal.message_type, terminal.error], ["error_message", "Request cancelled"]);
    await allGone(pids);
    await client.close();
  });

  test("a disconnect leaves no process of `sleep 300 & sleep 301 | cat` alive", async () => {
    const client = await RawClient.connect(server.url);
    const { pids } = await startTree(client);
    client.ws.terminate();
    await allGone(pids);
  });

  test("the captured stdout in command_execution_result_message is capped and flagged", async () => {
    const client = await RawClient.connect(server.url);
    client.send(commands(["head -c 5000 /dev/zero | tr '\\0' a; printf END", "echo small"]));
    const { terminal } = await client.untilTerminal();
    const [big, small] = terminal.results as Array<Record<string, unknown>>;
    assert.equal(big?.stdout_truncated, true);
    assert.equal(Buffer.byteLength(String(big?.stdout)), 1000);
    assert.ok(String(big?.stdout).endsWith("aaEND"));
    assert.deepEqual(small, { command: "echo small", exit_code: 0, stdout: "small\n" });
    await client.close();
  });

  test("a command too large for exec gets 127 and the reason like any that cannot start, in a command request and an invocation's", async () => {
    const client = await RawClient.connect(server.url);
    try {
      const huge = `echo ${"a".repeat(200_000)}`;
      client.send(commands([huge, "echo after"]));
      const { frames, terminal } = await client.untilTerminal();
      const reason = frames.find(
        (frame) => frame.message_type === "command_output_message" && frame.stream === "stderr",
      );
      assert.match(String(reason?.text), /^cannot run command: .*larger than the system allows \(spawn E2BIG\)/);
      // The first command that exits non-zero stops the rest (docs/PROTOCOL.md).
      assert.deepEqual(terminal.results, [{ command: huge, exit_code: 127, stdout: "" }]);
      client.send(invocation({ pre_agent_invocation_commands: [{ command: huge }] }));
      const pre = await client.untilTerminal();
      assert.deepEqual(pre.terminal.metadata, { code: "command_failed", command: huge, exit_code: 127 });
      client.send(commands(["echo still serving"]));
      assert.equal((await client.untilTerminal()).terminal.message_type, "command_execution_result_message");
    } finally {
      await client.close();
    }
    assert.ok(!server.logs.some((line) => /inside the runtime/.test(line)), "no internal_error was logged");
  });

  test("50 MiB of command output reaches a raw ws client byte-exact", async () => {
    const total = 50 * 1024 * 1024;
    const line = `${"x".repeat(61)}é`; // 64 bytes with its newline: 50 MiB ends on a line end
    const expected = createHash("sha256");
    const block = Buffer.from(`${line}\n`.repeat(1024));
    for (let i = 0; i < total / block.length; i++) expected.update(block);
    const received = createHash("sha256");
    let bytes = 0;
    const ws = new WebSocket(server.url);
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
    const terminal = await new Promise<Frame>((resolve) => {
      ws.on("message", (data) => {
        const frame = JSON.parse(String(data)) as Frame;
        if (frame.message_type === "command_output_message") {
          received.update(String(frame.text), "utf8");
          bytes += Buffer.byteLength(String(frame.text));
        } else if (frame.message_type !== "heartbeat_message") resolve(frame);
      });
      ws.send(JSON.stringify(commands([`yes '${line}' | head -c ${total}`])));
    });
    ws.close();
    assert.equal(terminal.message_type, "command_execution_result_message");
    assert.equal(bytes, total);
    assert.equal(received.digest("hex"), expected.digest("hex"));
  });

  test("a secret split across writes on stdout and stderr never appears in any frame", async () => {
    const secret = "sk-live-0123456789abcdefghijklmnopqrstuvwxyz";
    const writes: Array<{ fd: number; hex: string }> = [];
    for (let cut = 1; cut < secret.length; cut++) {
      for (const fd of [1, 2]) {
        writes.push({ fd, hex: Buffer.from(`<${secret.slice(0, cut)}`).toString("hex") });
        writes.push({ fd, hex: Buffer.from(`${secret.slice(cut)}>\n`).toString("hex") });
      }
    }
    const plan = join(scratch, "secret-plan.json");
    await writeFile(plan, JSON.stringify({ pauseMs: 2, writes }));
    const raw: string[] = [];
    const client = await RawClient.connect(server.url);
    client.ws.on("message", (data) => raw.push(String(data)));
    client.send(commands([`"${process.execPath}" "${writer}" "${plan}"`], { secrets_to_redact: [secret] }));
    const { frames } = await client.untilTerminal();
    assert.equal(
      raw.some((text) => text.includes(secret)),
      false,
    );
    const streamed = { stdout: "", stderr: "" };
    for (const frame of frames) {
      if (frame.message_type === "command_output_message") streamed[frame.stream as "stdout" | "stderr"] += frame.text;
    }
    const expected = `<${REDACTED}>\n`.repeat(secret.length - 1);
    assert.equal(streamed.stdout, expected);
    assert.equal(streamed.stderr, expected);
    await client.close();
  });

  test("a secret given by an earlier request on the connection stays hidden when a later command splits it", async () => {
    const secret = "tok-earlier-request-9f3a8c7d6e5b";
    const cuts = [1, 7, 16, secret.length - 1];
    const writes = cuts.flatMap((cut) => [
      { fd: 1, hex: Buffer.from(`<${secret.slice(0, cut)}`).toString("hex") },
      { fd: 1, hex: Buffer.from(`${secret.slice(cut)}>\n`).toString("hex") },
    ]);
    const plan = join(scratch, "earlier-secret-plan.json");
    await writeFile(plan, JSON.stringify({ pauseMs: 2, writes }));
    const client = await RawClient.connect(server.url);
    client.send(commands(["true"], { secrets_to_redact: [secret] }));
    await client.untilTerminal();
    client.send(commands([`"${process.execPath}" "${writer}" "${plan}"`]));
    const { frames, terminal } = await client.untilTerminal();
    const streamed = frames
      .filter((frame) => frame.message_type === "command_output_message")
      .map((frame) => String(frame.text))
      .join("");
    assert.equal(streamed, `<${REDACTED}>\n`.repeat(cuts.length));
    assert.equal((terminal.results as Array<{ stdout: string }>)[0]?.stdout, `<${REDACTED}>\n`.repeat(cuts.length));
    await client.close();
  });

  test("pre_execution_downloadables extract a zip and a tar.gz before the commands run", async () => {
    const work = join(scratch, "server-downloads");
    const zip = http.file("/srv/code.zip", await zipArchive([{ path: "src/main.txt", body: "from zip" }]));
    const tgz = http.file("/srv/data.tar.gz", tarArchive([{ path: "data/rows.txt", body: "from tar" }], true));
    const client = await RawClient.connect(server.url);
    client.send(
      commands([{ command: "cat src/main.txt data/rows.txt; ls", cwd: work }], {
        pre_execution_downloadables: [
          { download_url: zip, working_dir: work },
          { download_url: tgz, working_dir: work },
        ],
      }),
    );
    const { terminal } = await client.untilTerminal();
    const [item] = terminal.results as Array<Record<string, unknown>>;
    assert.equal(item?.stdout, "from zipfrom tardata\nsrc\n");
    await client.close();
  });

  test("a zip with a ../ entry ends the request with an error naming the entry", async () => {
    const work = join(scratch, "server-evil");
    const evil = await zipArchive([{ path: "xx/escape.txt", body: "evil" }], { "xx/escape.txt": "../escape.txt" });
    const client = await RawClient.connect(server.url);
    client.send(
      commands(["echo never"], {
        pre_execution_downloadables: [{ download_url: http.file("/srv/evil.zip", evil), working_dir: work }],
      }),
    );
    const { terminal, frames } = await client.untilTerminal();
    assert.equal(terminal.message_type, "error_message");
    assert.match(String(terminal.error), /"\.\.\/escape\.txt" refused/);
    assert.equal((terminal.metadata as Record<string, unknown>).code, "download_failed");
    assert.equal(frames.length, 1, "no command ran");
    await assert.rejects(readFile(join(scratch, "escape.txt")));
    await client.close();
  });
});

describe("server.stop() with a command running", () => {
  test("stop() leaves no process of `sleep 300 & sleep 301 | cat` alive", async () => {
    const server = await startTestServer({ handler: echoHandler });
    const client = await RawClient.connect(server.url);
    const { pids } = await startTree(client);
    await server.close();
    await allGone(pids);
    const terminal = client.frames.find((frame) => frame.message_type === "error_message");
    assert.ok(terminal, "the request got its terminal before the connection closed");
    await client.closed;
  });
});
