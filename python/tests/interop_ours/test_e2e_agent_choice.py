"""``runtimeuse --agent openai,claude,codex`` through our client: each agent
against a scripted model API on loopback, and ``QueryOptions.agent`` choosing
one per query (the published client always gets the first)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runtimeuse_client import AgentRuntimeError, QueryOptions, RuntimeUseClient, TextResult
from support.runtime import ScriptedModel, start_agent_runtime, start_scripted_model


def answer(text: str) -> dict[str, Any]:
    return {"type": "output", "output": [{"type": "message", "text": text}]}


def options(model: str, agent: str | None) -> QueryOptions:
    return QueryOptions(system_prompt="You are a test.", model=model, agent=agent, timeout=300)


async def test_each_query_runs_on_the_agent_it_names_and_unknown_agent_fails(tmp_path: Path) -> None:
    """agent picks openai, claude or codex per query; unset means the first; a name not started is unknown_agent."""
    models: list[ScriptedModel] = []
    try:
        openai = start_scripted_model("openai", [answer("from openai"), answer("from openai again")], tmp_path / "o")
        models.append(openai)
        # Codex also asks its model for a session title: every answer is the same.
        codex = start_scripted_model("openai", [answer("from codex"), answer("from codex")], tmp_path / "c")
        models.append(codex)
        claude_script = [{"type": "output", "content": [{"type": "text", "text": "from claude"}]}]
        claude = start_scripted_model("anthropic", claude_script, tmp_path / "a")
        models.append(claude)
        codex_home = tmp_path / "codex-home"
        codex_home.mkdir()
        (codex_home / "config.toml").write_text(
            'model_provider = "scripted"\n[model_providers.scripted]\nname = "scripted"\n'
            f'base_url = "{codex.base_url}"\nenv_key = "OPENAI_API_KEY"\nwire_api = "responses"\n'
        )
        (tmp_path / "claude-config").mkdir()
        runtime = start_agent_runtime(
            "openai,claude,codex",
            tmp_path / "runtime",
            env={
                "HOME": str(tmp_path),
                "OPENAI_API_KEY": "sk-scripted",
                "OPENAI_BASE_URL": openai.base_url,
                "ANTHROPIC_API_KEY": "sk-ant-scripted",
                "ANTHROPIC_BASE_URL": claude.base_url,
                "CLAUDE_CONFIG_DIR": str(tmp_path / "claude-config"),
                "CODEX_HOME": str(codex_home),
            },
        )
        try:
            client = RuntimeUseClient(ws_url=runtime.url)
            results = [
                await client.query("hi", options("gpt-scripted", "openai")),
                await client.query("hi", options("claude-sonnet-4-5", "claude")),
                await client.query("hi", options("gpt-scripted", "codex")),
                await client.query("hi", options("gpt-scripted", None)),
            ]
            texts = [r.data.text if isinstance(r.data, TextResult) else None for r in results]
            assert texts == ["from openai", "from claude", "from codex", "from openai again"]
            assert [(r.metadata or {}).get("agent") for r in results] == ["openai", "claude", "codex", "openai"]
            with pytest.raises(AgentRuntimeError) as raised:
                await client.query("hi", options("m", "gemini"))
            metadata = raised.value.metadata or {}
            assert metadata["code"] == "unknown_agent"
            assert metadata["agents"] == ["openai", "claude", "codex"]
        finally:
            died = runtime.stop()
            assert died is None, f"the runtime exited with {died}:\n{runtime.stderr_tail()}"
    finally:
        for model in models:
            model.stop()
