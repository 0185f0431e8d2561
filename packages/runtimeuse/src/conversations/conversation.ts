import type { LoadedConversation } from "./lease.js";
import { type JsonValue, type RunChanges, toJsonText } from "./log.js";

export type { JsonValue } from "./log.js";

/**
 * `invocation.conversation`: what earlier runs of this conversation saved, and
 * what this run will save. Changes stay in memory; the runtime writes them
 * all at once when the run ends with a result, and drops them when it ends any
 * other way. Values are serialised as JSON when handed over (so changing an
 * object afterwards changes nothing saved); a value JSON cannot hold throws a
 * `TypeError` at that call.
 */
export interface Conversation {
  /** The request's `conversation_id`. */
  readonly id: string;
  /** Runs on this conversation saved before this one (0 for a new conversation). */
  readonly runs: number;
  /** The value the last saved run passed to `save`, or undefined. A fresh copy each call. */
  load(): Promise<JsonValue | undefined>;
  /** Replaces that value. Keep it small: it is written whole each time it changes. */
  save(value: unknown): void;
  /** Every entry appended by earlier runs and by this one so far, oldest first. A fresh copy each call. */
  history(): Promise<JsonValue[]>;
  /** Adds entries at the end of the history. Only these are written when the run is saved. */
  append(...entries: unknown[]): void;
  /** Replaces the whole history (the file is then rewritten rather than appended to). */
  replaceHistory(entries: readonly unknown[]): void;
}

/** The `Conversation` of one run, recording its changes for `ConversationLease.commit`. */
export class RunConversation implements Conversation {
  readonly runs: number;
  private readonly appended: string[] = [];
  private replaced: string[] | undefined;
  private state: string | undefined;
  private stateSaved = false;

  constructor(
    readonly id: string,
    private readonly loaded: LoadedConversation,
  ) {
    this.runs = loaded.runs;
  }

  async load(): Promise<JsonValue | undefined> {
    if (this.stateSaved) return this.state === undefined ? undefined : (JSON.parse(this.state) as JsonValue);
    return this.loaded.state === undefined ? undefined : structuredClone(this.loaded.state);
  }

  save(value: unknown): void {
    this.state = toJsonText(value, "the conversation state");
    this.stateSaved = true;
  }

  async history(): Promise<JsonValue[]> {
    const earlier = this.replaced
      ? this.replaced.map((text) => JSON.parse(text) as JsonValue)
      : await this.loaded.history();
    for (const text of this.appended) earlier.push(JSON.parse(text) as JsonValue);
    return earlier;
  }

  append(...entries: unknown[]): void {
    const texts = entries.map((entry, index) => toJsonText(entry, `history entry ${index}`));
    for (const text of texts) this.appended.push(text);
  }

  replaceHistory(entries: readonly unknown[]): void {
    this.replaced = entries.map((entry, index) => toJsonText(entry, `history entry ${index}`));
    this.appended.length = 0;
  }

  /** What this run changed, for the store. */
  changes(): RunChanges {
    return {
      append: this.appended,
      ...(this.replaced === undefined ? {} : { replaceHistory: this.replaced }),
      ...(this.stateSaved && this.state !== undefined ? { state: this.state } : {}),
    };
  }
}
