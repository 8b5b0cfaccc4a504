"""The agent's branch of the exception tree (see `sportello.errors`)."""

from __future__ import annotations

from sportello.errors import SportelloError


class AgentError(SportelloError):
    """The turn cannot be made as configured."""


class ComposerError(AgentError):
    """An unknown composer, or one that cannot be built from the settings."""
