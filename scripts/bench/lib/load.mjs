// Workloads the benchmarks drive against a server URL. Each returns raw
// figures (latency samples in ms, counts, elapsed time); callers report them.
import { connect } from "./client.mjs";

/**
 * `count` sequential one-shot requests: connect, send, wait for the terminal,
 * close (until the close handshake completes). Latency covers all four.
 */
export async function oneShots(url, { count, text }) {
  const latencies = [];
  let failures = 0;
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    try {
      const connection = await connect(url);
      await connection.request(text);
      await connection.close();
      latencies.push(performance.now() - started);
    } catch {
      failures++;
    }
  }
  return { latencies, failures };
}

/**
 * Requests back to back on one connection for `durationMs` (after
 * `warmupMs` of the same, not counted). Resolves with the number completed,
 * the measured time and per-request latencies.
 */
export async function persistent(url, { durationMs, warmupMs = 0, text, beforeMeasure }) {
  const connection = await connect(url);
  try {
    const warmupEnd = performance.now() + warmupMs;
    while (performance.now() < warmupEnd) await connection.request(text);
    beforeMeasure?.();
    const latencies = [];
    const started = performance.now();
    const end = started + durationMs;
    let now = started;
    while (now < end) {
      const sent = now;
      await connection.request(text);
      now = performance.now();
      latencies.push(now - sent);
    }
    return { requests: latencies.length, elapsedMs: now - started, latencies };
  } finally {
    await connection.close();
  }
}

/**
 * Warms a server's JIT: `requests` back-to-back requests on one connection,
 * or fewer if `maxMs` runs out first (a count, because V8 optimises after a
 * number of calls, not after a time).
 */
export async function warmUp(url, { requests, maxMs, text }) {
  const connection = await connect(url);
  try {
    const end = performance.now() + maxMs;
    for (let i = 0; i < requests && performance.now() < end; i++) await connection.request(text);
  } finally {
    await connection.close();
  }
}

/** One request that streams `count` assistant messages; checks they all arrived. */
export async function stream(url, { count, text, timeoutMs = 120_000 }) {
  const connection = await connect(url);
  try {
    const started = performance.now();
    const { assistantMessages } = await connection.request(text, timeoutMs);
    const elapsedMs = performance.now() - started;
    if (assistantMessages !== count) {
      throw new Error(`expected ${count} assistant messages, received ${assistantMessages}`);
    }
    return { messages: assistantMessages, elapsedMs };
  } finally {
    await connection.close();
  }
}

/**
 * Opens `connections` connections at once, then, with all of them open, sends
 * `requestsPerConnection` sequential requests on each (all connections in
 * parallel), then closes them all. A failed connect, an `error_message`, a
 * dropped connection or a request over its time limit counts as a failure.
 */
export async function concurrent(url, { connections, requestsPerConnection, text, requestTimeoutMs = 60_000 }) {
  const failures = new Map();
  const fail = (error) => {
    const reason = error instanceof Error ? error.message : String(error);
    failures.set(reason, (failures.get(reason) ?? 0) + 1);
  };
  const connectStarted = performance.now();
  const settled = await Promise.allSettled(Array.from({ length: connections }, () => connect(url)));
  const connectMs = performance.now() - connectStarted;
  const open = [];
  for (const outcome of settled) {
    if (outcome.status === "fulfilled") open.push(outcome.value);
    else fail(outcome.reason);
  }

  const latencies = [];
  const started = performance.now();
  await Promise.all(
    open.map(async (connection) => {
      for (let i = 0; i < requestsPerConnection; i++) {
        const sent = performance.now();
        try {
          await connection.request(text, requestTimeoutMs);
          latencies.push(performance.now() - sent);
        } catch (error) {
          fail(error);
          // One failure per missing request: a dead connection cannot carry the rest.
          if (connection.ws.readyState !== connection.ws.OPEN) {
            for (let rest = i + 1; rest < requestsPerConnection; rest++) fail(new Error("connection lost"));
            return;
          }
        }
      }
    }),
  );
  const elapsedMs = performance.now() - started;
  await Promise.all(open.map((connection) => connection.close()));
  // A connection that never opened loses all its requests.
  const lostToConnect = (connections - open.length) * requestsPerConnection;
  let failureCount = 0;
  for (const count of failures.values()) failureCount += count;
  failureCount += lostToConnect - (connections - open.length);
  return { requests: latencies.length, latencies, elapsedMs, connectMs, failures: failureCount, reasons: failures };
}

/**
 * One request whose handler sends `count` assistant messages, the i-th
 * carrying `blockOf(i)`: checks every one arrived, once, in order, before the
 * terminal. With `pauseMs`, the client stops reading right after sending the
 * request, calls `whilePaused()` after `pauseMs` (the server has had that
 * long to pile up frames nobody reads), then reads everything.
 */
export async function ordered(url, { count, text, blockOf, pauseMs = 0, whilePaused, timeoutMs = 120_000 }) {
  const connection = await connect(url);
  try {
    let next = 0;
    let outOfOrder;
    const onAssistant = (data) => {
      if (outOfOrder !== undefined) return;
      const block = JSON.parse(data.toString("utf8")).text_blocks?.[0];
      if (block !== blockOf(next)) outOfOrder = `message ${next} was ${JSON.stringify(block)}`;
      next++;
    };
    const started = performance.now();
    const done = connection.request(text, timeoutMs, { onAssistant });
    if (pauseMs > 0) {
      connection.ws.pause();
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
      whilePaused?.();
      connection.ws.resume();
    }
    const { assistantMessages } = await done;
    const elapsedMs = performance.now() - started;
    if (outOfOrder !== undefined) throw new Error(`out of order: ${outOfOrder}`);
    if (assistantMessages !== count)
      throw new Error(`expected ${count} assistant messages, received ${assistantMessages}`);
    return { messages: assistantMessages, elapsedMs };
  } finally {
    await connection.close();
  }
}
