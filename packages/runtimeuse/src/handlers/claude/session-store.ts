import { rm } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import type { SessionKey, SessionStore, SessionStoreEntry } from "@anthropic-ai/claude-agent-sdk";
import type { Conversation, JsonValue } from "../../conversations/index.js";

/** One transcript line as the conversation keeps it: which session (and subagent transcript) it belongs to. */
interface SavedEntry {
  session: string;
  subpath?: string;
  entry: SessionStoreEntry;
}

/** What the claude agent keeps in the conversation's state. */
interface ClaudeState {
  claude_session_id?: string;
}

/**
 * The Claude Agent SDK's `SessionStore` over a runtimeuse conversation. Claude
 * Code mirrors every transcript line it writes to `append`; the lines stay in
 * the conversation's memory until the runtime saves the run. To resume, the
 * SDK `load`s the session's lines and hands them to a fresh Claude Code in a
 * private configuration directory it removes afterwards.
 */
export class ConversationSessionStore implements SessionStore {
  private saved: Promise<SavedEntry[]> | undefined;
  /** Where the first run's own copy of the transcript went (see `removeLocalCopy`). */
  private projectKey: string | undefined;

  constructor(private readonly conversation: Conversation) {}

  /** The Claude session a previous run of this conversation ended in, to resume. */
  async resumeId(): Promise<string | undefined> {
    const state = (await this.conversation.load()) as ClaudeState | undefined;
    return typeof state?.claude_session_id === "string" ? state.claude_session_id : undefined;
  }

  /** Records the session this run ended in, when it is not the one it resumed. */
  async remember(sessionId: string): Promise<void> {
    if ((await this.resumeId()) !== sessionId) this.conversation.save({ claude_session_id: sessionId });
  }

  async append(key: SessionKey, entries: SessionStoreEntry[]): Promise<void> {
    this.projectKey = key.projectKey;
    this.conversation.append(
      ...entries.map((entry): SavedEntry => ({ session: key.sessionId, ...subpathOf(key), entry })),
    );
  }

  async load(key: SessionKey): Promise<SessionStoreEntry[] | null> {
    const entries = (await this.savedEntries())
      .filter((saved) => saved.session === key.sessionId && saved.subpath === key.subpath)
      .map((saved) => saved.entry);
    return entries.length > 0 ? entries : null;
  }

  async listSubkeys(key: { projectKey: string; sessionId: string }): Promise<string[]> {
    const subpaths = new Set<string>();
    for (const saved of await this.savedEntries()) {
      if (saved.session === key.sessionId && saved.subpath !== undefined) subpaths.add(saved.subpath);
    }
    return [...subpaths];
  }

  /**
   * A run that did not resume was started by Claude Code in its usual
   * configuration directory, where it also wrote its own copy of the
   * transcript; the conversation holds it now, so that copy goes. (A resumed
   * run wrote into the SDK's private directory, already gone.)
   */
  async removeLocalCopy(sessionId: string, env: Record<string, string | undefined>): Promise<void> {
    const project = this.projectKey;
    if (project === undefined || !isPlainName(project) || !isPlainName(sessionId)) return;
    const configDir = env.CLAUDE_CONFIG_DIR || join(env.HOME || homedir(), ".claude");
    const dir = join(configDir, "projects", project);
    await rm(join(dir, `${sessionId}.jsonl`), { force: true });
    await rm(join(dir, sessionId), { recursive: true, force: true });
  }

  private savedEntries(): Promise<SavedEntry[]> {
    this.saved ??= this.conversation.history().then((history) => history.filter(isSavedEntry));
    return this.saved;
  }
}

function subpathOf(key: SessionKey): { subpath?: string } {
  return key.subpath === undefined ? {} : { subpath: key.subpath };
}

function isSavedEntry(value: JsonValue): value is JsonValue & SavedEntry {
  const saved = value as Partial<SavedEntry> | null;
  return typeof saved?.session === "string" && typeof saved.entry === "object" && saved.entry !== null;
}

/** One path segment, no `..`: what the SDK's keys and Claude's session ids are. */
function isPlainName(name: string): boolean {
  return name !== "" && name !== "." && name !== ".." && !/[/\\\0]/.test(name);
}
