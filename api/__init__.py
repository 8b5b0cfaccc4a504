"""The HTTP service: conversations, human handoff, keys, knowledge routes and signed webhooks.

Entry point: `create_app(settings) -> FastAPI`. The only package that knows HTTP.
"""

from api.analytics import Period as AnalyticsPeriod
from api.analytics import catch_up as analytics_catch_up
from api.analytics import report as analytics_report
from api.app import create_app, create_app_from_env, server_options
from api.audit import CLI as CLI_ACTOR
from api.audit import prune as prune_audit_log
from api.channels import scope_key_to_channel, telegram_set_webhook_request
from api.db import Database
from api.erasure import erase_conversation, erase_expired, export_conversation
from api.errors import (
    AuthenticationFailed,
    Conflict,
    Forbidden,
    NotConfigured,
    NotFound,
    RateLimited,
    ServiceError,
    UnknownKey,
)
from api.index_generation import publish_new_index
from api.keys import ROLES, create_key, list_keys, revoke_key
from api.metrics import Metrics
from api.secretbox import SecretBox, SecretKeyError, new_key
from api.web.console import standalone_analytics_html
from api.webhooks import DeliveryPolicy, DeliveryWorker, reseal_secrets
from api.webhooks import create_subscription as create_webhook_subscription
from api.webhooks import emit as emit_event

__all__ = [
    "CLI_ACTOR",
    "ROLES",
    "AnalyticsPeriod",
    "AuthenticationFailed",
    "Conflict",
    "Database",
    "DeliveryPolicy",
    "DeliveryWorker",
    "Metrics",
    "Forbidden",
    "NotConfigured",
    "NotFound",
    "RateLimited",
    "SecretBox",
    "SecretKeyError",
    "ServiceError",
    "UnknownKey",
    "analytics_catch_up",
    "analytics_report",
    "create_app",
    "create_app_from_env",
    "create_key",
    "create_webhook_subscription",
    "emit_event",
    "erase_conversation",
    "erase_expired",
    "export_conversation",
    "list_keys",
    "publish_new_index",
    "new_key",
    "prune_audit_log",
    "reseal_secrets",
    "revoke_key",
    "scope_key_to_channel",
    "server_options",
    "standalone_analytics_html",
    "telegram_set_webhook_request",
]
