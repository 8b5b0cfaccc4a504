"""The turn, stage by stage: understand → retrieve → compose → check → decide. Each stage is a module
with one function of the TurnState the previous stages built (state.py); the assistant imports the
stage modules themselves, and this surface names the state they share.

Members load on first use (PEP 562), so importing one stage does not pull in the others.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.turn.decide import conversation_update, decide_handoff, summarize_for_operator
    from agent.turn.state import (
        Assessment,
        Check,
        Decision,
        Resources,
        Retrieval,
        Subject,
        TurnState,
        Understanding,
    )

_LAZY = {
    "Subject": "agent.turn.state",
    "Resources": "agent.turn.state",
    "Understanding": "agent.turn.state",
    "Retrieval": "agent.turn.state",
    "Assessment": "agent.turn.state",
    "Check": "agent.turn.state",
    "Decision": "agent.turn.state",
    "TurnState": "agent.turn.state",
    "decide_handoff": "agent.turn.decide",
    "summarize_for_operator": "agent.turn.decide",
    "conversation_update": "agent.turn.decide",
}

__all__ = [
    "Assessment",
    "Check",
    "Decision",
    "Resources",
    "Retrieval",
    "Subject",
    "TurnState",
    "Understanding",
    "conversation_update",
    "decide_handoff",
    "summarize_for_operator",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
