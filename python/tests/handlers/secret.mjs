// Interop handler that leaks the secret it is given in agent_env THE_SECRET
// everywhere it can: assistant text, a command it runs (whose output streams
// to the client), the result text and metadata, or (prompt "fail") an error.
// The runtime must redact every occurrence.
export default {
  async run(invocation, sender) {
    const secret = invocation.env.THE_SECRET ?? "";
    await sender.sendAssistantMessage([`assistant says ${secret}`, "clean block"]);
    await invocation.runCommand(`echo command says ${secret}; echo stderr says ${secret} >&2`);
    if (invocation.userPrompt === "fail") throw new Error(`failed holding ${secret}`);
    return { type: "text", text: `result says ${secret}`, metadata: { leaked: secret, nested: [secret] } };
  },
};
