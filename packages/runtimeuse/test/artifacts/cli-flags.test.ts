import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseCliArgs, USAGE, UsageError } from "../../src/cli/args.js";
import { echoHandler } from "../../src/handlers/echo.js";
import { RuntimeUseServer } from "../../src/server/server.js";

describe("artifact CLI flags", () => {
  test("settle window, upload timeout and retries reach the artifact settings; absent flags keep the defaults", () => {
    assert.deepEqual(parseCliArgs([]).artifacts, {});
    assert.deepEqual(
      parseCliArgs(["--artifact-settle", "80", "--artifact-upload-timeout", "5000", "--artifact-retries", "0"])
        .artifacts,
      { settleMs: 80, uploadTimeoutMs: 5000, retries: 0 },
    );
  });

  test("a bad value is refused with the flag's name", () => {
    assert.throws(() => parseCliArgs(["--artifact-retries", "-1"]), UsageError);
    assert.throws(() => parseCliArgs(["--artifact-retries", "1000"]), /--artifact-retries must be between 0 and 100/);
    assert.throws(() => parseCliArgs(["--artifact-settle", "soon"]), /--artifact-settle must be a whole number/);
    assert.throws(() => parseCliArgs(["--artifact-upload-timeout", "0"]), /--artifact-upload-timeout/);
  });

  test("the usage text lists the artifact flags", () => {
    for (const flag of ["--artifact-settle", "--artifact-upload-timeout", "--artifact-retries"]) {
      assert.ok(USAGE.includes(flag), flag);
    }
  });
});

describe("artifact settings of a server", () => {
  test("a server refuses bad artifact settings when it is created, naming the setting", () => {
    assert.throws(
      () => new RuntimeUseServer({ handler: echoHandler, artifacts: { retries: -1 } }),
      /artifact option retries must be a number >= 0, got -1/,
    );
    assert.throws(
      () => new RuntimeUseServer({ handler: echoHandler, artifacts: { settleMs: Number.NaN } }),
      /artifact option settleMs/,
    );
  });
});
