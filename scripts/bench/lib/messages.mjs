// The messages the core benchmark sends, and what the bench handlers and the
// bare baseline answer with. Both servers must produce the same frames for the
// same request, so their shared parts live here.

/** Marks a streaming request for the baseline; the runtime's stream handler streams whatever it gets. */
export const STREAM_MODEL = "bench-stream";

/** A secret that never appears in the output: the runtime still scans every string it sends for it. */
export const BENCH_SECRET = "sk-bench-0123456789abcdef";

/** Same as the runtime's default send high-water mark, so both servers apply the same backpressure. */
export const SEND_HIGH_WATER_MARK = 1024 * 1024;

/**
 * An `invocation_message` shaped like the published Python client sends it:
 * every optional field present as `null`, `secrets_to_redact` a list.
 */
export function invocationMessage({ userPrompt, model = "bench-model", sourceId = null }) {
  return {
    message_type: "invocation_message",
    source_id: sourceId,
    system_prompt: "You are a benchmark.",
    user_prompt: userPrompt,
    model,
    output_format_json_schema_str: null,
    secrets_to_redact: [BENCH_SECRET],
    agent_env: null,
    artifacts_dir: null,
    artifacts_dirs: null,
    artifacts_ignore_content: null,
    pre_agent_downloadables: null,
    pre_agent_invocation_commands: null,
    post_agent_invocation_commands: null,
  };
}

/** The frame for a one-assistant-message echo request (handlers/echo.mjs). */
export function echoRequestText(prompt = "Say hello to the benchmark.") {
  return JSON.stringify(invocationMessage({ userPrompt: prompt }));
}

/** The frame for a request that streams `count` assistant messages (handlers/stream.mjs). */
export function streamRequestText(count) {
  return JSON.stringify(invocationMessage({ userPrompt: String(count), model: STREAM_MODEL }));
}

/** The text block of the i-th streamed assistant message (about 90 bytes, like a model's token batch). */
export function streamBlock(i) {
  return `chunk ${i}: the quick brown fox jumps over the lazy dog while the benchmark counts messages`;
}

/** The text block of the i-th message of a burst (handlers/burst.mjs): short, about 60 bytes a frame. */
export function burstBlock(i) {
  return `burst ${i}`;
}

/** How many messages a stream request asks for (its prompt is the count). */
export function streamCount(prompt) {
  const count = Number.parseInt(prompt, 10);
  return Number.isSafeInteger(count) && count >= 0 ? count : 0;
}
