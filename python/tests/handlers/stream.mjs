// Interop handler: the prompt is a count N; sends N assistant messages
// ("part 0" .. "part N-1"), awaiting each (backpressure), then "sent N".
export default {
  async run(invocation, sender) {
    const count = Number.parseInt(invocation.userPrompt, 10);
    if (!Number.isInteger(count) || count < 0) throw new Error(`stream handler: not a count: ${invocation.userPrompt}`);
    for (let i = 0; i < count; i++) {
      await sender.sendAssistantMessage([`part ${i}`]);
    }
    return { type: "text", text: `sent ${count}` };
  },
};
