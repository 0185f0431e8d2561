// Bench handler: streams as many assistant messages as the prompt says, awaiting
// each send so the socket's backpressure paces it, then a short text result.
import { streamBlock, streamCount } from "../lib/messages.mjs";

export default {
  async run(invocation, sender) {
    const count = streamCount(invocation.userPrompt);
    for (let i = 0; i < count; i++) {
      if (invocation.signal.aborted) break;
      await sender.sendAssistantMessage([streamBlock(i)]);
    }
    return { type: "text", text: `streamed ${count}` };
  },
};
