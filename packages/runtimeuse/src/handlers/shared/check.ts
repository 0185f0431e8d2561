/** What a built-in agent's startup check found: an error stops the CLI (exit code 2); warnings are printed. */
export interface AgentCheck {
  error?: string;
  warnings?: string[];
}
