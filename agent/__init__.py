"""The agent: one customer message in, one Reply out (understand, retrieve, assess trust,
compose, check, decide). Entry point: `Assistant.respond(conversation, message, now=...)`.

Never imports `api`.
"""

from agent.assistant import Assistant, AssistantConfig, TurnResult, build_assistant, failed_reply
from agent.conversation import Conversation, ConversationUpdate, Turn
from agent.phrases import long_date, phrase
from agent.reply import Citation, Handoff, HandoffReason, Reply, Warning
from agent.support_hours import when_a_person_answers
from agent.turn.check import CLEAR_Z, MIN_MARGIN, MIN_Z

__all__ = [
    "CLEAR_Z",
    "MIN_MARGIN",
    "MIN_Z",
    "Assistant",
    "AssistantConfig",
    "Citation",
    "Conversation",
    "ConversationUpdate",
    "Handoff",
    "HandoffReason",
    "Reply",
    "Turn",
    "TurnResult",
    "Warning",
    "build_assistant",
    "failed_reply",
    "long_date",
    "phrase",
    "when_a_person_answers",
]
