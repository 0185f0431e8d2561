import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LogLevel, LogSink } from "../../src/logger.js";
import { type ListeningAddress, RuntimeUseServer, type RuntimeUseServerOptions } from "../../src/server/server.js";

export interface TestServer extends ListeningAddress {
  server: RuntimeUseServer;
  /** Every line the server logged, as `LEVEL message key=value...`. */
  logs: string[];
  close(): Promise<void>;
}

/** A sink that keeps every line in memory, for assertions on logs. */
export function memorySink(lines: string[]): LogSink {
  return {
    write(level: LogLevel, message, fields) {
      const rest = Object.entries(fields ?? {})
        .filter(([, value]) => value !== undefined)
        .map(([key, value]) => `${key}=${String(value)}`)
        .join(" ");
      lines.push(`${level.toUpperCase()} ${message}${rest ? ` ${rest}` : ""}`);
    },
  };
}

/** Conversations of test servers that name no state directory: never the machine's own. */
const TEST_STATE_DIR = join(tmpdir(), `runtimeuse-test-state-${process.pid}`);

/** A real RuntimeUseServer on 127.0.0.1, port 0. */
export async function startTestServer(options: Omit<RuntimeUseServerOptions, "port" | "host">): Promise<TestServer> {
  const logs: string[] = [];
  const server = new RuntimeUseServer({
    logSink: memorySink(logs),
    ...options,
    conversations: { stateDir: TEST_STATE_DIR, ...options.conversations },
    port: 0,
    host: "127.0.0.1",
  });
  const address = await server.startListening();
  return { ...address, server, logs, close: () => server.stop() };
}
