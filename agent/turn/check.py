"""Stage 5, check: does the composed answer hold? Judged by meaning, calibrated per knowledge base.

A free-text answer rests on one source unit matched by similarity. How strong a match is depends
on the embedder and on the knowledge base, so it is read against the index's calibration
(`knowledge.index.Calibration`): how close questions no brand answers came to this index, as a
mean and a spread. The unit is grounded when it stands clear of those unrelated questions and of
its best rival from another document, whatever words the customer used ("Posso entrare con il mio
cane?" → "Gli animali sono ammessi in negozio?"); a question about something the knowledge never
mentions lands near several unrelated passages at once and is refused.
Every number in a reply that is not quoted evidence must appear in its evidence or in the
customer's message: a wrong number said confidently is the worst reply this service can give.
"""

from __future__ import annotations

import re

from agent.answers.composition import Composition
from agent.turn.state import Check, Resources, Understanding

__all__ = ["CLEAR_Z", "MIN_MARGIN", "MIN_Z", "check"]

# In standard deviations of this index's null distribution (`Calibration`), so the same rule holds
# for any embedder and any brand. A match must stand clear of unrelated questions (MIN_Z: about as
# far as the closest of them came) and of the other documents (MIN_MARGIN), unless it is far above
# anything unrelated (CLEAR_Z). Measured on the brands in evals/brands: a wrong passage wins by a
# hair, a right one by a few tenths of the null spread.
MIN_Z = 2.0
CLEAR_Z = 3.5
MIN_MARGIN = 0.3
_NUMBER = re.compile(r"(?<![\w.,])\d+(?:[.,:]\d+)*")


def check(res: Resources, u: Understanding, comp: Composition) -> Check:
    if comp.parts:
        checks = [check(res, u, part) for part in comp.parts]
        failed = next((c for c in checks if not c.grounded), None)
        return failed or checks[0]
    if not comp.grounded or not comp.text:
        return Check(False, "empty")
    if comp.structured:
        return Check(True, "structured")
    unsupported = _unsupported_numbers(comp.text, [*comp.evidence, u.message, *(c.title for c in comp.citations)])
    if unsupported and comp.kind != "extractive":
        return Check(False, "unsupported_number", unsupported=unsupported)
    calibration = res.calibration
    similarity = comp.similarity
    if similarity is None:
        # A composer that does not say how strong its evidence is (an LLM) is trusted on its own
        # check; the offline evidence it started from was checked when it was chosen.
        return Check(True, "composer")
    z = calibration.z(similarity)
    margin = None if comp.rival is None else (similarity - comp.rival) / (calibration.std or 1e-6)
    if z < MIN_Z:
        return Check(False, "weak", similarity, z, margin=margin)
    if z >= CLEAR_Z or margin is None or margin >= MIN_MARGIN:
        return Check(True, "strong", similarity, z, margin=margin)
    if comp.corroborated:
        # A close call by meaning that the question's own words settle the same way: two
        # independent views agree. (Questions about things the knowledge never mentions almost never
        # get this: their words point elsewhere than their meaning.)
        return Check(True, "corroborated", similarity, z, margin=margin)
    return Check(False, "ambiguous", similarity, z, margin=margin)


def _canonical(number: str) -> str:
    """'6,90' ≡ '6.90'; '9:00' ≡ '9.00' ≡ '9'; '49.00' ≡ '49'; '1.299,00' ≡ '1299'."""
    value = number.replace(":", ".")
    if value.count(".") + value.count(",") > 1 or (("," in value or "." in value) and len(re.split(r"[.,]", value)[-1]) == 3):
        value = re.sub(r"[.,](?=\d{3}(?:\D|$))", "", value)
    value = value.replace(",", ".")
    if "." in value:
        whole, _, frac = value.partition(".")
        frac = frac.rstrip("0")
        value = f"{whole}.{frac}" if frac else whole
    return value.lstrip("0") or "0"


def _unsupported_numbers(text: str, evidence: list[str]) -> tuple[str, ...]:
    available = {_canonical(n) for source in evidence for n in _NUMBER.findall(source)}
    return tuple(n for n in _NUMBER.findall(text) if _canonical(n) not in available)
