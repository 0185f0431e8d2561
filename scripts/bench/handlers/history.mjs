// Bench handler: with a conversation, reads its whole history (as the openai
// agent does on every run) and appends the prompt; answers with the count.
export default {
  async run(invocation) {
    const conversation = invocation.conversation;
    if (conversation === undefined) return { type: "text", text: "0" };
    const history = await conversation.history();
    conversation.append({ prompt: invocation.userPrompt });
    return { type: "text", text: String(history.length) };
  },
};
