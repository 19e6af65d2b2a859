"""The rate limit remembered per account between runs (``hhbatch/ratememory.py``)."""

from __future__ import annotations

import json

import pytest

from hhbatch import ratememory, userdata
from hhbatch.ratelimit import DEFAULT_RATE
from hhbatch.ratememory import HALF_LIFE_DAYS, START_BELOW, Remembered, Start

KEY_A = "hh_live_AAAAsecretAAAAsecretAAAAsecretAAAA"
KEY_B = "hh_live_BBBBsecretBBBBsecretBBBBsecretBBBB"
BASE = "https://api.example.test"
DAY = 86400.0
NOW = 1_800_000_000.0


def account(key: str = KEY_A, base: str = BASE) -> str:
    return userdata.account_id(base, key)


def test_kept_per_account_in_the_user_data_folder_and_never_the_key():
    assert ratememory.remember(account(), level=22.0, highest_ok=21.0, refused=True, now=NOW)
    assert ratememory.remember(account(KEY_B), level=None, highest_ok=8.0, refused=False, now=NOW)
    assert ratememory.remember(
        account(base="https://other.example.test"), level=3.0, highest_ok=2.5, refused=True
    )
    file = userdata.home() / ratememory.FILE_NAME
    assert ratememory.path() == file and file.is_file()
    assert ratememory.load(account()) == Remembered(level=22.0, highest_ok=21.0, saved_at=NOW)
    assert ratememory.load(account(KEY_B)) == Remembered(level=None, highest_ok=8.0, saved_at=NOW)
    assert ratememory.load(account(base="https://other.example.test")).level == 3.0
    assert ratememory.load(account("hh_live_someone_else_entirely_123456")) is None
    text = file.read_text(encoding="utf-8")
    for key in (KEY_A, KEY_B):
        assert key not in text and key[8:] not in text and key[-8:] not in text
    assert userdata.key_fingerprint(KEY_A) in text
    assert list(file.parent.iterdir()) == [file]  # no temporary file left behind


@pytest.mark.parametrize(
    "content",
    [b"", b"{not json", b"[1, 2]", b'{"accounts": []}', b"\xff\xfe\x00garbage", b'{"version": 1}'],
    ids=["empty", "broken", "a-list", "accounts-not-a-map", "binary", "no-accounts"],
)
def test_a_missing_or_corrupt_file_means_nothing_known_and_is_replaced(content: bytes):
    assert ratememory.load(account()) is None  # missing
    file = ratememory.path()
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_bytes(content)
    assert ratememory.load(account()) is None
    assert ratememory.remember(account(), level=12.0, highest_ok=11.0, refused=True, now=NOW)
    assert ratememory.load(account()).level == 12.0
    assert json.loads(file.read_text(encoding="utf-8"))["version"] == ratememory.FORMAT_VERSION


def test_entries_of_the_wrong_shape_are_ignored():
    file = ratememory.path()
    file.parent.mkdir(parents=True, exist_ok=True)
    bad = {
        account(): {"level": "fast", "highestOk": -3, "savedAt": NOW},
        account(KEY_B): {"level": 10.0, "highestOk": 9.0},  # no savedAt
        account(base="https://x.test"): ["not", "a", "map"],
    }
    file.write_text(json.dumps({"version": 1, "accounts": bad}), encoding="utf-8")
    assert ratememory.load(account()) is None
    assert ratememory.load(account(KEY_B)) is None
    assert ratememory.load(account(base="https://x.test")) is None


def test_a_failed_write_leaves_the_old_file_whole(monkeypatch: pytest.MonkeyPatch):
    ratememory.remember(account(), level=20.0, highest_ok=19.0, refused=True, now=NOW)
    before = ratememory.path().read_bytes()

    def broken_replace(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(ratememory.os, "replace", broken_replace)
    assert not ratememory.remember(account(), level=5.0, highest_ok=4.0, refused=True, now=NOW)
    assert ratememory.path().read_bytes() == before
    assert [p.name for p in ratememory.path().parent.iterdir()] == [ratememory.FILE_NAME]


def test_a_run_that_learned_nothing_new_leaves_the_memory_and_its_age_alone():
    ratememory.remember(account(), level=20.0, highest_ok=19.0, refused=True, now=NOW)
    assert not ratememory.remember(account(), level=20.0, highest_ok=0.0, refused=False)
    assert not ratememory.remember(account(), level=20.0, highest_ok=15.0, refused=False)
    assert ratememory.load(account()).saved_at == NOW
    # went past the old level without a 429: the level is out of date
    assert ratememory.remember(account(), level=20.0, highest_ok=26.0, refused=False, now=NOW)
    assert ratememory.load(account()) == Remembered(level=None, highest_ok=26.0, saved_at=NOW)


def test_only_the_most_recent_accounts_are_kept(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(ratememory, "MAX_ACCOUNTS", 3)
    for i in range(5):
        ratememory.remember(
            account(f"hh_live_key{i}xxxxxxxxxxxx"),
            level=10.0 + i,
            highest_ok=9.0,
            refused=True,
            now=NOW + i,
        )
    kept = [i for i in range(5) if ratememory.load(account(f"hh_live_key{i}xxxxxxxxxxxx"))]
    assert kept == [2, 3, 4]


def test_the_next_run_starts_a_little_below_what_was_found():
    fresh = Remembered(level=20.0, highest_ok=19.0, saved_at=NOW)
    assert ratememory.start_for(fresh, ceiling=None, now=NOW) == Start(START_BELOW * 20.0, 20.0)
    never_refused = Remembered(level=None, highest_ok=30.0, saved_at=NOW)
    assert ratememory.start_for(never_refused, ceiling=None, now=NOW) == Start(
        START_BELOW * 30.0, None
    )
    slow_key = Remembered(level=2.0, highest_ok=1.9, saved_at=NOW)
    assert ratememory.start_for(slow_key, ceiling=None, now=NOW).rate == pytest.approx(
        START_BELOW * 2
    )


def test_an_old_memory_fades_towards_the_modest_start_and_is_then_forgotten():
    found = START_BELOW * 40.0
    starts = [
        ratememory.start_for(
            Remembered(level=40.0, highest_ok=39.0, saved_at=NOW - days * DAY),
            ceiling=None,
            now=NOW,
        ).rate
        for days in (0, 1, HALF_LIFE_DAYS, 3 * HALF_LIFE_DAYS)
    ]
    assert starts[0] == pytest.approx(found)
    assert starts[0] > starts[1] > starts[2] > starts[3] > DEFAULT_RATE
    assert starts[2] == pytest.approx(DEFAULT_RATE + (found - DEFAULT_RATE) / 2)
    ancient = Remembered(level=40.0, highest_ok=39.0, saved_at=NOW - 60 * DAY)
    assert ratememory.start_for(ancient, ceiling=None, now=NOW) == Start(DEFAULT_RATE, None)


def test_the_ceiling_caps_the_start_and_is_the_start_when_nothing_is_known():
    fresh = Remembered(level=40.0, highest_ok=39.0, saved_at=NOW)
    assert ratememory.start_for(fresh, ceiling=20.0, now=NOW).rate == 20.0
    assert ratememory.start_for(fresh, ceiling=100.0, now=NOW).rate == START_BELOW * 40.0
    assert ratememory.start_for(None, ceiling=20.0) == Start(20.0, None)
    assert ratememory.start_for(None, ceiling=None) == Start(DEFAULT_RATE, None)
    assert ratememory.start_for(None, ceiling=2.0) == Start(2.0, None)
