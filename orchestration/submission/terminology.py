"""The study's controlled terminology: the seeds dbt_project/seeds/sdtm_terminology.csv (NCI SDTM
CT 2025-03-28 and the sponsor's codelists of SDTM variables) and adam_terminology.csv (NCI ADaM CT
2026-03-27 and the sponsor's codelists of ADaM variables), one CodeList per CODELIST with its
terms in seed order. An NCI codelist (one with a CODELIST_CODE) is of its seed's CT standard.
A sponsor codelist kept as a column of another seed (ADaM's PARAMCD: parameter_catalog.csv) is
read from there (standards.SeedCodelist)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from orchestration.settings import DBT_PROJECT_DIR
from orchestration.submission.standards import CT_BY_SEED, SeedCodelist

SEEDS_DIR = DBT_PROJECT_DIR / "seeds"
TERMINOLOGY_CSV = SEEDS_DIR / "sdtm_terminology.csv"


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
    seed: str = "sdtm_terminology.csv"

    @property
    def values(self) -> set[str]:
        return {t.value for t in self.terms}

    @property
    def decoded(self) -> bool:
        """Whether a term has a decode other than itself: CodeListItems with Decode, else EnumeratedItems."""
        return any(t.decode and t.decode != t.value for t in self.terms)

    @property
    def standard(self) -> dict[str, str] | None:
        """The CT standard (def:Standard attributes) of an NCI codelist; None for a sponsor codelist."""
        return CT_BY_SEED.get(self.seed) if self.code else None


class Terminology(dict):
    """CODELIST -> CodeList of one or more seeds; `problems`: what keeps the seeds from being one
    terminology (a seed missing, a CODELIST in two seeds)."""

    def __init__(self, codelists: dict[str, CodeList], problems: list[str]):
        super().__init__(codelists)
        self.problems = problems


def load_terminology(path: Path = TERMINOLOGY_CSV) -> dict[str, CodeList]:
    """One seed's codelists."""
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
            extensible=first["EXTENSIBLE"] == "Yes", terms=tuple(terms), seed=Path(path).name,
        )
    return codelists


def load_seeds(seeds: tuple[str, ...], seed_codelists: tuple[SeedCodelist, ...] = (),
               folder: Path = SEEDS_DIR) -> Terminology:
    """The codelists of every terminology seed named (dbt_project/seeds/<seed>) and the codelists
    kept in other seeds, as one terminology."""
    codelists: dict[str, CodeList] = {}
    problems = []

    def add(codelist: CodeList) -> None:
        if codelist.name in codelists:
            problems.append(f"codelist {codelist.name} is in both {codelists[codelist.name].seed} and {codelist.seed}")
        else:
            codelists[codelist.name] = codelist

    for seed in seeds:
        path = folder / seed
        if not path.is_file():
            problems.append(f"no terminology seed {path}")
            continue
        for codelist in load_terminology(path).values():
            add(codelist)
    for kept in seed_codelists:
        path = folder / kept.seed
        if not path.is_file():
            problems.append(f"no seed {path} (codelist {kept.name})")
            continue
        add(_seed_codelist(path, kept))
    return Terminology(codelists, problems)


def _seed_codelist(path: Path, kept: SeedCodelist) -> CodeList:
    terms, seen = [], set()
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            value = row[kept.term]
            if value and value not in seen:
                seen.add(value)
                terms.append(Term(value, None, row[kept.decode] if kept.decode else None))
    return CodeList(kept.name, None, kept.title, extensible=False, terms=tuple(terms), seed=path.name)
