import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startCli } from "../agents/cli.js";
import { readAnswering } from "../artifacts/support/answering.js";
import { PutSink } from "../artifacts/support/put-sink.js";
import { invocation, RawClient, waitFor } from "../support/client.js";

/** Low enough that the test can take every descriptor the runtime has left by opening connections. */
const OPEN_FILES_LIMIT = 128;
/** What the runtime loads once it listens, for the requests that need it: the watcher, the zip reader, the schema validator. */
const PRELOADED = ["chokidar", "yauzl", "ajv"];

test("out of file descriptors, the runtime ends the request it holds with the reason, then serves the same request in full once they are back", {
  timeout: 120_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), "runtimeuse-out-of-fds-"));
  const files = createServer((_request, response) => response.end("downloaded bytes\n"));
  await new Promise<void>((resolve) => files.listen(0, "127.0.0.1", resolve));
  const sink = await PutSink.start({ keepBodiesUpTo: 1024 });
  const imports = join(dir, "imports.log");
  const cli = await startCli(
    ["--agent", "echo", "--port", "0", "--host", "127.0.0.1", "--state-dir", join(dir, "state")],
    process.env,
    imports,
    OPEN_FILES_LIMIT,
  );
  const extra: RawClient[] = [];
  try {
    assert.ok(cli.url, `the CLI did not listen: ${cli.stderr()}`);
    await waitFor(
      async () => {
        const seen = (await readFile(imports, "utf8").catch(() => "")).split("\n");
        return PRELOADED.every((name) =>
          seen.some((specifier) => specifier === name || specifier.startsWith(`${name}/`)),
        );
      },
      30_000,
      `${PRELOADED.join(", ")} loaded with no request`,
    );
    const client = await RawClient.connect(cli.url);
    // Every descriptor the runtime can still get goes to a connection, until the system refuses one.
    for (;;) {
      try {
        extra.push(await RawClient.connect(cli.url));
      } catch {
        break;
      }
      assert.ok(extra.length <= OPEN_FILES_LIMIT, "connections never ran out");
    }
    const artifacts = join(dir, "artifacts");
    const request = invocation({
      user_prompt: '{"answer": 42}',
      output_format_json_schema_str: JSON.stringify({
        type: "json_schema",
        schema: { type: "object", properties: { answer: { type: "integer" } }, required: ["answer"] },
      }),
      artifacts_dirs: [artifacts],
      pre_agent_downloadables: [
        {
          download_url: `http://127.0.0.1:${(files.address() as AddressInfo).port}/data.txt`,
          working_dir: join(dir, "downloads"),
        },
      ],
      post_agent_invocation_commands: [{ command: `cp ${join(dir, "downloads", "data.txt")} ${artifacts}/copy.txt` }],
    });

    client.send(request);
    const starved = (await readAnswering(client, sink, "terminal")).at(-1);
    assert.equal(starved?.message_type, "error_message");
    assert.equal((starved?.metadata as Record<string, unknown> | undefined)?.code, "download_failed");
    assert.match(String(starved?.error), /EMFILE/);

    await Promise.all(extra.splice(0).map((connection) => connection.close()));
    client.send(request);
    const frames = await readAnswering(client, sink, "terminal");
    assert.deepEqual(frames.at(-1)?.data, { type: "structured_output", structured_output: { answer: 42 } });
    const copy = join(artifacts, "copy.txt");
    await waitFor(() => sink.uploadsOf(copy).length === 1, 20_000, "the upload of copy.txt");
    assert.equal(sink.uploadsOf(copy)[0]?.body?.toString(), "downloaded bytes\n");
    assert.doesNotMatch(cli.stderr(), /uncaught|request failed inside the runtime/);
    await client.close();
  } finally {
    await Promise.all(extra.map((connection) => connection.close()));
    await cli.stop();
    await sink.close();
    await new Promise((resolve) => files.close(resolve));
    await rm(dir, { recursive: true, force: true });
  }
});
