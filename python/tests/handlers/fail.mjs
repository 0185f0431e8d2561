// Interop handler that fails. Prompt "throw:<text>" throws an Error with that
// text after one assistant message; "send:<text>" reports it with
// sendErrorMessage (metadata {stage: "handler"}) and then throws as well,
// which must still give the client exactly one error_message.
export const handler = async (invocation, sender) => {
  const [mode, ...rest] = invocation.userPrompt.split(":");
  const text = rest.join(":");
  await sender.sendAssistantMessage(["about to fail"]);
  if (mode === "send") {
    sender.sendErrorMessage(text, { stage: "handler" });
    throw new Error("thrown after sendErrorMessage");
  }
  throw new Error(text);
};
