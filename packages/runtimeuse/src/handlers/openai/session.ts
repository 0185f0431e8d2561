import type { AgentInputItem, Session } from "@openai/agents";
import type { Conversation } from "../../conversations/index.js";

/**
 * The OpenAI Agents SDK's `Session` over a runtimeuse conversation: the runner
 * reads the items earlier runs saved (prompts, answers, tool calls and their
 * outputs) and adds this run's as it goes. Items stay in the conversation's
 * memory until the runtime saves the run; `popItem` and `clearSession` (used
 * by the runner for compaction and rollbacks) replace the history.
 */
export class ConversationSession implements Session {
  constructor(private readonly conversation: Conversation) {}

  async getSessionId(): Promise<string> {
    return this.conversation.id;
  }

  async getItems(limit?: number): Promise<AgentInputItem[]> {
    const items = (await this.conversation.history()) as unknown as AgentInputItem[];
    if (limit === undefined) return items;
    return limit <= 0 ? [] : items.slice(-limit);
  }

  async addItems(items: AgentInputItem[]): Promise<void> {
    this.conversation.append(...items);
  }

  async popItem(): Promise<AgentInputItem | undefined> {
    const items = await this.getItems();
    const last = items.pop();
    if (last !== undefined) this.conversation.replaceHistory(items);
    return last;
  }

  async clearSession(): Promise<void> {
    this.conversation.replaceHistory([]);
  }
}
