import { type Tool, tool } from "@openai/agents";
import type { AgentInvocation, Question } from "../../handler.js";

export const ASK_TOOL_NAME = "ask_user";

const PARAMETERS = {
  type: "object" as const,
  properties: {
    question: { type: "string", description: "The question, complete on its own: the user sees only this." },
    header: { type: ["string", "null"], description: "A short label for the question (a few words), or null." },
    options: {
      type: ["array", "null"],
      description: "Choices to offer, or null for a free answer.",
      items: {
        type: "object",
        properties: {
          label: { type: "string", description: "The choice, as the user would answer it." },
          description: { type: ["string", "null"], description: "What choosing it means, or null." },
        },
        required: ["label", "description"],
        additionalProperties: false,
      },
    },
    multi_select: { type: ["boolean", "null"], description: "True when several options may be chosen." },
  },
  required: ["question", "header", "options", "multi_select"],
  additionalProperties: false as const,
};

/**
 * The OpenAI agent's way to ask the user, offered only when the client allows
 * questions: each call becomes a `question_request_message` through
 * `invocation.ask`, and the tool's output is the user's answer or, unanswered,
 * why (timed out, interrupted), which the model reads and goes on with.
 */
export function createAskTool(invocation: AgentInvocation): Tool {
  return tool({
    name: ASK_TOOL_NAME,
    description:
      "Ask the user a question and wait for the answer. Use it when you cannot go on without their decision " +
      "or information; do not ask what you can find out yourself.",
    parameters: PARAMETERS,
    strict: true,
    execute: async (input) => {
      const answer = await invocation.ask(questionOf(input));
      return answer.answered ? `The user answered: ${answer.answer}` : answer.message;
    },
  });
}

function questionOf(input: unknown): Question {
  const record = (typeof input === "object" && input !== null ? input : {}) as Record<string, unknown>;
  if (typeof record.question !== "string" || record.question.trim() === "") {
    throw new Error(`the ${ASK_TOOL_NAME} tool needs a non-empty string \`question\``);
  }
  const options = Array.isArray(record.options)
    ? record.options
        .filter((option): option is { label: string; description?: unknown } => typeof option?.label === "string")
        .map((option) => ({
          label: option.label,
          ...(typeof option.description === "string" ? { description: option.description } : {}),
        }))
    : [];
  return {
    question: record.question,
    ...(typeof record.header === "string" ? { header: record.header } : {}),
    ...(options.length > 0 ? { options } : {}),
    ...(typeof record.multi_select === "boolean" ? { multiSelect: record.multi_select } : {}),
  };
}
