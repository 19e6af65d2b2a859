"""``hhbatch init``: put a campaign template and a commented settings file in a folder.

Why the templates ship inside the package (``hhbatch/data/``): a user who installed hhbatch from
a wheel has no ``templates/`` folder; ``templates/build_templates.py`` writes both copies and a
test keeps them equal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hhbatch.config import CONFIG_FILENAME
from hhbatch.errors import UsageError
from hhbatch.i18n import _

LANGUAGES = ("en", "zh")
CAMPAIGN_FILENAME = "campaign.xlsx"
# language → packaged template file
TEMPLATE_FOR_LANGUAGE = {"en": "campaign.xlsx", "zh": "campaign.zh.xlsx"}
# language → packaged, commented settings file (written as hhbatch.yaml)
CONFIG_FOR_LANGUAGE = {"en": CONFIG_FILENAME, "zh": "hhbatch.zh.yaml"}


@dataclass
class InitResult:
    folder: Path
    written: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)  # already there: never overwritten

    @property
    def campaign(self) -> Path:
        return self.folder / CAMPAIGN_FILENAME


def template_bytes(name: str) -> bytes:
    """A packaged template file, wherever the package is installed (zip, wheel, checkout)."""
    from importlib import resources  # here: every command's start imports this module

    return resources.files("hhbatch").joinpath("data", name).read_bytes()


def init_folder(folder: Path | str = ".", language: str = "en") -> InitResult:
    """Write ``campaign.xlsx`` and ``hhbatch.yaml`` into ``folder``, keeping any existing file."""
    if language not in LANGUAGES:
        raise UsageError(
            _("Unknown language {language}: use one of {choices}.").format(
                language=repr(language), choices=", ".join(LANGUAGES)
            )
        )
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise UsageError(_("{path} exists and is not a folder.").format(path=folder))
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(
            _("Cannot create the folder {path}: {reason}").format(
                path=folder, reason=err.strerror or err
            )
        ) from err
    result = InitResult(folder)
    files = {
        CAMPAIGN_FILENAME: TEMPLATE_FOR_LANGUAGE[language],
        CONFIG_FILENAME: CONFIG_FOR_LANGUAGE[language],
    }
    for target_name, template_name in files.items():
        target = folder / target_name
        if _create_exclusive(target, template_bytes(template_name)):
            result.written.append(target)
        else:
            result.kept.append(target)
    return result


def _create_exclusive(target: Path, data: bytes) -> bool:
    """Write ``target`` only if it does not exist (checked atomically by the OS: mode 'xb')."""
    try:
        handle = target.open("xb")
    except FileExistsError:
        return False
    except OSError as err:
        raise UsageError(
            _("Cannot write {path}: {reason}").format(path=target, reason=err.strerror or err)
        ) from err
    try:
        with handle:
            handle.write(data)
    except OSError as err:
        target.unlink(missing_ok=True)  # never leave a half-written template behind
        raise UsageError(
            _("Cannot write {path}: {reason}").format(path=target, reason=err.strerror or err)
        ) from err
    return True
