"""Shared fixtures: a local HappyHorse sandbox per test (real HTTP over loopback).

``sandbox`` is function-scoped and starts in a few milliseconds; ``sandbox_factory(**overrides)``
builds one with any :class:`~hhbatch.sandbox.SandboxConfig` setting changed (plus ``clock=`` to
control time). Fixture sandboxes are fast (jobs finish in ~0.1 s) and have no rate limit unless a
test asks for one (``rate=..., burst=...``).
"""

from __future__ import annotations

import compileall
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

import hhbatch
from hhbatch.sandbox import Sandbox, SandboxConfig

# Bytecode caches even where PYTHONDONTWRITEBYTECODE=1 (this machine sets it; so may a CI
# runner). Without them every xdist worker rewrites the asserts of every test module again on
# every run (~8 s of CPU each), and every `python -m hhbatch` a test starts compiles hhbatch from
# source (~0.2 s of CPU each, hundreds of times). The caches go to the __pycache__ folders
# (.gitignore) and each is checked against its source's mtime and size before use, so an edited
# file never runs from a stale cache. Set here, before pytest imports the test modules.
sys.dont_write_bytecode = False


def pytest_configure(config: pytest.Config) -> None:
    """Byte-compile hhbatch once, before any worker starts: the processes tests start inherit
    PYTHONDONTWRITEBYTECODE and would compile it in memory each time, never keeping it."""
    if not hasattr(config, "workerinput"):  # the main process (xdist's controller, or the only one)
        for folder in hhbatch.__path__:
            compileall.compile_dir(folder, quiet=2)  # read-only (an installed wheel): pip did it


# --- how pytest-xdist hands out the tests (-n auto) ---------------------------------------------
# Test modules whose module-scoped fixture is expensive (a corpus of runs and a LibreOffice
# start): one worker runs all their tests, so the fixture is built once, not once per worker.
ONE_WORKER_MODULES = frozenset({"tests/test_workbook_corpus.py"})


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """xdist's default "load" (each test to whichever worker is free), except that the tests of
    :data:`ONE_WORKER_MODULES` go to one worker together and before the rest.

    Why not ``--dist loadgroup`` and ``xdist_group`` marks: with pytest 9.2 xdist 3.8 no longer
    groups anything, silently (it renames node ids in a field pytest stopped reading;
    pytest-xdist issue #1386).
    """
    if config.getoption("dist") != "load":
        return None  # the user chose a mode: xdist's own
    from xdist.scheduler import LoadScopeScheduling

    class Scheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if module in ONE_WORKER_MODULES else nodeid

    return Scheduling(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``slow`` (seconds, not milliseconds) run first, longest known first:
    started last, one of them would run alone on one CPU at the end of the suite."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # a stable sort


# A suite started as a background job (`cmd &` in a script, nohup, some CI runners) inherits
# SIGINT ignored, and so would every hhbatch process a test starts: Python then installs no
# KeyboardInterrupt, and the Ctrl-C tests would wait for an interrupt that never comes.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

FIXTURE_DEFAULTS: dict[str, Any] = {"queue_sec": 0.05, "processing_sec": 0.05, "rate": None}


class FakeClock:
    """A wall clock that only moves when told: expiry and rate-limit tests without sleeping."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


SandboxFactory = Callable[..., Sandbox]


@pytest.fixture
def sandbox_factory() -> Iterator[SandboxFactory]:
    started: list[Sandbox] = []

    def make(clock: Callable[[], float] = time.time, **overrides: Any) -> Sandbox:
        config = SandboxConfig(**{**FIXTURE_DEFAULTS, **overrides})
        sandbox = Sandbox(config, clock=clock).start()
        started.append(sandbox)
        return sandbox

    yield make
    for sandbox in started:
        sandbox.stop()


@pytest.fixture
def sandbox(sandbox_factory: SandboxFactory) -> Sandbox:
    return sandbox_factory()


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


def make_client(sandbox: Sandbox, api_key: str | None = None) -> httpx.Client:
    """An httpx client on the sandbox's API host, authorised with ``api_key`` (default: demo).

    ``verify=False`` only skips loading CA certificates (slow, and unused over plain http).
    """
    return httpx.Client(
        base_url=sandbox.base_url,
        headers={"Authorization": f"Bearer {api_key or sandbox.api_key}"},
        timeout=10.0,
        verify=False,
    )


@pytest.fixture
def api(sandbox: Sandbox) -> Iterator[httpx.Client]:
    """An httpx client on the sandbox's API host, authorised with the demo key."""
    with make_client(sandbox) as client:
        yield client


@pytest.fixture
def client_for() -> Callable[..., httpx.Client]:
    """``client_for(sandbox, key)``: an API client for another key (close it: use ``with``)."""
    return make_client


@pytest.fixture(scope="session")
def http() -> Iterator[httpx.Client]:
    """A plain client without credentials: for storage URLs and unauthenticated requests."""
    with httpx.Client(timeout=10.0, verify=False) as client:
        yield client


@pytest.fixture(autouse=True)
def _english_interface(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests assert exact English sentences; a machine set to Chinese must not change them.
    Tests of the Chinese interface set HHBATCH_LANG=zh themselves."""
    monkeypatch.setenv("HHBATCH_LANG", "en")


@pytest.fixture(autouse=True)
def user_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Every test gets its own per-user data folder (ledger, learned rates) via HHBATCH_HOME,
    inherited by the hhbatch processes it starts: tests never read or write the real one, and
    never see each other's records."""
    home = tmp_path_factory.mktemp("hhbatch-home")
    monkeypatch.setenv("HHBATCH_HOME", str(home))
    return home


# Real programs some tests drive: name → (executables to look for, how to install them).
TOOLS: dict[str, tuple[tuple[str, ...], str]] = {
    "chromium": (
        ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"),
        "apt-get install chromium",
    ),
    "soffice": (("soffice", "libreoffice"), "apt-get install libreoffice-calc-nogui"),
}


def in_ci() -> bool:
    """CI sets CI=true (so do GitHub Actions, GitLab and most others)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def require_tool(name: str) -> str:
    """The path of a program a test needs (``"chromium"``, ``"soffice"``), else skip the test.

    Why it fails under CI instead: ``.ci/run`` installs these programs, so a missing one there is
    a broken CI machine, and a skip would turn the check it guards into a silent pass. Locally
    the skip names the command that installs the program.
    """
    names, install = TOOLS[name]
    for candidate in names:
        found = shutil.which(candidate)
        if found:
            return found
    reason = f"{name} is not installed on this machine (Debian/Ubuntu: {install})"
    if in_ci():
        pytest.fail(f"{reason}; under CI=true this test must run, not skip", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def chromium_path() -> str:
    """Path of a headless-capable Chromium (see :func:`require_tool`)."""
    return require_tool("chromium")


@pytest.fixture
def soffice_path() -> str:
    """Path of LibreOffice's ``soffice`` (see :func:`require_tool`): to convert or recalculate
    workbooks as LibreOffice really writes and reads them."""
    return require_tool("soffice")
