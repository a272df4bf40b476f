"""Reading YAML files fast, with problems reported as ``file:line``.

libyaml's C loader is used when PyYAML was built with it (several times faster than the
pure-Python one); the result is the same.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

try:
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # pragma: no cover - PyYAML without libyaml
    from yaml import SafeLoader  # type: ignore[assignment]


class YamlError(ValueError):
    """A file that cannot be read or is not valid YAML; the message starts with ``file:line:``."""


def read_yaml(path: Path) -> Any:
    """The parsed content of ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise YamlError(f"{path}:1: cannot read: {error}") from None
    return parse_yaml(text, path)


def parse_yaml(text: str, path: Path) -> Any:
    """``text`` (the content of ``path``) parsed."""
    try:
        return yaml.load(text, Loader=SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 1
        raise YamlError(f"{path}:{line}: invalid YAML: {error.problem or error}") from None
    except yaml.YAMLError as error:
        raise YamlError(f"{path}:1: invalid YAML: {error}") from None


def compose_yaml(text: str) -> yaml.Node | None:
    """The node tree of ``text`` (valid YAML), for finding the line of an entry."""
    return yaml.compose(text, Loader=SafeLoader)
