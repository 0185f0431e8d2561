import { isClass } from "../handler.js";

/**
 * The ranges of the server's numeric options, defined once: the CLI checks
 * its flags against them and `new RuntimeUseServer` checks what an embedder
 * passes, so a value the runtime cannot work with (a heartbeat every 0 ms, no
 * connection allowed, a port of -1) is refused where it is given, naming the
 * option, instead of misbehaving later.
 */
export const OPTION_RANGES = {
  port: [0, 65_535],
  maxFrameBytes: [1, 2 ** 31 - 1],
  maxConnections: [1, 1_000_000],
  pingIntervalMs: [100, 86_400_000],
  maxBufferedBytes: [1024, 2 ** 31 - 1],
  shutdownTimeoutMs: [0, 86_400_000],
  resumeGraceMs: [0, 86_400_000],
  replayBufferBytes: [1024 * 1024, 2 ** 31 - 1],
  heartbeatIntervalMs: [1, 86_400_000],
  windDownTimeoutMs: [0, 86_400_000],
  sendHighWaterMark: [1, 2 ** 31 - 1],
  maxCapturedStdout: [0, 2 ** 31 - 1],
  killGraceMs: [0, 86_400_000],
} as const satisfies Record<string, readonly [number, number]>;

export type RangedOption = keyof typeof OPTION_RANGES;

/**
 * Throws a `TypeError` or `RangeError` naming the first option of `options`
 * that cannot be used: no handler, a host that is no non-empty string, a
 * number outside its range or not whole. Absent options are fine (defaults).
 */
export function checkServerOptions(options: Record<string, unknown>): void {
  const handler = options.handler;
  if (isClass(handler)) {
    const name = handler.name;
    throw new TypeError(
      `RuntimeUseServer: options.handler is ${name ? `the class ${name}` : "a class"}, not a handler: pass an instance (${name ? `new ${name}()` : "made with new"})`,
    );
  }
  const runs = typeof handler === "function" || typeof (handler as { run?: unknown } | null)?.run === "function";
  if (!runs) {
    throw new TypeError(
      `RuntimeUseServer: options.handler must be an AgentHandler (an object with a run method) or a function, got ${describe(handler)}`,
    );
  }
  const host = options.host;
  if (host !== undefined && (typeof host !== "string" || host.trim() === "")) {
    throw new TypeError(`RuntimeUseServer: options.host must be a non-empty string, got ${describe(host)}`);
  }
  for (const [name, [min, max]] of Object.entries(OPTION_RANGES)) {
    const value = options[name];
    if (value === undefined) continue;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      throw new RangeError(
        `RuntimeUseServer: options.${name} must be a whole number from ${min} to ${max}, got ${describe(value)}`,
      );
    }
  }
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean" || value == null) return String(value);
  return `a value of type ${typeof value}`;
}
