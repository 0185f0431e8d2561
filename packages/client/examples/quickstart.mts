import { AgentRuntimeError, CancelledError, RuntimeUseClient, TimeoutError } from "runtimeuse-client";

const client = new RuntimeUseClient({
  url: process.env.RUNTIMEUSE_URL ?? "ws://localhost:8080",
  token: process.env.RUNTIMEUSE_TOKEN, // sent as "Authorization: Bearer ..." when set
});
const agent = { systemPrompt: "You are a careful engineer.", model: "gpt-4.1" };

// One request on a connection of its own.
const answer = await client.query("Say hello.", {
  ...agent,
  onAssistantMessage: ({ textBlocks }) => console.log(`agent: ${textBlocks.join(" ")}`),
});
if (answer.data.type === "text") console.log(`answer: ${answer.data.text}`);

// Many requests over one connection. `await using` ends the session at the end of the block.
{
  await using session = await client.session();

  const build = await session.executeCommands([{ command: "echo compiling" }, { command: "echo done >&2" }], {
    onCommandOutput: ({ stream, text }) => process.stdout.write(`[${stream}] ${text}`),
  });
  console.log(`exit codes: ${build.results.map((result) => result.exitCode).join(", ")}`);

  // With an output schema the result is structured data.
  const review = await session.query('{"verdict": "approve", "issues": 0}', {
    ...agent,
    outputSchema: {
      type: "object",
      properties: { verdict: { enum: ["approve", "reject"] }, issues: { type: "integer" } },
      required: ["verdict", "issues"],
    },
  });
  if (review.data.type === "structured_output") console.log(`verdict: ${review.data.structuredOutput.verdict}`);

  // The same request as a stream of events, ending with the result.
  for await (const event of session.stream("Stream this.", agent)) {
    if (event.type === "assistant_message") console.log(`streamed: ${event.textBlocks.join(" ")}`);
    if (event.type === "result" && event.data.type === "text") console.log(`streamed result: ${event.data.text}`);
  }

  // A failure inside the sandbox is an AgentRuntimeError with a stable code.
  try {
    await session.query("never reached", { ...agent, preAgentInvocationCommands: [{ command: "exit 3" }] });
  } catch (error) {
    if (!(error instanceof AgentRuntimeError)) throw error;
    console.log(`runtime error: ${error.code}: ${error.error}`);
  }

  // Cancel with an AbortSignal, or give up with a timeout; the session stays usable either way.
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 200);
  try {
    await session.executeCommands([{ command: "sleep 30" }], { signal: controller.signal });
  } catch (error) {
    if (!(error instanceof CancelledError)) throw error;
    console.log(`cancelled: ${error.message}`);
  }
  try {
    await session.executeCommands([{ command: "sleep 30" }], { timeout: 200 });
  } catch (error) {
    if (!(error instanceof TimeoutError)) throw error;
    console.log(`timed out: ${error.which} after ${error.timeoutMs} ms`);
  }

  // close() uploads late artifacts and returns the runtime's manifest (`await using` calls it too).
  const { artifacts } = await session.close();
  console.log(`artifacts uploaded: ${artifacts?.filter((entry) => entry.status === "uploaded").length ?? 0}`);
}
