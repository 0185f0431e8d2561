// Interop handler that fails. Prompt "throw:<text>" throws an Error with that
// text after one assistant message; "send:<text>" reports it with
// sendErrorMessage (metadata {stage: "handler"}) and then throws as well,
// which must still give the client exactly one error_message. "huge:<n>"
// throws with a message of n characters between "start-" and "-end";
// "hugemeta:<n>" reports "reported" with metadata holding n characters.
export const handler = async (invocation, sender) => {
  const [mode, ...rest] = invocation.userPrompt.split(":");
  const text = rest.join(":");
  await sender.sendAssistantMessage(["about to fail"]);
  if (mode === "send") {
    sender.sendErrorMessage(text, { stage: "handler" });
    throw new Error("thrown after sendErrorMessage");
  }
  if (mode === "hugemeta") {
    sender.sendErrorMessage("reported", { stage: "handler", body: "m".repeat(Number(text)) });
    return { type: "text", text: "not sent: the error came first" };
  }
  if (mode === "huge") throw new Error(`start-${"x".repeat(Number(text))}-end`);
  throw new Error(text);
};
