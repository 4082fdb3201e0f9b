"""The article's table of contents as project data: what a step's `source:` may name.

Facts only (section ids, headings, bullet counts), read from routines/article.yaml;
never the article's sentences.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["ADDED", "UNSPECIFIED", "Article", "ArticleSection", "Source"]

ADDED = "added"
"""The `source:` of what the article does not say (with a `reason:`)."""
_REF = re.compile(r"^([a-z_]+)/(intro|[0-9]+)$")


@dataclass(frozen=True)
class Source:
    """Where a step or precaution comes from in the article."""

    refs: tuple[str, ...]
    """'<section>/<bullet>' or '<section>/intro'; empty when the product adds it."""
    reason: str = ""
    """Why the product adds it (only when `refs` is empty)."""

    @property
    def added(self) -> bool:
        return not self.refs

    @property
    def label(self) -> str:
        return ", ".join(self.refs) or ADDED


@dataclass(frozen=True)
class ArticleSection:
    id: str
    heading: str
    bullets: int


@dataclass(frozen=True)
class Article:
    """The article's sections and bullet counts: what a `source:` may name."""

    title: str
    sections: Mapping[str, ArticleSection]

    def problem(self, ref: str) -> str:
        """Why `ref` names no place in the article; "" when it does."""
        match = _REF.match(ref)
        if not match:
            return f"{ref!r} must be <section>/<bullet>, <section>/intro or {ADDED}"
        name, bullet = match.groups()
        section = self.sections.get(name)
        if section is None:
            return f"{ref!r} names an unknown section {name!r} (known: {', '.join(self.sections)})"
        if bullet != "intro" and not 1 <= int(bullet) <= section.bullets:
            return (
                f"{ref!r}: bullet {bullet} is beyond the {section.bullets} bullets "
                f"of section {name!r}"
            )
        return ""


UNSPECIFIED = Source((), "unspecified")
"""The default of objects built in code (tests), not from a routine file."""
