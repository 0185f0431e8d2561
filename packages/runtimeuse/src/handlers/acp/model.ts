import type { NewSessionResponse, SessionConfigOption } from "@agentclientprotocol/sdk/unstable";
import type { AgentInvocation } from "../../handler.js";
import type { AgentProcess } from "./agent-process.js";

/**
 * The request's model, when the agent offers it: as a `model` config option
 * (`session/set_config_option`), or in the older `models` list
 * (`session/set_model`). Else the agent keeps its own (logged). Returns the
 * model the session uses, when the agent says.
 */
export async function chooseModel(
  agent: AgentProcess,
  session: NewSessionResponse,
  invocation: AgentInvocation,
): Promise<string | undefined> {
  const option = session.configOptions?.find(
    (candidate) => candidate.category === "model" && candidate.type === "select",
  );
  if (option === undefined || option.type !== "select") return chooseListedModel(agent, session, invocation);
  const values = selectValues(option);
  const wanted = values.find((value) => value === invocation.model);
  if (wanted === undefined || wanted === option.currentValue) {
    if (wanted === undefined && invocation.model) {
      invocation.logger.log(`acp: the agent does not offer model ${invocation.model}; it uses ${option.currentValue}`);
    }
    return option.currentValue;
  }
  try {
    await agent.connection.agent.request("session/set_config_option", {
      sessionId: session.sessionId,
      configId: option.id,
      value: wanted,
    });
    return wanted;
  } catch (error) {
    invocation.logger.warn(`acp: the agent refused model ${wanted}: ${String(error)}`);
    return option.currentValue;
  }
}

/** The `models` list of agents that predate model config options (Gemini CLI). */
async function chooseListedModel(
  agent: AgentProcess,
  session: NewSessionResponse,
  invocation: AgentInvocation,
): Promise<string | undefined> {
  const models = (session as { models?: { availableModels?: Array<{ modelId?: unknown }>; currentModelId?: unknown } })
    .models;
  const current = typeof models?.currentModelId === "string" ? models.currentModelId : undefined;
  if (models === undefined || !invocation.model || invocation.model === current) return current;
  if (!models.availableModels?.some((model) => model.modelId === invocation.model)) {
    invocation.logger.log(`acp: the agent does not offer model ${invocation.model}; it uses ${current}`);
    return current;
  }
  try {
    await agent.connection.agent.request("session/set_model", {
      sessionId: session.sessionId,
      modelId: invocation.model,
    });
    return invocation.model;
  } catch (error) {
    invocation.logger.warn(`acp: the agent refused model ${invocation.model}: ${String(error)}`);
    return current;
  }
}

function selectValues(option: Extract<SessionConfigOption, { type: "select" }>): string[] {
  return (option.options as Array<{ value?: string; options?: Array<{ value: string }> }>).flatMap((item) =>
    item.options ? item.options.map((inner) => inner.value) : item.value === undefined ? [] : [item.value],
  );
}
