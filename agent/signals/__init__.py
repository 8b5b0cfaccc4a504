"""What a message says before any knowledge is searched: its conversational act (greeting, thanks…),
sensitive topics (lexicon and meaning), intent and slots, and injected instructions.

Members load on first use (PEP 562), so importing one stage does not pull in the others.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.signals.acts import MessageParts, read_act, split_message
    from agent.signals.exemplars import Exemplars, ExemplarVote, load_exemplars
    from agent.signals.injection import looks_like_instruction, strip_instructions
    from agent.signals.intents import Intent, detect_intent
    from agent.signals.safety import SensitiveSignal, classify_message

_LAZY = {
    "split_message": "agent.signals.acts",
    "read_act": "agent.signals.acts",
    "MessageParts": "agent.signals.acts",
    "Exemplars": "agent.signals.exemplars",
    "ExemplarVote": "agent.signals.exemplars",
    "load_exemplars": "agent.signals.exemplars",
    "SensitiveSignal": "agent.signals.safety",
    "classify_message": "agent.signals.safety",
    "Intent": "agent.signals.intents",
    "detect_intent": "agent.signals.intents",
    "strip_instructions": "agent.signals.injection",
    "looks_like_instruction": "agent.signals.injection",
}

__all__ = [
    "ExemplarVote",
    "Exemplars",
    "Intent",
    "MessageParts",
    "SensitiveSignal",
    "classify_message",
    "detect_intent",
    "load_exemplars",
    "looks_like_instruction",
    "read_act",
    "split_message",
    "strip_instructions",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
