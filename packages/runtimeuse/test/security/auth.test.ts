import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { AgentHandler } from "../../src/handler.js";
import { presentedTokens, redactUrlToken, TokenCheck } from "../../src/server/auth.js";
import { AuthThrottle } from "../../src/server/throttle.js";
import { commands, invocation, RawClient } from "../support/client.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { expectRefused } from "./support.js";

const TOKEN = "s3cret-T0ken+with/odd=chars";
const echo: AgentHandler = { run: async (inv) => ({ type: "text", text: inv.userPrompt }) };

describe("token auth on a real server", () => {
  let server: TestServer;
  before(async () => {
    // The runtime's own environment holds the token, as when the CLI reads RUNTIMEUSE_TOKEN.
    process.env.RUNTIMEUSE_TOKEN = TOKEN;
    server = await startTestServer({ handler: echo, token: TOKEN, authThrottle: { freeFailures: 1000 } });
  });
  after(async () => {
    delete process.env.RUNTIMEUSE_TOKEN;
    await server.close();
  });

  test("an upgrade without a token is refused with 401 and no connection is made", async () => {
    const refused = await expectRefused(server.url);
    assert.equal(refused.status, 401);
    assert.match(refused.body, /a token is required: send "Authorization: Bearer <token>" or \?token=<token>/);
    assert.equal(refused.headers["www-authenticate"], 'Bearer realm="runtimeuse"');
    assert.equal(server.server.connectionCount, 0);
    assert.ok(!server.logs.some((line) => line.includes("connection open")), server.logs.join("\n"));
    assert.ok(server.logs.some((line) => /upgrade refused status=401 reason=missing_token/.test(line)));
  });

  test("a wrong token in the header or the URL is refused with 401", async () => {
    for (const options of [
      { url: server.url, headers: { authorization: `Bearer ${TOKEN}x` } },
      { url: server.url, headers: { authorization: `Basic ${TOKEN}` } },
      { url: `${server.url}/?token=${encodeURIComponent(TOKEN.slice(0, -1))}`, headers: {} },
      { url: `${server.url}/?token=`, headers: {} },
    ]) {
      const refused = await expectRefused(options.url, { headers: options.headers });
      assert.equal(refused.status, 401, JSON.stringify(options));
    }
    assert.equal(server.server.connectionCount, 0);
  });

  test("the right token in the Authorization header opens a working connection", async () => {
    const client = await RawClient.connect(server.url, { headers: { authorization: `bearer ${TOKEN}` } });
    client.send(invocation({ user_prompt: "via header" }));
    assert.deepEqual((await client.untilTerminal()).terminal.data, { type: "text", text: "via header" });
    await client.close();
  });

  test("the right token in ?token= opens a working connection, and the log shows it redacted", async () => {
    const client = await RawClient.connect(`${server.url}/ws?x=1&token=${encodeURIComponent(TOKEN)}`);
    client.send(invocation({ user_prompt: "via url" }));
    assert.deepEqual((await client.untilTerminal()).terminal.data, { type: "text", text: "via url" });
    await client.close();
    assert.ok(
      server.logs.some((line) => line.includes("path=/ws?x=1&token=[REDACTED]")),
      server.logs.join("\n"),
    );
    assert.ok(!server.logs.some((line) => line.includes(encodeURIComponent(TOKEN)) || line.includes(TOKEN)));
  });

  test("a right token in the URL is accepted even when a proxy's own Authorization header is present", async () => {
    const client = await RawClient.connect(`${server.url}/?token=${encodeURIComponent(TOKEN)}`, {
      headers: { authorization: "Bearer proxy-credential" },
    });
    await client.close();
  });

  test("commands never see RUNTIMEUSE_TOKEN nor the token's value", async () => {
    const client = await RawClient.connect(server.url, { headers: { authorization: `Bearer ${TOKEN}` } });
    client.send(commands(["env"]));
    const { terminal } = await client.untilTerminal();
    const results = terminal.results as Array<{ stdout: string; exit_code: number }>;
    assert.equal(results[0]?.exit_code, 0);
    assert.match(results[0]?.stdout ?? "", /PATH=/);
    assert.ok(!results[0]?.stdout.includes("RUNTIMEUSE_TOKEN"));
    assert.ok(!results[0]?.stdout.includes(TOKEN));
    await client.close();
  });

  test("a handler that logs the token has it redacted from the runtime's log", async () => {
    const leaky = await startTestServer({
      token: TOKEN,
      handler: async (inv) => {
        inv.logger.log(`the token is ${TOKEN}`);
        return { type: "text", text: "ok" };
      },
    });
    const client = await RawClient.connect(leaky.url, { headers: { authorization: `Bearer ${TOKEN}` } });
    client.send(invocation());
    await client.untilTerminal();
    await client.close();
    await leaky.close();
    assert.ok(
      leaky.logs.some((line) => line.includes("the token is [REDACTED]")),
      leaky.logs.join("\n"),
    );
    assert.ok(!leaky.logs.some((line) => line.includes(TOKEN)));
  });
});

describe("repeated auth failures", () => {
  test("past the free failures an address gets 429 with Retry-After, even with the right token", async () => {
    const server = await startTestServer({
      handler: echo,
      token: TOKEN,
      authThrottle: { freeFailures: 2, baseDelayMs: 120_000, maxDelayMs: 120_000 },
    });
    try {
      for (let i = 0; i < 3; i++) {
        assert.equal((await expectRefused(server.url, { headers: { authorization: "Bearer guess" } })).status, 401);
      }
      const locked = await expectRefused(server.url, { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(locked.status, 429);
      const retryAfter = Number(locked.headers["retry-after"]);
      assert.ok(retryAfter > 60 && retryAfter <= 120, `Retry-After: ${retryAfter}`);
      assert.match(locked.body, new RegExp(`too many failed authentication attempts; retry in ${retryAfter} s`));
      assert.ok(server.logs.some((line) => /upgrade refused status=401 reason=wrong_token/.test(line)));
    } finally {
      await server.close();
    }
  });

  test("the throttle doubles the lockout per failure, caps it, forgets, and a success clears it", () => {
    let now = 0;
    const throttle = new AuthThrottle({
      freeFailures: 2,
      baseDelayMs: 1_000,
      maxDelayMs: 4_000,
      forgetAfterMs: 60_000,
      now: () => now,
    });
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map(() => throttle.recordFailure("a")),
      [0, 0, 1_000, 2_000, 4_000, 4_000],
    );
    assert.equal(throttle.retryAfterMs("a"), 4_000);
    assert.equal(throttle.retryAfterMs("b"), 0);
    now = 4_000;
    assert.equal(throttle.retryAfterMs("a"), 0);
    assert.equal(throttle.recordFailure("a"), 4_000, "the count is kept after the lockout ends");
    now = 100_000;
    assert.equal(throttle.retryAfterMs("a"), 0);
    assert.equal(throttle.recordFailure("a"), 0, "an address quiet for forgetAfterMs starts afresh");
    throttle.recordFailure("a");
    throttle.recordSuccess("a");
    assert.equal(throttle.recordFailure("a"), 0, "a success clears the record");
  });

  test("the throttle tracks at most maxTracked addresses, forgetting the least recent", () => {
    const throttle = new AuthThrottle({ freeFailures: 0, maxTracked: 100, now: () => 0 });
    for (let i = 0; i < 10_000; i++) throttle.recordFailure(`10.0.${i >> 8}.${i & 255}`);
    assert.equal(throttle.size, 100);
    assert.ok(throttle.retryAfterMs("10.0.39.15") > 0, "the most recent address is kept");
    assert.equal(throttle.retryAfterMs("10.0.0.0"), 0, "the oldest address was forgotten");
  });
});

describe("token parsing and redaction", () => {
  test("the check compares whole tokens, whatever their length", () => {
    const check = new TokenCheck("abc");
    assert.deepEqual(check.check({ headers: { authorization: "Bearer abc" }, url: "/" }), { ok: true });
    assert.deepEqual(check.check({ headers: {}, url: "/?token=abc" }), { ok: true });
    assert.deepEqual(check.check({ headers: {}, url: "/?%74oken=abc" }), { ok: true });
    for (const wrong of ["ab", "abcd", "ABC", "", " abc"]) {
      assert.equal(check.check({ headers: {}, url: `/?token=${encodeURIComponent(wrong)}` }).ok, false, wrong);
    }
    assert.deepEqual(check.check({ headers: {}, url: "/" }), { ok: false, reason: "missing" });
    assert.throws(() => new TokenCheck(""), /must not be empty/);
  });

  test("presentedTokens reads the Bearer header and the token parameter", () => {
    assert.deepEqual(presentedTokens({ headers: { authorization: "Bearer  a b " }, url: "/?token=c%2Bd" }), [
      "a b",
      "c+d",
    ]);
    assert.deepEqual(presentedTokens({ headers: { authorization: "Token x" }, url: "/path" }), []);
  });

  test("redactUrlToken hides every token parameter, encoded names included, and bounds the length", () => {
    assert.equal(redactUrlToken("/?token=abc&x=1"), "/?token=[REDACTED]&x=1");
    assert.equal(redactUrlToken("/p?x=1&%74oken=abc&token=def"), "/p?x=1&%74oken=[REDACTED]&token=[REDACTED]");
    assert.equal(redactUrlToken("/p?tokens=keep"), "/p?tokens=keep");
    assert.equal(redactUrlToken(`/${"a".repeat(500)}`).length, 203);
  });
});

describe("startup warning", () => {
  test("listening on every interface without a token warns; with a token or on loopback it does not", async () => {
    const open = await startTestServer({ handler: echo });
    await open.close();
    assert.ok(!open.logs.some((line) => line.startsWith("WARN")), "loopback without a token is fine");

    const { RuntimeUseServer } = await import("../../src/server/server.js");
    const { memorySink } = await import("../support/server.js");
    for (const [token, warns] of [
      [undefined, true],
      [TOKEN, false],
    ] as const) {
      const logs: string[] = [];
      const exposed = new RuntimeUseServer({
        handler: echo,
        host: "0.0.0.0",
        port: 0,
        logSink: memorySink(logs),
        ...(token ? { token } : {}),
      });
      await exposed.startListening();
      await exposed.stop();
      const warning = logs.find((line) => line.startsWith("WARN") && line.includes("without a token"));
      assert.equal(Boolean(warning), warns, logs.join("\n"));
      if (warning)
        assert.match(warning, /anyone who can reach this port can run commands here; set --token or RUNTIMEUSE_TOKEN/);
    }
  });
});
