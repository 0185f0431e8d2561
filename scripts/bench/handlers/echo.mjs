// Bench handler: one assistant message with the prompt, then the prompt as the
// text result. Deterministic and instant, so the figures measure the runtime.
export default {
  async run(invocation, sender) {
    await sender.sendAssistantMessage([invocation.userPrompt]);
    return { type: "text", text: invocation.userPrompt };
  },
};
