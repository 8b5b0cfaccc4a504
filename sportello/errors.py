"""The project's one exception root and the whole tree, in one place.

Code raises the most specific class where the fact is known; the CLI turns any `SportelloError`
into a message and exit code 2, and the API maps each branch to one problem+json response
(`api.problems`). Every exception class the project defines is in this tree (a test checks it).

    SportelloError
    ├── SettingsError                 a SPORTELLO_* variable has an invalid value (sportello.settings)
    ├── KnowledgeError                the brand's knowledge needs a person's fix (knowledge.errors)
    │   ├── ManifestError             the sources manifest is invalid (file, line, field)
    │   ├── SourceError               a source cannot be read at all
    │   │   ├── SourceUnreachable     its URL cannot be fetched
    │   │   └── SourceFormatError     its file is malformed (a column, a row, invalid JSON-LD)
    │   ├── SourceTypeError           a manifest names a source type no parser is registered for
    │   ├── HoursFormatError          an opening-hours string or object cannot be read
    │   ├── IndexUnavailable          no index yet, or the Chroma server cannot be reached
    │   └── EmbedderError             the configured embedder is unknown or unusable
    ├── AgentError                    the turn could not be made as configured (agent.errors)
    │   └── ComposerError             an unknown composer, or one that cannot be built
    ├── EvalError                     evals input a person must fix (evals.errors)
    │   ├── SuiteError                an eval suite is invalid (file, case, line, field)
    │   ├── BaselineError             a baseline report cannot be read or does not match
    │   ├── ThresholdError            a --fail-under threshold is malformed
    │   └── TargetError               the service under test cannot be reached or answered badly
    └── ServiceError                  a request the HTTP service refuses (api.errors)
        ├── NotFound                  …UnknownConversation, UnknownHandoff, UnknownKey, UnknownWebhook,
        │                             UnknownSource, UnknownSyncJob
        ├── Conflict                  …InvalidTransition, NotYourHandoff, MessageIdTaken, HandoffAlreadyOpen
        ├── InvalidCursor
        ├── NotConfigured
        ├── AuthenticationFailed
        ├── Forbidden
        └── RateLimited
"""

from __future__ import annotations

__all__ = ["SportelloError"]


class SportelloError(Exception):
    """Base of every error the project raises on purpose; the message says what to fix."""
