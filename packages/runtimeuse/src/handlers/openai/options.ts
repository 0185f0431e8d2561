import { DEFAULT_MAX_CAPTURED_BYTES } from "../../commands/index.js";

// No SDK import here: the package root exports these types without loading
// (or, for type checks, needing) the OpenAI Agents SDK.

/** Model turns before a run is stopped with an error. */
export const DEFAULT_MAX_TURNS = 100;
/** Retries of a failed API request. */
export const DEFAULT_MAX_RETRIES = 2;
/** Timeout of one API request. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10 * 60_000;

export interface OpenAIHandlerOptions {
  /** Settings of the shell tool (timeouts, output limits). */
  shell?: ShellToolOptions;
  /** Offer the hosted web-search tool. Default true. */
  webSearch?: boolean;
  /** Model turns before the run is stopped with an error. Default `DEFAULT_MAX_TURNS` (100). */
  maxTurns?: number;
  /** Retries of a failed API request (connection errors, 408, 409, 429, 5xx). Default `DEFAULT_MAX_RETRIES` (2). */
  maxRetries?: number;
  /** Timeout of one API request. Default `DEFAULT_REQUEST_TIMEOUT_MS` (10 minutes). */
  requestTimeoutMs?: number;
  /** Default: `OPENAI_API_KEY` from `agent_env`, else from the runtime's environment. */
  apiKey?: string;
  /** Default: `OPENAI_BASE_URL` from `agent_env`, else from the runtime's environment, else OpenAI's. */
  baseURL?: string;
}

export const SHELL_TOOL_DEFAULTS = {
  defaultTimeoutMs: 10 * 60_000,
  maxTimeoutMs: 60 * 60_000,
  maxOutputChars: 20_000,
  maxCapturedChars: DEFAULT_MAX_CAPTURED_BYTES,
};

/** Each default is in `SHELL_TOOL_DEFAULTS`. */
export interface ShellToolOptions {
  /** Timeout for a command when the model asks for none (10 minutes). */
  defaultTimeoutMs?: number;
  /** The longest timeout the model may ask for (60 minutes). */
  maxTimeoutMs?: number;
  /**
   * Characters of each output stream handed back to the model. Longer output
   * keeps its head and tail with a note saying how much was left out; it is
   * never an error (20 000).
   */
  maxOutputChars?: number;
  /**
   * Characters of each stream kept in memory while the command runs (its
   * tail). The client still sees all of it, streamed (the command runner's
   * cap, `DEFAULT_MAX_CAPTURED_BYTES`: 1 MiB).
   */
  maxCapturedChars?: number;
  /** Working directory of every command. Default: the runtime's. */
  cwd?: string;
}
