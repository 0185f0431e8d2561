import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { parseCliArgs } from "../../src/cli/args.js";
import { main } from "../../src/cli/main.js";
import { nodeTooOld } from "../../src/cli/node-version.js";
import { tarArchive } from "../downloads/support/archives.js";
import { TestHttpServer } from "../downloads/support/http-server.js";
import { invocation, RawClient } from "../support/client.js";

const BIN = fileURLToPath(new URL("../../bin/runtimeuse.js", import.meta.url));
const HANDLERS = fileURLToPath(new URL("../fixtures/handlers/", import.meta.url));
const LOOPBACK = ["--port", "0", "--host", "127.0.0.1"];

/** Runs main() in-process and captures what it prints. */
async function runMain(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (d) => {
    out += d;
  });
  stderr.on("data", (d) => {
    err += d;
  });
  const code = await main(argv, { stdout, stderr, env, cwd: HANDLERS, stopRequested: Promise.resolve() });
  return { code, out, err };
}

/** Starts the built binary and waits for its listening line. */
async function startBinary(
  args: string[],
  cwd?: string,
): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr?.on("data", (d) => {
    err += d;
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d) => {
      out += d;
      const match = /runtimeuse listening on (ws:\/\/\S+)/.exec(out);
      if (match?.[1]) resolve(match[1]);
    });
    child.once("exit", (code) => reject(new Error(`exited with ${code}: ${err}`)));
  });
  return { child, url, stderr: () => err };
}

describe("CLI flags", () => {
  test("--help prints usage with every flag and exits 0", async () => {
    const { code, out } = await runMain(["--help"]);
    assert.equal(code, 0);
    for (const flag of ["--port", "--host", "--agent", "--handler"]) assert.ok(out.includes(flag), flag);
  });

  test("--version prints the package version", async () => {
    const { code, out } = await runMain(["--version"]);
    assert.equal(code, 0);
    assert.match(out, /^\d+\.\d+\.\d+\n$/);
  });

  const bad: Array<[string[], RegExp]> = [
    [["--bogus"], /Unknown option '--bogus'/],
    [["--port", "http"], /--port must be a whole number/],
    [["--port", "70000"], /--port must be between 0 and 65535/],
    [["--max-frame-bytes", "-1"], /--max-frame-bytes must be a whole number, got "-1"/],
    [["--max-frame-bytes=-1"], /--max-frame-bytes must be a whole number, got "-1"/],
    [["--port", "-8080"], /--port must be a whole number, got "-8080"/],
    [["--agent", "gpt"], /unknown agent "gpt"; choose from openai, claude, echo, acp, codex, claude-code, gemini/],
    [["--agent", "echo,echo"], /--agent names "echo" twice/],
    [["--acp-permissions", "maybe"], /--acp-permissions must be one of allow, deny/],
    [["--handler", "missing.js"], /handler file not found: .*missing\.js/],
    [["--handler", ""], /the handler path is empty: name a module file, a directory or a package$/m],
    [["--handler", "  "], /the handler path is empty/],
    [["--handler", "nothing.mjs"], /exports no handler/],
    [
      ["--handler", "class-without-run.mjs"],
      /exports the class Helper, whose instances have no run\(invocation, sender\) method$/m,
    ],
    [
      ["--handler", "class-throws.mjs"],
      /cannot load handler .*class-throws\.mjs: new NeedsConfig\(\) threw: no config file$/m,
    ],
    [["--log-format", "xml"], /--log-format must be one of text, json/],
    [["stray"], /positional argument|Unexpected argument/],
    [["--conversation-ttl", "7"], /--conversation-ttl must be 0 or a whole number with a unit s, m, h or d/],
    [["--conversation-ttl", "1w"], /--conversation-ttl must be 0 or a whole number with a unit/],
    [["--conversation-max-bytes", "0"], /--conversation-max-bytes must be between 1 and/],
    [["--state-dir", " "], /--state-dir must not be empty/],
    [["--host", ""], /--host must not be empty/],
    [["--download-max-bytes", "0"], /--download-max-bytes must be between 1 and/],
    [["--download-idle-timeout", "1.5"], /--download-idle-timeout must be a whole number, got "1\.5"/],
  ];
  for (const [argv, pattern] of bad) {
    test(`${argv.join(" ")} gives one clear line and exit code 2`, async () => {
      const { code, err } = await runMain(argv);
      assert.equal(code, 2);
      assert.match(err, pattern);
      assert.equal(err.trim().split("\n").length, 1, err);
    });
  }

  test("--help shows the conversation flags with their defaults", async () => {
    const { out } = await runMain(["--help"]);
    assert.match(
      out,
      /--state-dir <dir> .*\(default \$XDG_STATE_HOME\/runtimeuse, else ~\/\.local\/state\/runtimeuse\)/,
    );
    assert.match(out, /--conversation-ttl <time>[\s\S]*\(default 7d\)/);
    assert.match(out, /--conversation-max-bytes <n>[\s\S]*\(default 52428800\)/);
  });

  test("nodeTooOld: versions before 20.6.0 are refused, naming both", () => {
    for (const old of ["18.19.1", "20.5.1", "20.0.0", "19.9.0"]) {
      assert.equal(nodeTooOld(old), `Node.js ${old} is too old: runtimeuse needs 20.6.0 or newer`, old);
    }
    for (const fine of ["20.6.0", "20.20.2", "22.23.5", "24.22.3", "100.0.0"])
      assert.equal(nodeTooOld(fine), undefined, fine);
  });

  test("the download flags reach the limits; absent ones keep their defaults", () => {
    assert.deepEqual(
      parseCliArgs([
        "--download-max-bytes",
        "10000000000",
        "--download-max-extracted-bytes",
        "20000000000",
        "--download-max-entries",
        "500000",
        "--download-idle-timeout",
        "300000",
      ]).downloads,
      {
        maxDownloadBytes: 10_000_000_000,
        maxExtractedBytes: 20_000_000_000,
        maxEntries: 500_000,
        idleTimeoutMs: 300_000,
      },
    );
    assert.deepEqual(parseCliArgs([]).downloads, {});
  });

  test("the conversation flags reach the settings; absent ones keep their defaults", () => {
    assert.deepEqual(
      parseCliArgs(["--state-dir", "/s", "--conversation-ttl", "36h", "--conversation-max-bytes", "1000"])
        .conversations,
      { stateDir: "/s", ttlMs: 36 * 3_600_000, maxBytes: 1000 },
    );
    assert.deepEqual(parseCliArgs(["--conversation-ttl", "0"]).conversations, { ttlMs: 0 });
    assert.deepEqual(parseCliArgs([]).conversations, {});
  });

  test("at start the CLI deletes conversations under --state-dir older than --conversation-ttl", async () => {
    const stateDir = await mkdtemp(join(tmpdir(), "runtimeuse-cli-state-"));
    try {
      const dir = join(stateDir, "conversations");
      await mkdir(dir);
      for (const name of ["old.jsonl", "new.jsonl"]) await writeFile(join(dir, name), "");
      const old = new Date(Date.now() - 2 * 3_600_000);
      await utimes(join(dir, "old.jsonl"), old, old);
      const argv = ["--agent", "echo", "--host", "127.0.0.1", "--port", "0", "--state-dir", stateDir];
      const { code, err } = await runMain([...argv, "--conversation-ttl", "1h"]);
      assert.equal(code, 0, err);
      assert.deepEqual(await readdir(dir), ["new.jsonl"]);
      assert.match(err, /pruned expired conversations .*removed=1/);
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }
  });

  test("at start the CLI warns once when conversations cannot be saved under --state-dir, and serves on", async () => {
    const dir = await mkdtemp(join(tmpdir(), "runtimeuse-cli-state-"));
    try {
      await writeFile(join(dir, "a-file"), "");
      const argv = ["--agent", "echo", "--host", "127.0.0.1", "--port", "0"];
      const blocked = await runMain([...argv, "--state-dir", join(dir, "a-file", "state")]);
      assert.equal(blocked.code, 0, blocked.err);
      const warnings = blocked.err.split("\n").filter((line) => line.includes("conversations cannot be saved"));
      assert.equal(warnings.length, 1, blocked.err);
      assert.match(
        warnings[0] ?? "",
        /WARN .*give a writable --state-dir \(conversations\.stateDir when embedded\) directory=\S+ reason=\S*a-file is not a directory/,
      );
      const fine = await runMain([...argv, "--state-dir", join(dir, "new", "state")]);
      assert.equal(fine.code, 0, fine.err);
      assert.doesNotMatch(fine.err, /conversations cannot be saved/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("a port in use says so", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as { port: number }).port;
    const { code, err } = await runMain(["--agent", "echo", "--host", "127.0.0.1", "--port", String(port)]);
    blocker.close();
    assert.equal(code, 2);
    assert.match(err, new RegExp(`port ${port} is already in use`));
  });

  test("an address no interface has is named, with the port", async () => {
    // 192.0.2.1 is TEST-NET-1: documentation only, never an interface's address.
    const { code, err } = await runMain(["--agent", "echo", "--host", "192.0.2.1", "--port", "8099"]);
    assert.equal(code, 2);
    assert.match(err, /^runtimeuse: cannot listen on 192\.0\.2\.1:8099: no network interface here has that address/m);
  });
});

/** Runs the built binary to its exit; `timeoutMs` later it is killed and the test fails. */
async function runBinaryToExit(args: string[], timeoutMs = 20_000): Promise<{ code: number | null; err: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr?.on("data", (d) => {
    err += d;
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.once("exit", (exitCode, exitSignal) => resolve([exitCode, exitSignal])),
  );
  clearTimeout(timer);
  assert.equal(signal, null, `still running after ${timeoutMs} ms; stderr: ${err}`);
  return { code, err };
}

describe("CLI binary", () => {
  test("a handler that fails while loading, after starting a timer, does not keep the runtime alive", async () => {
    const { code, err } = await runBinaryToExit([
      "--handler",
      join(HANDLERS, "import-fails-with-timer.mjs"),
      ...LOOPBACK,
    ]);
    assert.equal(code, 2);
    assert.match(err, /cannot load handler .*import-fails-with-timer\.mjs: the handler's config is missing/);
  });

  test("a handler whose top-level await never settles is named, exit code 2", async () => {
    const { code, err } = await runBinaryToExit(["--handler", join(HANDLERS, "import-never-settles.mjs"), ...LOOPBACK]);
    assert.equal(code, 2);
    assert.match(err, /cannot load handler .*import-never-settles\.mjs: its top-level await never settled/);
  });

  test("a handler that exits while loading keeps its own exit code", async () => {
    const dir = await mkdtemp(join(tmpdir(), "runtimeuse-exit-"));
    try {
      const file = join(dir, "exits.mjs");
      await writeFile(file, "process.exit(7);\n");
      const { code, err } = await runBinaryToExit(["--handler", file, ...LOOPBACK]);
      assert.equal(code, 7);
      assert.doesNotMatch(err, /never settled/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("the built binary serves a .ts handler without a build step, and exits 0 on SIGTERM", async () => {
    const { child, url } = await startBinary([
      "--port",
      "0",
      "--host",
      "127.0.0.1",
      "--handler",
      `${HANDLERS}shout.ts`,
    ]);
    const client = await RawClient.connect(url);
    client.send(invocation({ user_prompt: "quiet please" }));
    const { frames } = await client.untilTerminal();
    assert.deepEqual(frames, [
      { message_type: "assistant_message", text_blocks: ["shouting: QUIET PLEASE"] },
      { message_type: "result_message", metadata: {}, data: { type: "text", text: "QUIET PLEASE" } },
    ]);
    child.kill("SIGTERM");
    const code = await new Promise((resolve) => child.once("exit", resolve));
    assert.equal(code, 0);
    await client.closed;
  });

  test("a handler class gets one instance, made at start, that every request and connection goes to", async () => {
    const { child, url } = await startBinary([...LOOPBACK, "--handler", `${HANDLERS}counter-class.ts`]);
    try {
      for (const [prompt, expected] of [
        ["first", "first #1"],
        ["second", "second #2"],
      ]) {
        const client = await RawClient.connect(url);
        client.send(invocation({ user_prompt: prompt }));
        const { terminal } = await client.untilTerminal();
        await client.close();
        assert.deepEqual(terminal, {
          message_type: "result_message",
          metadata: {},
          data: { type: "text", text: expected },
        });
      }
    } finally {
      child.kill("SIGTERM");
    }
    assert.equal(await new Promise((resolve) => child.once("exit", resolve)), 0);
  });

  test("a named `handler` export works and --agent echo answers offline", async () => {
    const named = await startBinary(["--port", "0", "--host", "127.0.0.1", "--handler", `${HANDLERS}named.mjs`]);
    const client = await RawClient.connect(named.url);
    client.send(invocation({ model: "m1" }));
    assert.deepEqual((await client.untilTerminal()).terminal.data, { type: "text", text: "named m1" });
    named.child.kill("SIGTERM");

    const echo = await startBinary(["--port", "0", "--host", "127.0.0.1", "--agent", "echo"]);
    const second = await RawClient.connect(echo.url);
    const format = JSON.stringify({ type: "json_schema", schema: { type: "object" } });
    second.send(invocation({ user_prompt: '{"answer": 42}', output_format_json_schema_str: format }));
    const { terminal } = await second.untilTerminal();
    assert.deepEqual(terminal.data, { type: "structured_output", structured_output: { answer: 42 } });
    echo.child.kill("SIGTERM");
    await new Promise((resolve) => echo.child.once("exit", resolve));
    assert.match(echo.stderr(), /request start .*kind=invocation/);
    assert.match(echo.stderr(), /request end .*outcome=ok duration_ms=\d+/);
  });

  test("on a Node.js older than 20.6 the binary says which version it needs and exits 1, before loading the runtime", async () => {
    // The version is faked before the binary loads; on a real Node 18 the bundle would fail to link.
    const fake = `data:text/javascript,Object.defineProperty(process.versions,"node",{value:"18.19.1"})`;
    const child = spawn(process.execPath, ["--import", fake, BIN, "--agent", "echo"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout?.on("data", (d) => {
      out += d;
    });
    let err = "";
    child.stderr?.on("data", (d) => {
      err += d;
    });
    const code = await new Promise((resolve) => child.once("exit", resolve));
    assert.equal(code, 1);
    assert.equal(err, "runtimeuse: Node.js 18.19.1 is too old: runtimeuse needs 20.6.0 or newer\n");
    assert.equal(out, "");
  });

  test("--download-max-bytes and --download-max-entries bound a request's downloads; under them it runs", async () => {
    const http = await TestHttpServer.start();
    const dir = await mkdtemp(join(tmpdir(), "runtimeuse-cli-downloads-"));
    const cli = await startBinary([
      ...LOOPBACK,
      "--agent",
      "echo",
      "--download-max-bytes",
      "2000",
      "--download-max-entries",
      "2",
    ]);
    try {
      const client = await RawClient.connect(cli.url);
      const fetch = (path: string) =>
        invocation({ pre_agent_downloadables: [{ download_url: `${http.url}${path}`, working_dir: dir }] });
      http.file("/big.bin", Buffer.alloc(3000, 1));
      http.file("/small.bin", Buffer.alloc(1000, 1));
      const three = ["a", "b", "c"].map((name) => ({ path: `${name}.txt`, body: name }));
      http.file("/three.tar.gz", tarArchive(three, true));
      http.file("/two.tar.gz", tarArchive(three.slice(0, 2), true));

      client.send(fetch("/big.bin"));
      const big = (await client.untilTerminal()).terminal;
      assert.equal((big.metadata as Record<string, unknown>).code, "download_failed");
      assert.match(String(big.error), /larger than the limit of 2000 bytes/);
      client.send(fetch("/three.tar.gz"));
      const many = (await client.untilTerminal()).terminal;
      assert.equal((many.metadata as Record<string, unknown>).code, "download_failed");
      assert.match(String(many.error), /more than 2 entries/);
      for (const path of ["/small.bin", "/two.tar.gz"]) {
        client.send(fetch(path));
        assert.equal((await client.untilTerminal()).terminal.message_type, "result_message", path);
      }
      assert.deepEqual((await readdir(dir)).sort(), ["a.txt", "b.txt", "small.bin"]);
      await client.close();
    } finally {
      cli.child.kill("SIGTERM");
      await new Promise((resolve) => cli.child.once("exit", resolve));
      await http.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("a handler in a folder without node_modules gets the running runtime however it imports runtimeuse", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ru-handler-"));
    const body = `
      const wrapped = {
        async run(invocation, sender) {
          const result = await echoHandler.run(invocation, sender);
          return { ...result, metadata: { via: "the running runtime", redact: typeof redactText } };
        },
      };
      export default wrapped;`;
    const handlers: Record<string, string> = {
      "plain.mjs": `import { echoHandler, redactText } from "runtimeuse";\n${body}`,
      "typed.ts": `import { echoHandler, redactText, type AgentHandler } from "runtimeuse";\n${body.replace("const wrapped =", "const wrapped: AgentHandler =")}`,
      // Through a module of its own, by a computed name, and from code compiled at run time.
      "indirect.mjs": `import { echoHandler, redactText } from "./reexport.mjs";\n${body}`,
      "computed.mjs": `const { echoHandler, redactText } = await import(["runtime", "use"].join(""));\n${body}`,
      "compiled.mjs": `const { echoHandler, redactText } = await new Function("return import('runtime' + 'use')")();\n${body}`,
    };
    await writeFile(join(dir, "reexport.mjs"), 'export { echoHandler, redactText } from "runtimeuse";\n');
    for (const [file, source] of Object.entries(handlers)) await writeFile(join(dir, file), source);
    try {
      for (const file of Object.keys(handlers)) {
        const { child, url } = await startBinary([...LOOPBACK, "--handler", join(dir, file)]);
        const client = await RawClient.connect(url);
        client.send(invocation({ user_prompt: `hello from ${file}` }));
        const { frames } = await client.untilTerminal();
        assert.deepEqual(
          frames.at(-1),
          {
            message_type: "result_message",
            // echo's usage (it calls no model) travels with the wrapped result.
            metadata: {
              via: "the running runtime",
              redact: "function",
              usage: { input_tokens: 0, output_tokens: 0, cache_read_tokens: 0, cache_write_tokens: 0, model_calls: 0 },
            },
            data: { type: "text", text: `hello from ${file}` },
          },
          file,
        );
        child.kill("SIGTERM");
        assert.equal(await new Promise((resolve) => child.once("exit", resolve)), 0);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("--handler takes an installed package's name, found from the working directory, and serves it", async () => {
    const project = await mkdtemp(join(tmpdir(), "ru-handler-package-"));
    const pkg = join(project, "node_modules", "@acme", "agent");
    await mkdir(join(pkg, "dist"), { recursive: true });
    await writeFile(
      join(pkg, "package.json"),
      JSON.stringify({ name: "@acme/agent", type: "module", exports: { ".": { import: "./dist/agent.js" } } }),
    );
    // It imports runtimeuse without having it installed: the running runtime answers.
    await writeFile(
      join(pkg, "dist", "agent.js"),
      'import { echoHandler } from "runtimeuse";\nexport default { run: (invocation, sender) => echoHandler.run(invocation, sender) };\n',
    );
    let child: ChildProcess | undefined;
    try {
      const started = await startBinary([...LOOPBACK, "--handler", "@acme/agent"], project);
      child = started.child;
      const client = await RawClient.connect(started.url);
      client.send(invocation({ user_prompt: "from a package" }));
      const { frames } = await client.untilTerminal();
      assert.deepEqual((frames.at(-1) as { data?: unknown }).data, { type: "text", text: "from a package" });
      child.kill("SIGTERM");
      assert.equal(await new Promise((resolve) => child?.once("exit", resolve)), 0);
    } finally {
      child?.kill("SIGKILL");
      await rm(project, { recursive: true, force: true });
    }
  });

  test("a handler made of its own modules, a JSON file and built-ins, importing no package, loads and serves", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ru-handler-"));
    await mkdir(join(dir, "lib"));
    await writeFile(join(dir, "words.json"), '{ "prefix": "done:" }');
    await writeFile(
      join(dir, "lib", "format.mjs"),
      'import { EOL } from "node:os";\nexport const trim = (s) => s.split(EOL)[0];\n',
    );
    await writeFile(
      join(dir, "handler.mjs"),
      [
        'import words from "./words.json" with { type: "json" };',
        'import { trim } from "./lib/format.mjs";',
        "export default async (invocation) => ({ type: 'text', text: words.prefix + ' ' + trim(invocation.userPrompt) });",
      ].join("\n"),
    );
    try {
      const { child, url } = await startBinary([...LOOPBACK, "--handler", join(dir, "handler.mjs")]);
      const client = await RawClient.connect(url);
      client.send(invocation({ user_prompt: "several modules" }));
      assert.deepEqual((await client.untilTerminal()).terminal.data, { type: "text", text: "done: several modules" });
      child.kill("SIGTERM");
      assert.equal(await new Promise((resolve) => child.once("exit", resolve)), 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("an error thrown from a handler's timer is logged and the runtime keeps serving", async () => {
    const { child, url, stderr } = await startBinary([
      "--port",
      "0",
      "--host",
      "127.0.0.1",
      "--handler",
      `${HANDLERS}stray.mjs`,
    ]);
    const client = await RawClient.connect(url);
    for (const prompt of ["one", "two"]) {
      client.send(invocation({ user_prompt: prompt }));
      assert.deepEqual((await client.untilTerminal()).terminal.data, { type: "text", text: `still alive: ${prompt}` });
    }
    assert.equal(child.exitCode, null);
    assert.match(stderr(), /uncaught exception \(the runtime keeps serving\).*stray error from a timer/s);
    assert.match(stderr(), /unhandled promise rejection.*forgotten rejection/s);
    child.kill("SIGTERM");
    await new Promise((resolve) => child.once("exit", resolve));
  });
});
