import type { AgentHandler } from "runtimeuse";

/**
 * A small custom agent, written the way any handler is: it reads the
 * invocation, streams what it is doing, runs a command through the runtime
 * (its output streams to the client too), asks the client before the one
 * command that writes a file, remembers the tasks of earlier runs in the same
 * conversation, and returns a result shaped by the client's output schema
 * when there is one. No model or key is involved.
 */
const handler: AgentHandler = {
  async run(invocation, sender) {
    await sender.sendAssistantMessage([`Reading the task: "${invocation.userPrompt}"`]);
    const listing = await invocation.runCommand("ls -1 | head -n 5", { cwd: invocation.env.PROJECT_DIR ?? "." });
    const files = listing.stdout.split("\n").filter(Boolean);
    await sender.sendAssistantMessage([`Found ${files.length} file(s) in the project.`]);
    await sender.sendAssistantMessage(["Writing the summary and a report file."]);
    if (invocation.env.REPORT_DIR) {
      const command = `printf '%s\\n' ${files.map((f) => `'${f}'`).join(" ")} > report.txt`;
      // Held for the client when its approval policy covers the shell (nobody is asked otherwise).
      const approval = await invocation.requestApproval({
        toolName: "shell",
        input: { command },
        reason: "write the report",
      });
      if (approval.decision === "allow") await invocation.runCommand(command, { cwd: invocation.env.REPORT_DIR });
      else await sender.sendAssistantMessage([`Not writing the report: ${approval.message}`]);
    }
    // With a conversation (the client's conversationId), earlier runs' tasks are remembered.
    const conversation = invocation.conversation;
    const earlier = conversation
      ? (await conversation.history()).map((entry) => String((entry as { task: string }).task))
      : [];
    conversation?.append({ task: invocation.userPrompt });
    const summary = {
      task: invocation.userPrompt,
      files,
      model: invocation.model,
      earlierTasks: earlier,
    };
    if (invocation.outputFormat)
      return { type: "structured_output", structuredOutput: summary, metadata: { agent: "demo" } };
    return { type: "text", text: JSON.stringify(summary), metadata: { agent: "demo" } };
  },
};

export default handler;
