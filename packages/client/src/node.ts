/**
 * `runtimeuse-client/node`: the same API as `runtimeuse-client`, except that
 * `RuntimeUseClient` connects through `ws` by default, so the token travels as
 * an `Authorization: Bearer` header and `headers` are sent. This is the only
 * entry point that imports Node.js modules.
 */
import { RuntimeUseClient as StandardRuntimeUseClient } from "./client.js";
import { NodeWebSocketTransport } from "./transport/node.js";
import type { RuntimeUseClientOptions } from "./types.js";

export * from "./index.js";
export { NodeWebSocketTransport, type NodeWebSocketTransportOptions } from "./transport/node.js";

export class RuntimeUseClient extends StandardRuntimeUseClient {
  constructor(options: RuntimeUseClientOptions) {
    super({ ...options, transport: options?.transport ?? new NodeWebSocketTransport() });
  }
}
