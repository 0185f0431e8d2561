// Interop handler: echoes the prompt. One assistant message, then the prompt
// as text, or (when the client asked for an output schema) the prompt parsed
// as JSON. The result's metadata reports what the handler was given, so tests
// can check each invocation field arrived.
export default {
  async run(invocation, sender) {
    await sender.sendAssistantMessage([`heard: ${invocation.userPrompt}`]);
    const metadata = {
      model: invocation.model,
      system_prompt: invocation.systemPrompt,
      source_id: invocation.sourceId ?? null,
      env: invocation.env,
      schema: invocation.outputFormat?.schema ?? null,
    };
    if (invocation.outputFormat !== undefined) {
      return { type: "structured_output", structuredOutput: JSON.parse(invocation.userPrompt), metadata };
    }
    return { type: "text", text: invocation.userPrompt, metadata };
  },
};
