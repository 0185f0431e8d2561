import type { AcpHandler } from "./handler.js";
import type { AcpAgentOptions } from "./options.js";

/**
 * Creates an ACP agent, loading the ACP host (and `@agentclientprotocol/sdk`)
 * on the first call: the CLI calls it only when it starts an ACP agent, so a
 * runtime without one never loads them.
 */
export async function loadAcpHandler(options: AcpAgentOptions): Promise<AcpHandler> {
  return (await import("./handler.js")).createAcpHandler(options);
}
