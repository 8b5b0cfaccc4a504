"""What a composer produces before the assistant wraps it into a Reply."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.reply import Citation, Warning

# Answers computed from structured facts (a feed's hours, prices, stock; a store's services):
# exact by construction, so the grounding check takes them as they are.
STRUCTURED_KINDS = frozenset(
    {"hours", "product", "services", "store_info", "stores", "promotion", "clarify", "policy_shipping",
     "policy_returns", "policy_warranty"}
)


@dataclass
class Composition:
    text: str
    grounded: bool  # the composer found something to say; the check stage judges whether it holds
    citations: list[Citation] = field(default_factory=list)
    warnings: list[Warning] = field(default_factory=list)
    composer: str = "offline"
    kind: str = "extractive"  # which answer path: hours, product, policy_shipping, extractive, llm, ...
    needs_human: bool = False  # the only evidence is stale: offer a person
    # What the text says things from (FAQ answer, page sentences, fact snippets): the check stage
    # reads the numbers of the reply against it.
    evidence: list[str] = field(default_factory=list)
    # The match strength of the evidence a free-text answer rests on (dense cosine similarity).
    similarity: float | None = None
    rival: float | None = None  # the similarity of the best unit from another document saying something else
    same_language: bool = True  # the evidence is in the reply's language
    corroborated: bool = False  # the question's own words point at the same document (BM25's first)
    parts: list[Composition] = field(default_factory=list)  # a question with several parts: one each

    @property
    def structured(self) -> bool:
        return self.kind in STRUCTURED_KINDS

    def add_citation(self, citation: Citation) -> None:
        if all((c.source_id, c.url, c.title) != (citation.source_id, citation.url, citation.title)
               for c in self.citations):
            self.citations.append(citation)

    def add_warning(self, warning: Warning) -> None:
        if all((w.kind, w.detail) != (warning.kind, warning.detail) for w in self.warnings):
            self.warnings.append(warning)
