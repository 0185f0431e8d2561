// Interop handler: the prompt is a count N; sends N assistant messages
// ("part 0" .. "part N-1"), awaiting each (backpressure), then "sent N".
// "big:N" sends one assistant message with a block of N characters between
// two short ones, then command output of 2N characters, then "sent big".
export default {
  async run(invocation, sender) {
    const big = /^big:(\d+)$/.exec(invocation.userPrompt);
    if (big) {
      const size = Number(big[1]);
      await sender.sendAssistantMessage(["before", `start-${"é".repeat(size)}-end`, "after"]);
      await sender.sendCommandOutput("generate", "stdout", `out-${"o".repeat(2 * size)}-put`);
      return { type: "text", text: "sent big" };
    }
    const count = Number.parseInt(invocation.userPrompt, 10);
    if (!Number.isInteger(count) || count < 0) throw new Error(`stream handler: not a count: ${invocation.userPrompt}`);
    for (let i = 0; i < count; i++) {
      await sender.sendAssistantMessage([`part ${i}`]);
    }
    return { type: "text", text: `sent ${count}` };
  },
};
