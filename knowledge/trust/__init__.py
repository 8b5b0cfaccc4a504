from knowledge.trust.evidence import assess_evidence
from knowledge.trust.freshness import KnowledgeState, assess_knowledge, max_age_for
from knowledge.trust.health import build_health_report, health_report, run_doctor
from knowledge.trust.opening import store_status, store_week

__all__ = [
    'KnowledgeState',
    'assess_evidence',
    'assess_knowledge',
    'build_health_report',
    'health_report',
    'max_age_for',
    'run_doctor',
    'store_status',
    'store_week',
]
