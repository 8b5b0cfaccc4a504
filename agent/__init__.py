"""The agent: retrieval, answer composition, citations and the handoff policy.

Entry point: `Assistant.respond(conversation, message, now=...) -> Reply`.
Never imports `api`.
"""
