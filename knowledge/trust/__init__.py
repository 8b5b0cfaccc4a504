"""Trust: which facts can be presented as current (fresh, stale, expired, superseded), who wins a
conflict, what an answer's evidence warrants, and the knowledge-health report for content teams."""

from knowledge.trust.evidence import FromDocument, TrustAssessment, TrustWarning, assess_evidence
from knowledge.trust.freshness import (
    DEFAULT_MAX_AGE_DAYS,
    Conflict,
    FreshnessVerdict,
    KnowledgeState,
    assess_knowledge,
    max_age_for,
)
from knowledge.trust.health import HealthIssue, HealthReport, build_health_report
from knowledge.trust.opening import StoreStatus, store_status, store_week

__all__ = [
    "DEFAULT_MAX_AGE_DAYS",
    "Conflict",
    "FreshnessVerdict",
    "FromDocument",
    "HealthIssue",
    "HealthReport",
    "KnowledgeState",
    "StoreStatus",
    "TrustAssessment",
    "TrustWarning",
    "assess_evidence",
    "assess_knowledge",
    "build_health_report",
    "max_age_for",
    "store_status",
    "store_week",
]
