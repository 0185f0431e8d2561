/**
 * What the built-in agents show of their tool use (docs/AGENTS.md): each tool
 * call becomes one short assistant text block naming the tool and its input.
 */

/** Longest tool input shown in the block; the rest is cut with a marker. */
export const MAX_TOOL_INPUT_CHARS = 500;

/** Input fields that say best what a call does, in the order they are looked for. */
const HEADLINE_FIELDS = ["command", "query", "url", "file_path", "path", "pattern", "prompt", "description"] as const;

/**
 * `[tool] Bash: ls -la` — the tool's name and its most telling input: the
 * shell command for shell tools, the query for searches, the path for file
 * tools, else the whole input as JSON. Newlines are kept; length is capped.
 */
export function toolCallBlock(toolName: string, input: unknown): string {
  return `[tool] ${toolName}: ${cut(headline(input))}`;
}

function headline(input: unknown): string {
  if (typeof input === "string") {
    try {
      return headline(JSON.parse(input));
    } catch {
      return input;
    }
  }
  if (typeof input === "object" && input !== null && !Array.isArray(input)) {
    const record = input as Record<string, unknown>;
    for (const field of HEADLINE_FIELDS) {
      const value = record[field];
      if (typeof value === "string" && value.length > 0) return value;
    }
  }
  try {
    return JSON.stringify(input) ?? String(input);
  } catch {
    return String(input);
  }
}

function cut(text: string): string {
  if (text.length <= MAX_TOOL_INPUT_CHARS) return text;
  return `${text.slice(0, MAX_TOOL_INPUT_CHARS)}… (${text.length - MAX_TOOL_INPUT_CHARS} more characters)`;
}
