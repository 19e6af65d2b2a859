"""The per-user data folder and the account tag records are keyed by."""

from __future__ import annotations

from pathlib import Path

import pytest

from hhbatch import userdata


def test_home_follows_hhbatch_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HHBATCH_HOME", str(tmp_path / "mine"))
    assert userdata.home() == tmp_path / "mine"


def test_home_without_override_is_the_platform_user_data_folder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from platformdirs import user_data_dir

    monkeypatch.delenv("HHBATCH_HOME", raising=False)
    assert userdata.home() == Path(user_data_dir("hhbatch", appauthor=False))


def test_key_fingerprint_is_stable_distinct_and_never_contains_the_key() -> None:
    key = "hh_live_abcdefghijklmnop"
    fp = userdata.key_fingerprint(key)
    assert fp == userdata.key_fingerprint(f" {key}\n")
    assert fp != userdata.key_fingerprint(key + "x")
    assert len(fp) == 16 and "abcdefgh" not in fp and key not in fp


def test_account_id_ignores_trailing_slash_and_host_case() -> None:
    key = "hh_live_k"
    assert userdata.account_id("https://API.Example.com/", key) == userdata.account_id(
        "https://api.example.com", key
    )
    assert userdata.account_id("https://a.example.com", key) != userdata.account_id(
        "https://b.example.com", key
    )
