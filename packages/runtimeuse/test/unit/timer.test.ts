import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { afterDelay, MAX_TIMER_MS } from "../../src/timer.js";

describe("afterDelay", () => {
  test("a delay past setTimeout's range does not fire at once, nor does Infinity (real timers)", async () => {
    const fired: string[] = [];
    const cancels = [
      afterDelay(MAX_TIMER_MS + 1, () => fired.push("just past the range")),
      afterDelay(3_000_000_000, () => fired.push("35 days")),
      afterDelay(Number.MAX_SAFE_INTEGER, () => fired.push("the largest safe integer")),
      afterDelay(Number.POSITIVE_INFINITY, () => fired.push("Infinity")),
    ];
    const short = new Promise<void>((resolve) => afterDelay(20, resolve));
    await short;
    await sleep(30);
    assert.deepEqual(fired, []);
    for (const cancel of cancels) cancel();
  });

  test("waits out a long delay in steps, then fires once; cancel stops it between steps", (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    let clock = 0;
    const now = () => clock;
    const advance = (ms: number) => {
      clock += ms;
      t.mock.timers.tick(ms);
    };
    const delay = 2 * MAX_TIMER_MS + 500;
    let fired = 0;
    afterDelay(delay, () => fired++, now);
    let cancelledFired = 0;
    const cancel = afterDelay(delay, () => cancelledFired++, now);
    advance(MAX_TIMER_MS);
    advance(MAX_TIMER_MS);
    assert.equal(fired, 0, "two full steps in, 500 ms are left");
    cancel();
    advance(499);
    assert.equal(fired, 0);
    advance(1);
    assert.equal(fired, 1);
    advance(10 * MAX_TIMER_MS);
    assert.equal(fired, 1, "once");
    assert.equal(cancelledFired, 0);
  });

  test("a step that wakes late measures what is left on the clock, not on the steps", (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    let clock = 0;
    let fired = 0;
    afterDelay(
      MAX_TIMER_MS + 1_000,
      () => fired++,
      () => clock,
    );
    // The machine slept: the clock moved further than the timer's step.
    clock += MAX_TIMER_MS + 900;
    t.mock.timers.tick(MAX_TIMER_MS);
    assert.equal(fired, 0);
    clock += 100;
    t.mock.timers.tick(100);
    assert.equal(fired, 1);
  });
});
