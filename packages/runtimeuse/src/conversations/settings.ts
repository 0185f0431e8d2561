import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";

/** How the runtime keeps conversations (PROTOCOL.md "Conversations"). */
export interface ConversationSettings {
  /** Where conversations live (in `<stateDir>/conversations`). Default: see `defaultStateDir`. */
  stateDir?: string;
  /** Conversations not saved for this long are deleted when the server starts; 0 keeps them forever. Default 7 days. */
  ttlMs?: number;
  /** A conversation whose file is larger is refused (`conversation_too_large`) rather than loaded. Default 50 MiB. */
  maxBytes?: number;
}

export const CONVERSATION_DEFAULTS = {
  ttlMs: 7 * 24 * 60 * 60 * 1000,
  maxBytes: 50 * 1024 * 1024,
} as const;

/** How the default state directory is described in help text and docs. */
export const DEFAULT_STATE_DIR_TEXT = "$XDG_STATE_HOME/runtimeuse, else ~/.local/state/runtimeuse";

/** `$XDG_STATE_HOME/runtimeuse` when that variable holds an absolute path, else `~/.local/state/runtimeuse`. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_STATE_HOME;
  // The XDG spec says a relative value is to be ignored.
  if (xdg !== undefined && isAbsolute(xdg)) return join(xdg, "runtimeuse");
  return join(homedir(), ".local", "state", "runtimeuse");
}

export interface ResolvedConversationSettings {
  stateDir: string;
  ttlMs: number;
  maxBytes: number;
}

export function resolveConversationSettings(settings: ConversationSettings = {}): ResolvedConversationSettings {
  const ttlMs = settings.ttlMs ?? CONVERSATION_DEFAULTS.ttlMs;
  const maxBytes = settings.maxBytes ?? CONVERSATION_DEFAULTS.maxBytes;
  if (!Number.isFinite(ttlMs) || ttlMs < 0) throw new RangeError(`conversations.ttlMs must be >= 0, got ${ttlMs}`);
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) {
    throw new RangeError(`conversations.maxBytes must be a whole number >= 1, got ${maxBytes}`);
  }
  return { stateDir: settings.stateDir ?? defaultStateDir(), ttlMs, maxBytes };
}
