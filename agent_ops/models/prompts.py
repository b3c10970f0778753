"""Versioned prompts: files `prompts/<name>/<version>.md`, chosen by the models config.

A prompt is the system message of its role; `$name` placeholders are filled from the values the
caller gives (string.Template, so JSON braces in a prompt need no escaping). The name and version
travel with every model call into the decision log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

from agent_ops.errors import ConfigError

_NUMBERS = re.compile(r"(\d+)")


def _version_key(version: str) -> list[int | str]:
    """Natural order, so v10 comes after v9."""
    return [int(part) if part.isdigit() else part for part in _NUMBERS.split(version)]


@dataclass(frozen=True, slots=True)
class Prompt:
    name: str
    version: str
    text: str

    def render(self, **values: object) -> str:
        """Fill `$placeholders`; a missing value is a ConfigError naming it and the prompt."""
        try:
            return Template(self.text).substitute({k: str(v) for k, v in values.items()})
        except KeyError as exc:
            raise ConfigError(
                f"prompt {self.name}@{self.version} needs a value for ${exc.args[0]}"
            ) from None


class PromptLibrary:
    """The prompts folder; each read goes to disk, so an edited file is used at the next call."""

    def __init__(self, folder: Path, pinned: dict[str, str] | None = None) -> None:
        self.folder = folder
        self._pinned = pinned or {}

    def versions(self, name: str) -> list[str]:
        """Return the versions of a prompt, oldest first."""
        found = self.folder / name
        if not found.is_dir():
            raise ConfigError(f"prompt {name!r} not found: no folder {found}")
        return sorted((p.stem for p in found.glob("*.md")), key=_version_key)

    def get(self, name: str) -> Prompt:
        """Return the version the config pins, else the newest one."""
        versions = self.versions(name)
        if not versions:
            raise ConfigError(f"prompt {name!r} has no versions (<version>.md files)")
        version = self._pinned.get(name, versions[-1])
        if version not in versions:
            raise ConfigError(
                f"prompt {name!r} has no version {version!r}; versions: {', '.join(versions)}"
            )
        text = (self.folder / name / f"{version}.md").read_text(encoding="utf-8").strip()
        return Prompt(name, version, text)
