"""What a composer produces before the assistant wraps it into a Reply."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.reply import Citation, Warning


@dataclass
class Composition:
    text: str
    grounded: bool
    citations: list[Citation] = field(default_factory=list)
    warnings: list[Warning] = field(default_factory=list)
    composer: str = "offline"
    kind: str = "extractive"  # which answer path: hours, price, shipping_rule, extractive, ...
    needs_human: bool = False  # the only evidence is stale: offer a person

    def add_citation(self, citation: Citation) -> None:
        if all((c.source_id, c.url, c.title) != (citation.source_id, citation.url, citation.title)
               for c in self.citations):
            self.citations.append(citation)

    def add_warning(self, warning: Warning) -> None:
        if all((w.kind, w.detail) != (warning.kind, warning.detail) for w in self.warnings):
            self.warnings.append(warning)
