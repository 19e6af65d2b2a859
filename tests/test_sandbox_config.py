"""Sandbox settings (dataclass and YAML), the example template, the ``hhbatch sandbox`` command."""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from hhbatch import spec
from hhbatch.errors import ConfigError
from hhbatch.sandbox import DEMO_KEY, KeyConfig, PlanLimits, Sandbox, SandboxConfig

TEMPLATE = Path(__file__).resolve().parent.parent / "templates" / "sandbox.yaml"


def test_defaults() -> None:
    config = SandboxConfig()
    assert config.demo_key == DEMO_KEY
    assert config.demo_key.startswith(spec.API_KEY_PREFIX)
    assert len({kc.user for kc in config.keys.values()}) >= 2  # ownership tests need two users
    assert config.megabyte == spec.MEGABYTE
    assert config.plans["pro"].max_duration_sec == spec.CREATE_FIELDS["durationSec"].maximum
    assert not config.plans["basic"].allow_1080p


def test_template_loads_and_documents_every_setting() -> None:
    config = SandboxConfig.from_yaml(TEMPLATE)
    assert config.keys[DEMO_KEY] == KeyConfig("demo", "pro", 1_000_000)
    assert config.queue_sec == (1.0, 3.0)
    text = TEMPLATE.read_text(encoding="utf-8")
    for f in dataclasses.fields(SandboxConfig):
        assert re.search(rf"^#? ?{f.name}:", text, re.M), f"{f.name} is not in the template"
    for f in dataclasses.fields(PlanLimits):
        assert f"{f.name}:" in text


def test_yaml_settings(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.yaml"
    path.write_text(
        "keys:\n  hh_live_x: {user: u, plan: gold, credits: 5}\n"
        "plans:\n  gold: {max_duration_sec: 4}\n"
        "pricing: {720p: 0.5, 1080p: 1}\n"
        "latency_sec: [0.1, 0.2]\nrate: null\nfault_routes: [upload]\n",
        encoding="utf-8",
    )
    config = SandboxConfig.from_yaml(path)
    assert config.demo_key == "hh_live_x"
    assert config.plans["gold"] == PlanLimits(max_duration_sec=4)
    assert config.latency_sec == (0.1, 0.2)
    assert config.rate is None
    assert config.fault_routes == ("upload",)


@pytest.mark.parametrize(
    ("yaml_text", "needle"),
    [
        ("colour: blue\n", "colour"),
        ("error_probability: 1.5\n", "error_probability"),
        ("keys:\n  hh_live_x: {user: u, plan: gold}\n", "gold"),
        ("keys: {}\n", "at least one"),
        ("plans:\n  basic: {max_seconds: 4}\n  pro: {}\n", "max_seconds"),
        ("queue_sec: [3, 1]\n", "queue_sec"),
        ("queue_sec: soon\n", "queue_sec"),
        ("fault_routes: [everything]\n", "everything"),
        ("pricing: {720p: 1}\n", "1080p"),
        ("rate: 0\n", "rate"),
        ("- just\n- a list\n", "mapping"),
        ("keys: [\n", "could not be read"),
    ],
)
def test_bad_yaml_is_a_config_error(tmp_path: Path, yaml_text: str, needle: str) -> None:
    path = tmp_path / "sandbox.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(needle)):
        SandboxConfig.from_yaml(path)


def test_missing_yaml_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        SandboxConfig.from_yaml(tmp_path / "nope.yaml")


def test_with_overrides() -> None:
    config = SandboxConfig().with_overrides(queue_sec=[0.1, 0.2], rate=None)
    assert config.queue_sec == (0.1, 0.2)
    assert config.rate is None
    assert dataclasses.replace(config, seed=3).seed == 3
    with pytest.raises(ConfigError, match="nonsense"):
        SandboxConfig().with_overrides(nonsense=1)


def test_fixed_ports(sandbox_factory: Any) -> None:
    probe = sandbox_factory()
    api_port = int(probe.base_url.rsplit(":", 1)[1])
    storage_port = int(probe.storage_url.rsplit(":", 1)[1])
    probe.stop()
    sandbox = sandbox_factory(port=api_port, storage_port=storage_port)
    assert sandbox.base_url == f"http://127.0.0.1:{api_port}"
    assert sandbox.storage_url == f"http://127.0.0.1:{storage_port}"


# --- the command --------------------------------------------------------------------------------
def test_cli_handle_prints_exports_and_stops_cleanly(capsys: Any, http: httpx.Client) -> None:
    from hhbatch.cli import build_parser
    from hhbatch.cli import sandbox as command

    args = build_parser().parse_args(["sandbox"])
    assert args.func is command.handle
    stop = threading.Event()
    codes: list[int] = []
    runner = threading.Thread(target=lambda: codes.append(command.handle(args, stop=stop)))
    runner.start()
    try:
        for _ in range(1000):
            out = capsys.readouterr().out
            if "Press Ctrl-C" in out:
                break
            stop.wait(0.01)
    finally:
        stop.set()
        runner.join()
    assert codes == [0]
    base_url = re.search(r"export HAPPYHORSE_BASE_URL=(\S+)", out)
    assert base_url and base_url.group(1).startswith("http://127.0.0.1:")
    assert f"HAPPYHORSE_API_KEY={DEMO_KEY}" in out
    assert "$env:HAPPYHORSE_API_KEY" in out and "set HAPPYHORSE_BASE_URL=" in out


@pytest.mark.skipif(os.name == "nt", reason="sends SIGINT, which Windows cannot send to a child")
def test_cli_runs_until_ctrl_c(tmp_path: Path) -> None:
    config = tmp_path / "sandbox.yaml"
    config.write_text(
        "keys:\n  hh_live_mine: {user: me, plan: pro, credits: 7}\n", encoding="utf-8"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "hhbatch", "sandbox", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "Press Ctrl-C" in line:
                break
        text = "".join(lines)
        base_url = re.search(r"running at (\S+)", text)
        assert base_url, text
        assert "hh_live_mine" in text
        counters = httpx.get(f"{base_url.group(1)}/_sandbox/counters", timeout=5).json()
        assert counters["credits"] == {"hh_live_mine": 7}
        proc.send_signal(signal.SIGINT)
        # 30 s: on a machine loaded by the parallel suite, 10 s was once not enough to stop.
        try:
            _, stderr = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"the sandbox did not stop on Ctrl-C:\n{out[-2000:]}\n{err[-3000:]}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr


def test_cli_bad_config_is_a_usage_error(tmp_path: Path, capsys: Any) -> None:
    from hhbatch.cli import main

    bad = tmp_path / "sandbox.yaml"
    bad.write_text("colour: blue\n", encoding="utf-8")
    assert main(["sandbox", "--config", str(bad)]) == 2
    assert "colour" in capsys.readouterr().err


def test_sandbox_objects_are_independent() -> None:
    with Sandbox(SandboxConfig(rate=None)) as one, Sandbox(SandboxConfig(rate=None)) as two:
        one.set_credits(one.api_key, 1)
        assert two.credits(two.api_key) == SandboxConfig().keys[DEMO_KEY].credits
        assert one.base_url != two.base_url
