"""The API key never lands anywhere: not in a file, not in the output, whatever the server says.

A server may quote the request (and its Authorization header) in an ``errorMessage`` or an error
envelope; users swap the two environment variables or paste the key into ``hhbatch.yaml``. Each
of those must leave the key in no file under the campaign folder or the per-user data folder
(every byte, the SQLite journal and ledger included) and in nothing printed.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import httpx
import pytest
from runkit import SIMPLE_HEADER, Cli, prompt, read_rows, results_path, write_csv

from hhbatch import redact
from hhbatch.cli import exitcodes
from hhbatch.client import ApiClient
from hhbatch.errors import ApiStatusError, UploadError
from hhbatch.sandbox import KeyConfig, Sandbox


def new_key() -> str:
    """A realistic key nobody registered before: a test cannot pass by an earlier test's luck."""
    return "hh_live_" + secrets.token_urlsafe(24).replace("-", "x")


@pytest.fixture(autouse=True)
def _fresh_registry() -> None:
    """Registration must happen on the real path of each test, not linger from another one."""
    redact.forget_secrets()


def shows_part(text: str, key: str, run: int = 12) -> bool:
    """True when ``text`` holds any ``run`` characters of the key's secret in a row (a cut-off
    quote of the key leaks most of it)."""
    secret = key[len("hh_live_") :]
    return any(secret[i : i + run] in text for i in range(len(secret) - run + 1))


def leaks(folder: Path, key: str) -> list[str]:
    """Files under ``folder`` holding the key or its secret part (every byte, SQLite included)."""
    needles = (key.encode(), key[len("hh_live_") :].encode())
    found = []
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if any(needle in data for needle in needles):
                found.append(str(path.relative_to(folder)))
    return found


def test_a_failure_message_quoting_the_key_lands_nowhere(
    sandbox_factory: object,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    tmp_path: Path,
    user_home: Path,
) -> None:
    key = new_key()
    quoting = (
        f"Render failed for request {{'Authorization': 'Bearer {key}'}}; "
        f"key {key[len('hh_live_') :]} was throttled"
    )
    sandbox: Sandbox = sandbox_factory(  # type: ignore[operator]
        keys={key: KeyConfig("demo", "pro", 1_000_000)}, failure_messages=(quoting,)
    )
    cli = Cli(sandbox, monkeypatch, capsys)
    folder = tmp_path / "campaign"
    manifest = write_csv(
        folder / "leak.csv",
        SIMPLE_HEADER,
        [[prompt(0), 3, "720p"], [prompt(1, " [fail]"), 3, "720p"]],
    )

    outputs = [cli.run(manifest, "--json")]
    assert outputs[0].code == exitcodes.ROWS_NOT_OK, outputs[0]
    failed = read_rows(results_path(manifest))[1]
    assert failed["status"] == "failed"
    assert "Render failed" in failed["error"] and "hh_live_…" in failed["error"], failed
    rows = json.loads(outputs[0].out)["rows"]
    assert "Render failed" in rows[1]["error"]
    outputs.append(cli.status(manifest, "--json"))
    outputs.append(cli("report", manifest))
    outputs.append(cli("download", manifest))
    assert outputs[-1].code == exitcodes.OK, outputs[-1]
    assert list(folder.glob("*.html")), outputs[-2]

    for outcome in outputs:
        assert not shows_part(outcome.out + outcome.err, key), outcome
    assert leaks(folder, key) == []
    assert leaks(user_home, key) == []
    assert any(p.suffix == ".sqlite" for p in folder.rglob("*")), "the journal was grepped too"


def test_swapped_environment_variables_do_not_print_the_key(
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    tmp_path: Path,
) -> None:
    key = new_key()
    cli = Cli(sandbox, monkeypatch, capsys)
    monkeypatch.setenv("HAPPYHORSE_API_KEY", sandbox.base_url)
    monkeypatch.setenv("HAPPYHORSE_BASE_URL", key)
    manifest = write_csv(tmp_path / "swap.csv", SIMPLE_HEADER, [[prompt(0), 3, "720p"]])
    result = cli.run(manifest)
    assert result.code == exitcodes.USAGE, result
    assert "swapped" in result.err, result
    assert not shows_part(result.err + result.out, key), result
    assert sandbox.counters()["creates"] == 0

    # The key in the address variable alone (pasted twice): masked, not echoed.
    monkeypatch.setenv("HAPPYHORSE_API_KEY", key)
    result = cli.run(manifest)
    assert result.code == exitcodes.USAGE, result
    assert "HAPPYHORSE_BASE_URL" in result.err and "hh_live_…" in result.err, result
    assert not shows_part(result.err + result.out, key), result


@pytest.mark.parametrize(
    "text",
    [
        "base_url: {key}\n",
        "rate: {key}\n",
        "defaults:\n  prompt: {key}\n",
        "team_token: {key}\n",
        "{key}: yes\n",
        'sheet: "{key}\n',  # a YAML syntax error quotes the line it stopped at
        "rate: {token}\n",  # a long token without the prefix, in a conversion error
    ],
)
def test_a_key_in_hhbatch_yaml_is_never_echoed(
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    tmp_path: Path,
    text: str,
) -> None:
    key = new_key()
    token = "Zq8" + secrets.token_hex(16)
    cli = Cli(sandbox, monkeypatch, capsys)
    cli.use_key(None)  # the key is only in the file
    manifest = write_csv(tmp_path / "conf.csv", SIMPLE_HEADER, [[prompt(0), 3, "720p"]])
    (tmp_path / "hhbatch.yaml").write_text(text.format(key=key, token=token), encoding="utf-8")
    result = cli.run(manifest, "--dry-run")
    assert result.code == exitcodes.USAGE, result
    assert "hhbatch.yaml" in result.err, result
    assert not shows_part(result.err + result.out, key), result
    assert not shows_part(result.err, "hh_live_" + token), result


# --- where server strings enter: the client ----------------------------------------------------
KEY = "hh_live_" + "k3Y" * 8


def _client(handler: object) -> ApiClient:
    transport = httpx.MockTransport(handler)  # type: ignore[arg-type]
    return ApiClient("https://api.example", KEY, transport=transport, max_retries=0)


async def _sleep(_seconds: float) -> None:
    return None


def test_server_strings_are_scrubbed_where_they_enter() -> None:
    import asyncio

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/videos/v1"):
            return httpx.Response(
                200,
                json={
                    "id": "v1",
                    "status": "failed",
                    "errorMessage": f"bad token {KEY}",
                    "videoUrl": f"https://cdn.example/v.mp4?k={KEY}",
                    "extra": {"echo": [KEY]},
                },
            )
        if path.endswith("/videos"):
            return httpx.Response(
                400, json={"error": {"code": "invalid_input", "message": f"Bearer {KEY} refused"}}
            )
        if path.endswith("/presign"):
            return httpx.Response(
                200, json={"uploadUrl": f"https://s3.example/?t={KEY}", "key": "k"}
            )
        return httpx.Response(502, text=f"<html>proxy saw Authorization: Bearer {KEY}</html>")

    async def scenario() -> None:
        async with _client(handler) as client:
            video = await client.get_video("v1")
            assert KEY not in json.dumps(video.raw)
            assert video.error_message == "bad token hh_live_…Yk3Y"
            assert KEY not in (video.error_message or "") + (video.video_url or "")
            assert "hh_live_…" in (video.error_message or "")
            with pytest.raises(ApiStatusError) as refused:
                await client.create_video({"prompt": "x"})
            assert KEY not in str(refused.value) and KEY not in json.dumps(refused.value.body)
            with pytest.raises(UploadError) as presign:
                await client.presign("image", "image/png", 10)
            assert KEY not in str(presign.value)
            with pytest.raises(ApiStatusError) as proxy:
                await client._call("GET", "/api/v1/other", "poll", idempotent=False)
            assert KEY not in str(proxy.value)

    asyncio.run(scenario())


def test_redact_masks_registered_secrets_and_key_shaped_text() -> None:
    redact.register_secret("short")  # too short to be a secret: ordinary words stay
    assert redact.redact("a short note") == "a short note"
    secret = "hh_live_" + "A1b2" * 6
    redact.register_secret(secret)
    assert redact.redact(f"x {secret} y") == "x hh_live_…A1b2 y"
    assert secret[8:] not in redact.redact(f"part {secret[8:]}")
    assert "hh_test_" in redact.redact("other hh_test_abcdefgh12345678")
    assert "abcdefgh12345678" not in redact.redact("other hh_test_abcdefgh12345678")
    assert redact.mask_value("https://example.happyhorse.ai") == "https://example.happyhorse.ai"
    assert redact.mask_value("Zq8" + "9f" * 12).startswith("…")
    assert redact.redact_value({"a": [secret], "b": 3}) == {"a": ["hh_live_…A1b2"], "b": 3}
