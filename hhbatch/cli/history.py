"""``hhbatch history``: every video this machine created for the current account, newest first."""

from __future__ import annotations

import argparse
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hhbatch import spec, userdata
from hhbatch.cli import exitcodes
from hhbatch.errors import MissingCredentials
from hhbatch.i18n import _

DESCRIPTION = """\
List every video this machine created for the current account (HAPPYHORSE_API_KEY on
HAPPYHORSE_BASE_URL), newest first: id, when, which file and row, the prompt's start, the last
known status and the video link. The API has no list of your videos; this is it. Whatever
happens to the campaign files (copied, renamed, the hidden .hhbatch folder lost), this record
stays in your user data folder, and 'hhbatch run' uses it never to create the same video twice.
"""

EPILOG = """\
examples:
  hhbatch history                 newest first, as text
  hhbatch history --json          the same as JSON (see the README for the keys)
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "history",
        help=_("every video this machine created for your account"),
        description=_(DESCRIPTION),
        epilog=_(EPILOG),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help=_("settings file for base_url (default hhbatch.yaml in this folder)"),
    )
    parser.add_argument("--json", action="store_true", help=_("print the list as JSON"))
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    # A failure (no key, an unusable ledger) is raised: the CLI prints the sentence, and under
    # --json the shared error document (hhbatch.cli.jsonout).
    base_url, api_key = _account(args.config)
    from hhbatch.ledger import default_path, history_status

    entries: list[Any] = []
    if default_path().is_file():
        from hhbatch.ledger import Ledger

        with Ledger.open() as ledger:
            entries = ledger.history(userdata.account_id(base_url, api_key))
    account = {
        "baseUrl": userdata.normalize_base_url(base_url),
        "keyFingerprint": userdata.key_fingerprint(api_key),
    }
    videos = [
        {
            "videoId": entry.video_id,
            "createdAt": datetime.fromtimestamp(entry.when, tz=timezone.utc).isoformat(
                timespec="seconds"
            ),
            "batch": entry.manifest,
            "sheet": entry.sheet,
            "row": entry.sheet_row,
            "prompt": entry.prompt,
            "status": history_status(entry),
            "videoUrl": entry.video_url,
        }
        for entry in entries
    ]
    if args.json:
        from hhbatch.cli.jsonout import emit

        emit({"command": "history", "account": account, "videos": videos, "exitCode": 0})
        return exitcodes.OK
    for line in _lines(account, videos):
        print(line)
    return exitcodes.OK


def _account(config_path: Path | None) -> tuple[str, str]:
    """Which account: the key from the environment, the server from it or hhbatch.yaml."""
    from hhbatch.config import CONFIG_FILENAME, load_config
    from hhbatch.workflow import resolve_credentials

    if not os.environ.get(spec.ENV_API_KEY, "").strip():
        raise MissingCredentials(
            _(
                "No API key: hhbatch history lists the videos of the account your key belongs "
                "to. Set {key} (and {base}, or base_url in hhbatch.yaml), then run it again."
            ).format(key=spec.ENV_API_KEY, base=spec.ENV_BASE_URL)
        )
    config = load_config(config_path, Path.cwd() / CONFIG_FILENAME)
    if not (os.environ.get(spec.ENV_BASE_URL, "").strip() or config.base_url):
        raise MissingCredentials(
            _(
                "No API address: hhbatch history lists the videos created on one HappyHorse "
                "server. Set {base} to your HappyHorse domain, or run it in the folder whose "
                "hhbatch.yaml has base_url (or pass --config)."
            ).format(base=spec.ENV_BASE_URL)
        )
    return resolve_credentials(config)


def _lines(account: dict[str, str], videos: list[dict[str, Any]]) -> list[str]:
    if not videos:
        return [
            _("No video was created on this machine for {url} with this key yet.").format(
                url=account["baseUrl"]
            )
        ]
    lines = [
        _("{count} video(s) created on this machine for {url} with this key, newest first:").format(
            count=len(videos), url=account["baseUrl"]
        )
    ]
    for video in videos:
        when = datetime.fromisoformat(video["createdAt"]).astimezone().strftime("%Y-%m-%d %H:%M")
        where = (
            _("{file}, sheet {sheet}, row {row}").format(
                file=video["batch"], sheet=repr(video["sheet"]), row=video["row"]
            )
            if video["sheet"]
            else _("{file}, row {row}").format(file=video["batch"], row=video["row"])
        )
        lines.append("")
        lines.append(f"  {when}  {video['videoId'] or '-'}  {_status(video['status'])}  {where}")
        if video["prompt"]:
            lines.append(f"      {video['prompt']}")
        if video["videoUrl"]:
            lines.append(f"      {video['videoUrl']}")
    return lines


def _status(status: str) -> str:
    from hhbatch.report import status_label

    return status_label(status)
