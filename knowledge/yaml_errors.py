"""YAML read with line numbers, and pydantic error locations written for people.

Manifests and eval suites are hand-written YAML: an error names the line and the field
("sources.yaml line 10, field 'sources[1].type': ...").
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic_core import ErrorDetails

from knowledge.errors import KnowledgeError


class YamlSyntaxError(KnowledgeError, ValueError):
    """Not valid YAML; the message names the line when the parser knows it."""


def compose_and_load(text: str) -> tuple[yaml.Node | None, Any]:
    """The node tree (for line numbers) and the plain data of a YAML text."""
    try:
        return yaml.compose(text), yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise YamlSyntaxError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from exc


def dotted(loc: tuple[Any, ...]) -> str:
    """('sources', 1, 'type') → 'sources[1].type'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(root)"


def error_message(error: ErrorDetails) -> str:
    return str(error["msg"]).removeprefix("Value error, ")


def line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """Walk the composed YAML tree along a pydantic error location to find its line."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if getattr(k, "value", None) == part), None)
            if match is None:
                break
            line = match[0].start_mark.line + 1
            node = match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line
