"""The study's controlled terminology: dbt_project/seeds/sdtm_terminology.csv (NCI SDTM CT
2025-03-28 and the sponsor's codelists), one CodeList per CODELIST with its terms in seed order."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from orchestration.settings import DBT_PROJECT_DIR

TERMINOLOGY_CSV = DBT_PROJECT_DIR / "seeds" / "sdtm_terminology.csv"


@dataclass(frozen=True)
class Term:
    value: str
    code: str | None  # NCI C-code; None for a sponsor term
    decode: str | None


@dataclass(frozen=True)
class CodeList:
    name: str  # e.g. NY, UNIT, or a sponsor codelist's name
    code: str | None  # NCI C-code of the codelist; None for a sponsor or external codelist
    title: str
    extensible: bool
    terms: tuple[Term, ...]

    @property
    def values(self) -> set[str]:
        return {t.value for t in self.terms}

    @property
    def decoded(self) -> bool:
        """Whether a term has a decode other than itself: CodeListItems with Decode, else EnumeratedItems."""
        return any(t.decode and t.decode != t.value for t in self.terms)


def load_terminology(path: Path = TERMINOLOGY_CSV) -> dict[str, CodeList]:
    rows: dict[str, list[dict]] = {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            rows.setdefault(row["CODELIST"], []).append(row)
    codelists = {}
    for name, entries in rows.items():
        terms, seen = [], set()
        for row in entries:  # a term delivered in several forms has one row per form: one term
            if row["TERM"] in seen:
                continue
            seen.add(row["TERM"])
            terms.append(Term(row["TERM"], row["TERM_CODE"] or None, row["DECODE"] or None))
        first = entries[0]
        codelists[name] = CodeList(
            name=name, code=first["CODELIST_CODE"] or None, title=first["CODELIST_NAME"] or name,
            extensible=first["EXTENSIBLE"] == "Yes", terms=tuple(terms),
        )
    return codelists
