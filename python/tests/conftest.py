"""Fixtures shared by every test folder. Standard library and pytest only:
the interop folder also runs against the published runtimeuse-client."""

from __future__ import annotations

import importlib.metadata
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support.runtime import RuntimeProcess, start_runtime

#: Set by scripts/test-python.sh: which client this run must be testing.
EXPECTED_VERSIONS = {"published": "0.15.1", "ours": "0.16.0"}


def _client_description() -> tuple[str, str]:
    import runtimeuse_client

    return importlib.metadata.version("runtimeuse-client"), str(Path(runtimeuse_client.__file__).parent)


def pytest_configure(config: pytest.Config) -> None:
    expected = os.environ.get("RUNTIMEUSE_EXPECT_CLIENT")
    if expected is None:
        return
    if expected not in EXPECTED_VERSIONS:
        raise pytest.UsageError(f"RUNTIMEUSE_EXPECT_CLIENT must be one of {sorted(EXPECTED_VERSIONS)}")
    version, where = _client_description()
    if version != EXPECTED_VERSIONS[expected]:
        raise pytest.UsageError(
            f"expected the {expected} runtimeuse-client {EXPECTED_VERSIONS[expected]}, found {version} at {where}"
        )


def pytest_report_header(config: pytest.Config) -> str:
    version, where = _client_description()
    return f"runtimeuse-client {version} from {where}"


@pytest.fixture(scope="session")
def runtime_for(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., str]]:
    """``runtime_for(handler, *cli_args)`` -> ws URL of a runtime started for
    this test session (one process per distinct handler and arguments). At
    the end every runtime is stopped; one that had died fails the run."""
    started: dict[tuple[str, ...], RuntimeProcess] = {}

    def get(handler: str, *args: str) -> str:
        key = (handler, *args)
        runtime = started.get(key)
        if runtime is None:
            runtime = start_runtime(handler, tmp_path_factory.mktemp("runtime"), *args)
            started[key] = runtime
        if runtime.process.poll() is not None:
            pytest.fail(f"the runtime for {key} exited with {runtime.process.returncode}:\n{runtime.stderr_tail()}")
        return runtime.url

    yield get
    died = {key: (runtime.stop(), runtime.stderr_tail()) for key, runtime in started.items()}
    failures = [f"{key} exited with {code}:\n{tail}" for key, (code, tail) in died.items() if code is not None]
    if failures:
        pytest.fail("a runtime died during the tests:\n" + "\n".join(failures))


@pytest.fixture
def runtime_url(runtime_for: Callable[..., str]) -> str:
    """A runtime serving tests/handlers/scripted.mjs with default settings."""
    return runtime_for("scripted.mjs")


@pytest.fixture
def fast_heartbeat_url(runtime_for: Callable[..., str]) -> str:
    """The same handler with a heartbeat every 100 ms."""
    return runtime_for("scripted.mjs", "--heartbeat-interval", "100")
