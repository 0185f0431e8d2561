// Bench handler: sends as many short assistant messages as the prompt says
// without awaiting any of them (a handler that ignores backpressure), then a
// short text result. Everything it sends has to be held by the runtime.
import { burstBlock, streamCount } from "../lib/messages.mjs";

export default {
  async run(invocation, sender) {
    const count = streamCount(invocation.userPrompt);
    for (let i = 0; i < count; i++) void sender.sendAssistantMessage([burstBlock(i)]);
    return { type: "text", text: `burst ${count}` };
  },
};
