// Bench handler: asks for approval of one tool call after another, as many
// as the prompt says, and times each round trip where the runtime sees it:
// from asking (the approval_request_message goes out) to the answer applied
// (requestApproval resolves with the client's decision). The times come back
// in the result's metadata.
export default {
  async run(invocation) {
    const count = Number(invocation.userPrompt);
    const roundTripsMs = [];
    for (let i = 0; i < count; i++) {
      const started = performance.now();
      const decision = await invocation.requestApproval({ toolName: "shell", input: { command: `step ${i}` } });
      roundTripsMs.push(performance.now() - started);
      if (decision.by !== "client") throw new Error(`approval ${i} was not answered by the client (${decision.by})`);
    }
    return { type: "text", text: "ok", metadata: { round_trips_ms: roundTripsMs } };
  },
};
