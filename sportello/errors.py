"""The project's one exception root and the whole tree, in one place.

Code raises the most specific class where the fact is known; the CLI turns any `SportelloError`
into a message and exit code 2, and the API maps each branch to one problem+json response
(`api.problems`). Every exception class the project defines is in this tree (a test checks it).

    SportelloError
    ├── SettingsError                 a SPORTELLO_* variable has an invalid value (sportello.settings)
    │   └── SecretKeyError            SPORTELLO_SECRET_KEY cannot open a stored secret (api.secretbox)
    ├── KnowledgeError                the brand's knowledge needs a person's fix (knowledge.errors)
    │   ├── ManifestError             the sources manifest is invalid (file, line, field)
    │   ├── YamlSyntaxError           a YAML file (manifest, suite) is not valid YAML (with its line)
    │   ├── SourceError               a source cannot be read at all
    │   │   ├── SourceUnreachable     its URL cannot be fetched
    │   │   └── SourceFormatError     its file is malformed (a column, a row, invalid JSON-LD)
    │   ├── FeedProblem               a problem in a feed's content, before its source id is known
    │   ├── SourceTypeError           a manifest names a source type no reader is registered for
    │   ├── HoursFormatError          an opening-hours string or object cannot be read
    │   ├── IndexUnavailable          no index yet, or the Chroma server cannot be reached
    │   │   └── ChromaUnreachable     the Chroma server does not answer (turns go lexical-only)
    │   └── EmbedderError             the configured embedder is unknown or unusable
    ├── AgentError                    the turn cannot be made as configured (agent.errors)
    │   └── ComposerError             an unknown composer, or one that cannot be built
    ├── EvalError                     evals input a person must fix (evals.errors)
    │   ├── SuiteError                an eval suite is invalid (file, case, line, field)
    │   ├── ReportError               a report (a --baseline) cannot be read or is another version
    │   ├── GateError                 a --fail-under threshold is malformed
    │   │   └── UnknownMetric         it names a metric the report does not have
    │   └── TargetError               the assistant under test could not answer (HTTP error, down)
    ├── DiskSpaceLow                  a folder the service writes to is nearly full (api.disk; /readyz)
    └── ServiceError                  a request the HTTP service refuses (api.errors → problem+json)
        ├── NotFound                  404: UnknownConversation, UnknownHandoff, UnknownKey,
        │                             UnknownWebhook, UnknownDelivery, UnknownSource, UnknownSyncJob
        ├── Conflict                  409: InvalidTransition, NotYourHandoff, MessageIdTaken,
        │                             MessageIdReused, HandoffAlreadyOpen, WindowClosed (a channel's reply window),
        │                             SubscriptionDisabled, DeliveryNotFailed (sending a dead letter again)
        ├── InvalidCursor             400: a pagination cursor the service did not make
        ├── InvalidPeriod             400: an analytics period that ends before it starts
        ├── NotConfigured             503: no manifest or no index yet; ChannelNotConfigured
        ├── AuthenticationFailed      401; BadSignature (a channel webhook's signature or token)
        ├── Forbidden                 403
        └── RateLimited               429, with Retry-After
"""

from __future__ import annotations

__all__ = ["SportelloError"]


class SportelloError(Exception):
    """Base of every error the project raises on purpose; the message says what to fix."""
