"""The agent: one customer message in, one Reply out (understand, retrieve, assess trust,
compose, check, decide). Entry point: `Assistant.respond(conversation, message, now=...)`.

Never imports `api`.
"""

from agent.assistant import Assistant, AssistantConfig, TurnResult, build_assistant, failed_reply
from agent.conversation import Conversation, ConversationUpdate, Turn
from agent.reply import Citation, Handoff, HandoffReason, Reply, Warning
from agent.support_hours import when_a_person_answers

__all__ = [
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
    "when_a_person_answers",
]
