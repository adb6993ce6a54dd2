"""Seeded generator of malformed, hostile and unlucky DTS transfers (tests/test_fuzz_transfers.py).

Each fuzzed transfer starts as a valid transfer_factory transfer (1 to 3 subjects, a random site and
extract id, sometimes one more transfer of a site already in the landing folder, utf-8 or cp1251,
`,` or `;` with `.` or `,` decimals) and then takes 1 to 3 mutations from the palette below, applied
stage by stage: the rows, how each file is written, its bytes, what the folder holds, the manifest,
the folder names. Every mutation says what the warehouse should do with the transfer per README.md
("What the sites send", "When a transfer is rejected"):

- LOAD:   still a valid transfer, only odd (hostile values in quoted fields, hostile extra column
          names, CRLF, a BOM, decimal commas, header-only files, extra manifest fields, ...): it must
          be LOADED, and then flows through dbt, the gates and publishing;
- REJECT: it breaks a rule (or is not a transfer folder delivered into the landing): REJECTED;
- EITHER: the rules do not settle it (blank lines, lone CRs, NUL bytes, random bytes with a manifest
          that agrees, ...): LOADED or REJECTED, but logged;
- ABSENT: no manifest.json yet (still arriving): never logged. A later call may complete it (its
          manifest is renamed into place, as a delivery finishes).

Not in the palette: files of mode 000 (the tests run as root, which reads them; tested elsewhere) and
hidden folders (`.KZ01/`: the warehouse does not take them for transfers at all).

The generator is deterministic for a seed (`write_fuzzed_transfers(landing, count, seed)`), given the
same landing folder; REGENHEART_FUZZ_SEED replays a seed in the test.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from orchestration import dts
from transfer_factory import minimal_rows, read_manifest, write_transfer

SEED_ENV = "REGENHEART_FUZZ_SEED"
LOAD, REJECT, EITHER, ABSENT = "load", "reject", "either", "absent"
PENDING_MANIFEST = "manifest.json.partial"  # an incomplete transfer's manifest, renamed into place later
RESERVED_SITES = ("GOOD01",)  # the test's own good site: never fuzzed

_LOAD_COLUMNS = ("SITEID", "EXTRACT_ID", "SOURCE_FILE", "SOURCE_LINE", "LOADED_AT", "ROWID")
_KEY_COLUMNS = ("RECID", "SUBJID")
_DATE_COLUMNS = {"CONSDT", "EXSTDTC", "SVSTDTC", "ECHODTC", "CTDTC", "LBDTC", "FSDTC", "QSDTC", "AESTDTC",
                 "AEENDTC", "DSSTDTC"}


# --- what the generator writes and says ------------------------------------------------------------


@dataclass
class FuzzedTransfer:
    path: Path  # the transfer folder as it lies in the landing folder (a hostile name, maybe a link)
    mutations: list[str]  # each mutation with its target and detail, in the order applied
    expect: str  # LOAD, REJECT, EITHER or ABSENT
    seed: int

    def describe(self) -> str:
        return f"{self.path.parent.name!r}/{self.path.name!r} expect {self.expect}: " + "; ".join(self.mutations)


def write_fuzzed_transfers(landing: Path, count: int, seed: int) -> list[Path]:
    """Write `count` fuzzed transfers into `landing`; their folders."""
    return [t.path for t in fuzz_transfers(landing, count, seed)]


def fuzz_transfers(landing: Path, count: int, seed: int, exclude: Iterable[str] = ()) -> list[FuzzedTransfer]:
    """Write `count` fuzzed transfers into `landing` (and complete some transfers an earlier call left
    without manifest); what each one is and what should become of it. `exclude` names mutations of
    the palette not to use (e.g. to look past a known bug; REGENHEART_FUZZ_EXCLUDE in the test)."""
    unknown = set(exclude) - {m.name for m in PALETTE}
    if unknown:
        raise ValueError(f"no such mutation: {sorted(unknown)}; the palette: {[m.name for m in PALETTE]}")
    palette = [m for m in PALETTE if m.name not in set(exclude)]
    rng = random.Random(seed)
    landing.mkdir(parents=True, exist_ok=True)
    outside = outside_folder(landing)
    outside.mkdir(parents=True, exist_ok=True)
    written = _complete_pending(landing, rng, seed)
    for _ in range(count):
        written.append(_fuzz_one(landing, outside, rng, seed, palette))
    return written


def outside_folder(landing: Path) -> Path:
    """Where symbolic links of fuzzed transfers point when they point out of the landing folder."""
    return landing.parent / f"{landing.name}-outside"


# --- one transfer -----------------------------------------------------------------------------------


@dataclass
class _File:
    header: list[str]
    rows: list[list[str]]
    line_end: str = "\n"
    bom: bool = False
    quote_all: bool = False
    blank_lines: list[int] = field(default_factory=list)  # record indexes a blank line goes after
    trailing_blank: bool = False
    encoding: str | None = None  # written in another encoding than the manifest's
    delimiter: str | None = None  # written with another delimiter than the manifest's
    raw: bytes | None = None  # the bytes, once a byte-level mutation set them
    rows_claim: int | None = None  # the manifest's row count, when it is not the rows written
    sha_claim: str | None = None  # the manifest's sha256, when it is not the bytes' (stale)
    node: tuple | None = None  # ("folder",), ("fifo",), ("symlink", target), ("absent",)
    rejected_for: str | None = None  # the stage-2 mutation whose defect rejects this file


@dataclass
class _Draft:
    rng: random.Random
    landing: Path
    outside: Path
    site: str
    extract: str
    encoding: str
    delimiter: str
    decimal: str
    files: dict[str, _File] = field(default_factory=dict)  # by domain
    unlisted: list[tuple[str, tuple]] = field(default_factory=list)  # (name, node) not in the manifest
    extra_listed: list[tuple[dict, tuple | bytes | None]] = field(default_factory=list)  # (entry, content)
    manifest_edits: list[Callable[[dict], None]] = field(default_factory=list)
    manifest_fields_edited: set[str] = field(default_factory=set)  # top-level fields an edit sets or removes
    manifest_text: list[Callable[[str], str]] = field(default_factory=list)  # rewrites of the JSON text
    manifest_bytes: bytes | None = None  # replaces manifest.json whole
    manifest_node: tuple | None = None  # manifest.json as something else than a regular file
    site_name: str | None = None  # hostile folder names
    extract_name: str | None = None
    ids_follow_names: bool = False  # the manifest's ids say the hostile folder names
    folder_link: str | None = None  # "site" or "extract": the folder is a symbolic link
    incomplete: bool = False
    manifest_size: int = 0
    clutter: list[Callable[[Path], None]] = field(default_factory=list)

    def bytes_of(self, domain: str) -> bytes:
        f = self.files[domain]
        if f.raw is not None:
            return f.raw
        return self.render(f, _serialize(f, f.delimiter or self.delimiter))

    def render(self, f: _File, text: str) -> bytes:
        """`text` as the file's bytes: its encoding (another one than the manifest's cannot encode
        everything: `?` then), and a UTF-8 BOM's bytes in front when it has one, whatever the encoding."""
        data = text.encode(self.encoding, "surrogateescape") if f.encoding is None else text.encode(f.encoding, "replace")
        return (b"\xef\xbb\xbf" if f.bom else b"") + data

    def edit_fields(self, *names: str) -> bool:
        """Whether the manifest's `names` are still as written, claiming them for this mutation's edit:
        a second edit of a field would overwrite the first and the first's expectation with it."""
        if self.manifest_fields_edited.intersection(names):
            return False
        self.manifest_fields_edited.update(names)
        return True

    def pick_domain(self, *, with_rows: bool = False, regular: bool = True, sound: bool = False) -> str | None:
        """A file to mutate; `sound`: none whose bytes already carry a defect that rejects it (a byte
        edit after it, a cut or an inserted quote, may take the defect away and its verdict with it)."""
        domains = [d for d, f in self.files.items() if (not with_rows or f.rows) and (not regular or f.node is None)
                   and not (sound and f.rejected_for)]
        return self.rng.choice(domains) if domains else None


def _fuzz_one(landing: Path, outside: Path, rng: random.Random, seed: int, palette: list[_Mutation]) -> FuzzedTransfer:
    site, extract = _new_ids(landing, rng)
    encoding = "cp1251" if rng.random() < 0.2 else "utf-8"
    delimiter, decimal = rng.choices([(",", "."), (";", ","), (";", ".")], weights=[7, 2, 1])[0]
    subjects = [f"{n:03d}" for n in rng.sample(range(1, 1000), rng.randint(1, 3))]
    rows: dict[str, list[dict[str, str]]] = {domain: [] for domain in dts.DTS_FILES}
    for subject in subjects:
        for domain, subject_rows in minimal_rows(subject, lvef=rng.choice(["27.5", "31", "45.2"])).items():
            rows[domain] += subject_rows
    if decimal == ",":
        for domain, columns in dts.NUMERIC_COLUMNS.items():
            for row in rows[domain]:
                for column in columns:
                    row[column] = row[column].replace(".", ",")
    # the valid transfer every fuzzed one starts from
    folder = write_transfer(landing, site, extract, rows, encoding=encoding, delimiter=delimiter,
                            decimal_separator=decimal)
    draft = _Draft(rng, landing, outside, site, extract, encoding, delimiter, decimal)
    for domain, columns in dts.REQUIRED_COLUMNS.items():
        draft.files[domain] = _File(list(columns), [[row[c] for c in columns] for row in rows[domain]])

    chosen = _choose_mutations(rng, palette)
    descriptions, expectations = [], []
    for mutation in sorted(chosen, key=lambda m: m.stage):
        outcome = mutation.apply(draft)
        if outcome is None:
            continue
        description, expect = outcome
        descriptions.append(f"{mutation.name}({description})")
        expectations.append(expect)
    if not descriptions:  # nothing applied: make it odd at least
        description, expect = _m_odd_value(draft) or ("no data row to make odd", LOAD)
        descriptions.append(f"odd-value({description})")
        expectations.append(expect)

    path = _materialize(draft, folder)
    if REJECT in expectations:
        expect = REJECT
    elif EITHER in expectations or draft.manifest_size > (1 << 20):  # README sets no size limit on a manifest
        expect = EITHER
    else:
        expect = LOAD
    if draft.incomplete:
        _remember_pending(landing, FuzzedTransfer(path, descriptions, expect, seed))
        expect = ABSENT
    return FuzzedTransfer(path, descriptions, expect, seed)


def _new_ids(landing: Path, rng: random.Random) -> tuple[str, str]:
    existing = sorted(
        p.name for p in landing.iterdir()
        if p.is_dir() and not p.is_symlink() and dts.SITE_ID_PATTERN.fullmatch(p.name) and p.name not in RESERVED_SITES
    ) if landing.is_dir() else []
    while True:
        if existing and rng.random() < 0.3:
            site = rng.choice(existing)  # one more transfer of a site already delivering
        else:
            alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
            site = "".join(rng.choice(alphabet) for _ in range(rng.randint(2, 8)))
        # after every date of transfer_factory's rows (the latest, DSSTDTC, is 2020-09-20): see early-extract-id
        extract = (f"{rng.randint(2021, 2025)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
                   f"T{rng.randint(0, 23):02d}{rng.randint(0, 59):02d}{rng.randint(0, 59):02d}Z")
        if site not in RESERVED_SITES and not os.path.lexists(landing / site / extract):
            return site, extract


def _pending_list(landing: Path) -> Path:
    return outside_folder(landing) / "pending-transfers.json"


def _remember_pending(landing: Path, transfer: FuzzedTransfer) -> None:
    listed = _pending_list(landing)
    pending = json.loads(listed.read_text()) if listed.exists() else []
    pending.append({"path": str(transfer.path.relative_to(landing)), "mutations": transfer.mutations, "expect": transfer.expect})
    listed.write_text(json.dumps(pending, ensure_ascii=True))


def _complete_pending(landing: Path, rng: random.Random, seed: int) -> list[FuzzedTransfer]:
    """Transfers an earlier call left still arriving: most of them finish arriving now (their manifest
    renamed into place, whatever it is); they should then become what they would have become."""
    listed = _pending_list(landing)
    if not listed.exists():
        return []
    completed, still = [], []
    for entry in json.loads(listed.read_text()):
        folder = landing / entry["path"]
        if rng.random() < 0.8:
            os.rename(folder / PENDING_MANIFEST, folder / dts.MANIFEST_NAME)
            mutations = entry["mutations"] + ["completed-later(manifest.json renamed into place)"]
            completed.append(FuzzedTransfer(folder, mutations, entry["expect"], seed))
        else:
            still.append(entry)
    listed.write_text(json.dumps(still, ensure_ascii=True))
    return completed


# --- the palette ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Mutation:
    name: str
    stage: int  # 1 rows, 2 writing, 3 bytes, 4 folder content, 5 manifest, 6 folder names
    weight: float
    apply: Callable[[_Draft], tuple[str, str] | None]


PALETTE: list[_Mutation] = []


def _mutation(name: str, stage: int, weight: float = 1.0):
    def register(function):
        PALETTE.append(_Mutation(name, stage, weight, function))
        return function
    return register


def _choose_mutations(rng: random.Random, palette: list[_Mutation]) -> list[_Mutation]:
    count = min(rng.choice([1, 1, 1, 2, 2, 3]), len(palette))
    chosen: list[_Mutation] = []
    while len(chosen) < count:
        mutation = rng.choices(palette, weights=[m.weight for m in palette])[0]
        if mutation not in chosen:
            chosen.append(mutation)
    return chosen


# Pieces of hostile text: control characters, quotes and delimiters, other scripts, emoji, injection
# attempts, numbers and dates no parser expects.
VALUE_PIECES = [
    "\x00", "\r", "\n", "\r\n", "\t", '"', '""', "'", ",", ";", "\\", "\\N", "|", "Боль в груди", "Ёжик",
    "日本語", "😀", "👩\u200d⚕️", "\u202e", "\u200b", "\ufeff", "e\u0301", "ß", "\u212a", "Ａ", "١٢٣", " ", "   ",
    "NULL", "null", "NA", "N/A", "-", ".", "NaN", "inf", "-0", "1e309", "0x1F", "1_000", "27,5", "27.5.5", "--",
    "' OR '1'='1", "'; DROP TABLE raw.dm; --", '"; DROP TABLE raw.transfer_log; --', "$1", "?", ":name", "%s%n",
    "{0}", "${jndi:x}", "<script>alert(1)</script>", "2020-02-30", "2020-13-01", "0000-00-00", "9999-12-31T23:59:59",
    "2020-03-18T25:61", "2020-03-18T08:00+14:00", "20200318", "2020", "2020-03", "1969-12-31", "-2020-01-01",
    "\x1b[31m", "\x7f", "\x85", "\u2028", "\udcff",
]
NUMBER_PIECES = ["1e309", "-1e309", "NaN", "inf", "-0", "0x1F", "1_000", "27,5", "27.5.5", "٣٢", "３２", "1e-400",
                 "99999999999999999999999999", "-5", " 27.5 ", "27.5%", "<8", ">35000", "<", "+", "1,000.5"]
DATE_PIECES = ["2020-02-30", "2020-13-01", "0000-00-00", "9999-12-31T23:59:59", "2020-03-18T25:61",
               "2020-03-18T08:00+14:00", "20200318", "2020", "2020-03", "1969-12-31", "-2020-01-01", "2020-03-18 08:00",
               "2020-03-18T08:00:00.123456789", "18.03.2020", "2020-03-18T", "T08:00", "2020-W12", "٢٠٢٠-٠٣-١٨",
               "2020-03-18\u200b", "1582-10-10", "294277-01-01"]
COLUMN_NAMES = [
    'a"b', "x;y", "x,y", "'; DROP TABLE raw.dm; --", 'A" VARCHAR; DROP TABLE raw.dm; --', "Ünïcödé", "名前", "😀",
    "col with spaces", "  padded  ", "SITEID", "extract_id", "Source_File", "SOURCE_LINE", "LOADED_AT", "rowid",
    "SRC_SITEID", "c0", "c1", "position", "VALID_FROM", "VALID_TO", "ROW_HASH", "USUBJID", "STUDYID", "SELECT", "from",
    "NULL", "*", "a.b", "$1", "?", "\\", "x" * 300, "ß", "\u212a", "\ufeffBOMCOL", "\u200bZW", "new\nline",
    "tab\tname", "NUL\x00", "\x1b[31mred", "Ａ", "ſubjid", "ı", "PATIENT_NAME", "recid2", "LVEF", "AETERM", "VISIT ",
    "SUBJID\u00a0", "Ё", "ё", "_", "1", "-", "%", "'", '"', "TRANSFER_NO", "RUN", "TABLE", "SITE_LATEST_EXTRACT",
]
HOSTILE_SITE_NAMES = [
    "kz01", "Kz01", "K", "ABCDEFGHI", "KZ 01", " KZ01", "KZ01 ", "KZ'01", 'KZ"01', "KZ;01", "KZ,01",
    "KZ01;DROP TABLE raw.dm", "'; DROP TABLE raw.transfer_log; --", "КЗ01", "KZ٠١", "ＫＺ０１", "KZ\u200b01", "😀KZ",
    "KZ\n01", "KZ\t01", "KZ\r", "KZ\x1b[31m", "A" * 255, "KZ\udcff01", "KZ\\01", "-KZ01", "KZ-01", "KZ_01", "%s%n",
    "$(touch x)", "*", "~KZ", "KZ01\u0301", "KZ\u202e10", "\u202eKZ01",
]
HOSTILE_EXTRACT_NAMES = [
    "2021-01-01T020000Z", "20210101T020000z", "20210101t020000Z", "20210101T020000", "20210101T0200000Z",
    "20210101 020000Z", "20210101T020000Z ", " 20210101T020000Z", "20210101T020000Z;DROP TABLE raw.dm",
    "'; DROP TABLE raw.transfer_log; --", "20210101T020000Z\n", "20210101T020000Ж",
    "😀", "x" * 255, "20210101T02\udcff0000Z", "latest", "20210101T020000Z.tmp", "20210101T020000Z\u200b",
    "\u202eZ000020T10101202",
]


def _text(rng: random.Random, encoding: str, *, allow_nul: bool = True, pool: list[str] = VALUE_PIECES) -> str:
    """1 to 4 hostile pieces encodable in `encoding`, sometimes with a long run."""
    pieces = [p for p in pool if _encodable(p, encoding) and (allow_nul or "\x00" not in p)]
    text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 4)))
    if rng.random() < 0.1:
        run = rng.choice(["A", "Я", "😀", '"', ",", " "])
        if _encodable(run, encoding):
            text += run * rng.choice([1000, 50_000])
    return text


def _encodable(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
        return True
    except UnicodeError:
        return False


def _has_control(text: str) -> bool:
    return any(ord(ch) < 32 or ord(ch) == 127 or 0x80 <= ord(ch) < 0xA0 for ch in text)


def _index(f: _File, column: str) -> int | None:
    """Where the header names `column` (as README matches names), if it does."""
    normalized = [_normalized(c) for c in f.header]
    return normalized.index(column) if column in normalized else None


def _normalized(name: str) -> str:
    """README: columns matched case-insensitively after trimming; a load column's name gets SRC_."""
    normalized = name.strip().upper()
    return f"SRC_{normalized}" if normalized in _LOAD_COLUMNS else normalized


# Stage 1: the rows and the header, as data --------------------------------------------------------


@_mutation("odd-value", 1, 4)
def _m_odd_value(d: _Draft):
    """Hostile text in a quoted field: a valid transfer (NUL and \\udcff aside)."""
    domain = d.pick_domain(with_rows=True)
    if domain is None:
        return None
    f = d.files[domain]
    row = d.rng.randrange(len(f.rows))
    candidates = [i for i, c in enumerate(f.header) if _normalized(c) not in _KEY_COLUMNS]
    index = d.rng.choice(candidates)
    column = _normalized(f.header[index])
    pool = NUMBER_PIECES if column in dts.NUMERIC_COLUMNS.get(domain, ()) and d.rng.random() < 0.5 else (
        DATE_PIECES if column in _DATE_COLUMNS and d.rng.random() < 0.5 else VALUE_PIECES)
    value = _text(d.rng, d.encoding, pool=pool)
    if d.rng.random() < 0.5:
        value = f.rows[row][index] + value
    f.rows[row][index] = value
    if d.rng.random() < 0.3:
        f.quote_all = True
    # a NUL is a byte no rule names: taken or refused, it must be logged
    return f"{domain}.csv row {row + 1} {column}={_short(value)}", EITHER if "\x00" in value else LOAD


def _a_recid(d: _Draft):
    """A file with rows and a RECID column, a row of it, and the RECID column's position."""
    domain = d.pick_domain(with_rows=True)
    if domain is None:
        return None
    f = d.files[domain]
    row, recid = d.rng.randrange(len(f.rows)), _index(f, "RECID")
    return None if recid is None else (domain, f, row, recid)


@_mutation("odd-recid", 1, 1)
def _m_odd_recid(d: _Draft):
    """Hostile text around a RECID, still unique in its file."""
    picked = _a_recid(d)
    if picked is None:
        return None
    domain, f, row, recid = picked
    value = _text(d.rng, d.encoding, allow_nul=False) + f.rows[row][recid] + "#" + str(row)
    f.rows[row][recid] = value
    return f"{domain}.csv row {row + 1} RECID={_short(value)}", LOAD


@_mutation("blank-recid", 1, 0.5)
def _m_blank_recid(d: _Draft):
    picked = _a_recid(d)
    if picked is None:
        return None
    domain, f, row, recid = picked
    f.rows[row][recid] = d.rng.choice(["", " ", "  "])
    return f"{domain}.csv row {row + 1} RECID blank", EITHER


@_mutation("hostile-subject", 1, 2)
def _m_hostile_subject(d: _Draft):
    """A subject id of hostile text, the same in every file: a valid transfer."""
    subjects = sorted({row[_index(f, "SUBJID")] for f in d.files.values() for row in f.rows
                       if _index(f, "SUBJID") is not None})
    if not subjects:
        return None
    old = d.rng.choice(subjects)
    new = _text(d.rng, d.encoding, allow_nul=False)
    if not new.strip(" "):
        new = "S" + new
    for f in d.files.values():
        subjid, recid = _index(f, "SUBJID"), _index(f, "RECID")
        for row in f.rows:
            if subjid is not None and row[subjid] == old:
                row[subjid] = new
                if recid is not None:
                    row[recid] = row[recid] + "-" + new  # RECIDs stay unique
    return f"SUBJID {old} -> {_short(new)}", LOAD


@_mutation("orphan-record", 1, 1)
def _m_orphan(d: _Draft):
    """A record of a subject the site's dm.csv does not have: a data issue, not a rejection."""
    domain = d.rng.choice([x for x in dts.DTS_FILES if x != "dm"])
    f = d.files[domain]
    subjid, recid = _index(f, "SUBJID"), _index(f, "RECID")
    if not f.rows or subjid is None or recid is None:
        return None
    row = list(d.rng.choice(f.rows))
    row[recid], row[subjid] = row[recid] + "-ORPHAN", "999"
    f.rows.append(row)
    return f"{domain}.csv row for unknown SUBJID 999", LOAD


@_mutation("extra-column", 1, 4)
def _m_extra_column(d: _Draft):
    """A hostile extra column name: kept in raw (README); only a name taken twice is rejected."""
    domain = d.pick_domain()
    f = d.files[domain]
    name = d.rng.choice(COLUMN_NAMES)
    if not _encodable(name, d.encoding):
        name = "EXTRA_" + str(len(f.header))
    taken = [_normalized(c) for c in f.header]
    normalized = _normalized(name)
    f.header.append(name)
    for row in f.rows:
        row.append(_text(d.rng, d.encoding, allow_nul=False) if d.rng.random() < 0.5 else "x")
    if not normalized or normalized in taken:
        return f"{domain}.csv column {name!r} (taken or empty)", REJECT
    return f"{domain}.csv column {name!r}", EITHER if _has_control(name) else LOAD


@_mutation("many-columns", 1, 0.3)
def _m_many_columns(d: _Draft):
    domain = d.pick_domain()
    f = d.files[domain]
    count = d.rng.choice([100, 600])
    f.header += [f"X{i}" for i in range(count)]
    for row in f.rows:
        row += [""] * count
    return f"{domain}.csv {count} extra columns", LOAD if len(f.header) <= 500 else REJECT


@_mutation("header-case", 1, 2)
def _m_header_case(d: _Draft):
    """Required names in other case, padded, reordered: README matches them case-insensitively after trimming."""
    domain = d.pick_domain()
    f = d.files[domain]
    style = d.rng.choice(["lower", "title", "pad", "reorder"])
    if style == "reorder":
        order = list(range(len(f.header)))
        d.rng.shuffle(order)
        f.header = [f.header[i] for i in order]
        f.rows = [[row[i] for i in order] for row in f.rows]
    else:
        change = {"lower": str.lower, "title": str.title, "pad": lambda c: f" {c}  "}[style]
        f.header = [change(c) if c.upper() in dts.REQUIRED_COLUMNS[domain] else c for c in f.header]
    return f"{domain}.csv header {style}", LOAD


@_mutation("duplicate-row", 1, 1)
def _m_duplicate_row(d: _Draft):
    picked = _a_recid(d)
    if picked is None:
        return None
    domain, f, row, recid = picked
    copy = list(f.rows[row])
    if d.rng.random() < 0.5:
        other = d.rng.choice([i for i in range(len(copy)) if i != recid] or [recid])
        copy[other] = copy[other] + "changed"
    f.rows.insert(d.rng.randint(0, len(f.rows)), copy)
    if not copy[recid].strip(" "):
        return f"{domain}.csv row {row + 1} twice (blank RECID)", EITHER
    return f"{domain}.csv row {row + 1} twice (same RECID {_short(copy[recid])})", REJECT


@_mutation("duplicate-column", 1, 1)
def _m_duplicate_column(d: _Draft):
    domain = d.pick_domain()
    f = d.files[domain]
    index = d.rng.randrange(len(f.header))
    name = f.header[index]
    twin = d.rng.choice([name, name.lower(), f" {name}"])
    f.header.append(twin)
    for row in f.rows:
        row.append(row[index])
    return f"{domain}.csv column {name!r} again as {twin!r}", REJECT


def _a_required_column(d: _Draft):
    """A file and one of its required columns, as its header spells it."""
    domain = d.pick_domain()
    f = d.files[domain]
    names = [_normalized(c) for c in f.header]
    # a column with a twin (duplicate-column) is not picked: dropping or renaming one of the two
    # would leave the other, a file that loads
    required = [c for c in f.header if _normalized(c) in dts.REQUIRED_COLUMNS[domain] and names.count(_normalized(c)) == 1]
    return (domain, f, d.rng.choice(required)) if required else None


@_mutation("drop-column", 1, 1)
def _m_drop_column(d: _Draft):
    picked = _a_required_column(d)
    if picked is None:
        return None
    domain, f, name = picked
    index = f.header.index(name)
    del f.header[index]
    for row in f.rows:
        del row[index]
    return f"{domain}.csv without {name}", REJECT


@_mutation("rename-column", 1, 1)
def _m_rename_column(d: _Draft):
    picked = _a_required_column(d)
    if picked is None:
        return None
    domain, f, name = picked
    homoglyphs = name.translate(str.maketrans("ACEHIKMOPTXY", "АСЕНІКМОРТХУ"))  # Cyrillic look-alikes
    new = d.rng.choice([name.strip() + "2", name.strip()[:-1], homoglyphs if homoglyphs != name else name + "_",
                        "\u200b" + name, name + "\x00", ""])
    f.header[f.header.index(name)] = new
    if not _encodable(new, d.encoding):
        f.encoding = "utf-8"  # cannot be written otherwise: the file is also in the wrong encoding
    return f"{domain}.csv {name} renamed {new!r}", REJECT


@_mutation("header-only", 0, 1.5)  # before the other row mutations: it takes the rows away
def _m_header_only(d: _Draft):
    domains = d.rng.sample(list(d.files), d.rng.choice([1, 1, 3, len(d.files)]))
    for domain in domains:
        d.files[domain].rows = []
    return f"no data rows in {', '.join(domains)}", LOAD


@_mutation("ragged-row", 1, 1)
def _m_ragged_row(d: _Draft):
    domain = d.pick_domain(with_rows=True)
    if domain is None:
        return None
    f = d.files[domain]
    row = d.rng.randrange(len(f.rows))
    if d.rng.random() < 0.5:
        f.rows[row] = f.rows[row] + ["surplus"]
        return f"{domain}.csv row {row + 1} one field too many", REJECT
    f.rows[row] = f.rows[row][:-1]
    return f"{domain}.csv row {row + 1} one field short", REJECT


@_mutation("long-value", 1, 0.5)
def _m_long_value(d: _Draft):
    domain = d.pick_domain(with_rows=True)
    if domain is None:
        return None
    f = d.files[domain]
    size = d.rng.choice([100_000, 1_500_000, 3_000_000])
    run = d.rng.choice(["A", "Я", '"', ",\n"])
    if not _encodable(run, d.encoding):
        run = "A"
    column = d.rng.choice([i for i, c in enumerate(f.header) if _normalized(c) not in _KEY_COLUMNS])
    f.rows[0][column] = run * (size // len(run.encode(d.encoding)))
    # DuckDB's reader takes records of up to 2 MB (its max_line_size): beyond, the rules do not say
    return f"{domain}.csv a {size}-byte field of {run!r}", LOAD if size < 1_000_000 else EITHER


# Stage 2: how the files are written ---------------------------------------------------------------


@_mutation("line-endings", 2, 1.5)
def _m_line_endings(d: _Draft):
    ending = d.rng.choice(["\r\n", "\r"])
    domains = [d.pick_domain()] if d.rng.random() < 0.5 else list(d.files)
    for domain in domains:
        d.files[domain].line_end = ending
    return f"{', '.join(domains)} with {ending!r} line endings", LOAD if ending == "\r\n" else EITHER


@_mutation("bom", 2, 1)
def _m_bom(d: _Draft):
    domain = d.pick_domain()
    d.files[domain].bom = True
    return f"{domain}.csv with a BOM", LOAD if d.encoding == "utf-8" else EITHER


@_mutation("blank-lines", 2, 1.5)
def _m_blank_lines(d: _Draft):
    domain = d.pick_domain()
    f = d.files[domain]
    where = d.rng.choice(["middle", "end", "both"])
    if where in ("middle", "both") and f.rows:
        f.blank_lines = sorted(d.rng.sample(range(len(f.rows)), min(len(f.rows), d.rng.randint(1, 2))))
    if where in ("end", "both"):
        f.trailing_blank = True
    return f"{domain}.csv blank lines ({where})", EITHER


@_mutation("unterminated-quote", 2, 1)
def _m_unterminated_quote(d: _Draft):
    domain = d.pick_domain(with_rows=True)
    if domain is None:
        return None
    f = d.files[domain]
    row = d.rng.randrange(len(f.rows))
    position = d.rng.randrange(len(f.rows[row]))
    original, sentinel = f.rows[row][position], "\x01UNTERMINATED\x01"
    f.rows[row][position] = sentinel
    text = _serialize(f, f.delimiter or d.delimiter)
    f.rows[row][position] = original
    f.raw = d.render(f, text.replace(f'"{sentinel}"', '"' + original.replace('"', ""), 1))
    f.rows_claim = len(f.rows)
    f.rejected_for = "unterminated-quote"
    return f"{domain}.csv row {row + 1} field {position + 1} opens a quote it never closes", REJECT


@_mutation("empty-file", 2, 1)
def _m_empty_file(d: _Draft):
    domain = d.pick_domain()
    f = d.files[domain]
    f.raw = d.rng.choice([b"", b"\n", b"\r\n", "\ufeff".encode(), b" "])
    f.rows_claim = 0
    f.rejected_for = "empty-file"
    return f"{domain}.csv is {f.raw!r}", REJECT


@_mutation("trailing-delimiter", 2, 0.5)
def _m_trailing_delimiter(d: _Draft):
    domain = d.pick_domain()
    f = d.files[domain]
    delimiter = f.delimiter or d.delimiter
    text = _serialize(f, delimiter)
    f.raw = d.render(f, text.replace(f.line_end, delimiter + f.line_end))
    f.rows_claim = len(f.rows)
    f.rejected_for = "trailing-delimiter"
    return f"{domain}.csv every line ends with {delimiter!r} (an unnamed column)", REJECT


@_mutation("wrong-delimiter", 2, 1)
def _m_wrong_delimiter(d: _Draft):
    domain = d.pick_domain()
    d.files[domain].delimiter = {",": ";", ";": ","}[d.delimiter] if d.rng.random() < 0.7 else "\t"
    d.files[domain].rejected_for = "wrong-delimiter"
    return f"{domain}.csv written with {d.files[domain].delimiter!r}, the manifest says {d.delimiter!r}", REJECT


@_mutation("wrong-encoding", 2, 1)
def _m_wrong_encoding(d: _Draft):
    f = d.files["ae"]
    if not f.rows or not any(not c.isascii() for row in f.rows for c in row):
        return None
    f.encoding = {"utf-8": "cp1251", "cp1251": "utf-8"}[d.encoding]
    f.rejected_for = "wrong-encoding" if d.encoding == "utf-8" else None
    # utf-8 bytes of Cyrillic mostly decode as cp1251 (mojibake): only the other way round is sure to fail
    return f"ae.csv written in {f.encoding}, the manifest says {d.encoding}", REJECT if d.encoding == "utf-8" else EITHER


# Stage 3: the bytes --------------------------------------------------------------------------------


RANDOM_BYTES = [b"\x00", b"\r", b"\n", b"\r\n", b'"', b",", b";", b"\xff\xfe", b"\xc3", b"\xd0\xb1", b"\xef\xbb\xbf",
                "Боль".encode("cp1251"), "😀".encode(), b"\x98", b"\x1b[2J", b"\\", b"'", b"\t"]


def _random_bytes(rng: random.Random) -> bytes:
    data = b"".join(rng.choice(RANDOM_BYTES) for _ in range(rng.randint(1, 4)))
    if rng.random() < 0.3:
        data += rng.randbytes(rng.randint(1, 16))
    if rng.random() < 0.1:
        data += rng.choice([b"A", b'"', b"\x00"]) * rng.choice([1000, 100_000])
    return data


@_mutation("random-bytes", 3, 3)
def _m_random_bytes(d: _Draft):
    domain = d.pick_domain(sound=True)
    if domain is None:
        return None
    f = d.files[domain]
    before = d.bytes_of(domain)
    header_end = before.find(b"\n") if b"\n" in before else len(before)
    where = d.rng.choice(["header", "field"])
    if where == "header" or header_end >= len(before) - 1:
        where, position = "header", d.rng.randint(0, max(header_end, 0))
    else:
        position = d.rng.randint(header_end + 1, len(before) - 1)
    data = _random_bytes(d.rng)
    f.raw = before[:position] + data + before[position:]
    agree = d.rng.random() < 0.6
    if agree:
        f.rows_claim = _count_rows(f.raw, f.encoding or d.encoding, f.delimiter or d.delimiter, len(f.rows))
    elif f.sha_claim is None:
        f.sha_claim = _sha256(before)
    return (f"{domain}.csv {data[:40]!r}{'...' if len(data) > 40 else ''} ({len(data)} bytes) at byte {position} "
            f"({where}), manifest {'agrees' if agree else 'stale'}"), EITHER if agree else REJECT


@_mutation("truncate", 3, 1.5)
def _m_truncate(d: _Draft):
    domain = d.pick_domain(sound=True)
    if domain is None:
        return None
    f = d.files[domain]
    before = d.bytes_of(domain)
    if len(before) < 2:
        return None
    cut = d.rng.randrange(1, len(before))
    f.raw = before[:cut]
    agree = d.rng.random() < 0.6
    if agree:
        f.rows_claim = _count_rows(f.raw, f.encoding or d.encoding, f.delimiter or d.delimiter, len(f.rows))
    elif f.sha_claim is None:
        f.sha_claim = _sha256(before)
    return f"{domain}.csv cut to {cut} of {len(before)} bytes, manifest {'agrees' if agree else 'stale'}", \
        EITHER if agree else REJECT


@_mutation("flip-byte", 3, 1)
def _m_flip_byte(d: _Draft):
    domain = d.pick_domain()
    f = d.files[domain]
    before = d.bytes_of(domain)
    if not before:
        return None
    position = d.rng.randrange(len(before))
    f.raw = before[:position] + bytes([before[position] ^ d.rng.randint(1, 255)]) + before[position + 1:]
    if f.sha_claim is None:
        f.sha_claim = _sha256(before)
    return f"{domain}.csv byte {position} changed, manifest stale", REJECT


@_mutation("row-count", 3, 1)
def _m_row_count(d: _Draft):
    domain = d.pick_domain()
    f = d.files[domain]
    actual = f.rows_claim if f.rows_claim is not None else len(f.rows)
    f.rows_claim = max(0, actual + d.rng.choice([-1, 1, 2, 1000]))
    if f.rows_claim == actual:
        f.rows_claim = actual + 1
    return f"{domain}.csv rows {actual} claimed as {f.rows_claim}", REJECT


# Stage 4: what the folder holds --------------------------------------------------------------------


@_mutation("file-node", 4, 2)
def _m_file_node(d: _Draft):
    """A listed file replaced by something that is not a regular file of the transfer."""
    domain = d.pick_domain()
    f = d.files[domain]
    kind = d.rng.choice(["folder", "fifo", "link-outside", "link-inside", "link-good", "dangling", "absent"])
    name = dts.file_name(domain)
    if kind == "folder":
        f.node = ("folder",)
    elif kind == "fifo":
        f.node = ("fifo",)
    elif kind == "link-outside":  # the same bytes, beside the landing folder: the sha256 agrees
        f.node = ("symlink-outside", d.bytes_of(domain))
    elif kind == "link-inside":  # to an unlisted copy in the same folder
        f.node = ("symlink", f"{name}.orig", d.bytes_of(domain))
    elif kind == "link-good":  # to another transfer's file in the landing folder
        good = sorted(d.landing.glob(f"GOOD01/*/{name}"))
        f.node = ("symlink", str(good[0])) if good else ("fifo",)
    elif kind == "dangling":
        f.node = ("symlink", d.rng.choice(["nowhere.csv", "/nonexistent/x.csv", "../../../../etc/shadow-nope"]))
    else:
        f.node = ("absent",)
    target = f" -> {f.node[1]}" if f.node[0] == "symlink" else ""
    return f"{name} is {kind}{target}", REJECT


@_mutation("manifest-node", 4, 1)
def _m_manifest_node(d: _Draft):
    kind = d.rng.choice(["fifo", "folder", "link-outside", "dangling"])
    d.manifest_node = (kind,)
    return f"manifest.json is {kind}", REJECT


@_mutation("unlisted-extras", 4, 1.5)
def _m_unlisted(d: _Draft):
    """Things in the folder the manifest does not list: ignored (README), so a valid transfer."""
    extras = []
    for _ in range(d.rng.randint(1, 3)):
        kind = d.rng.choice(["fifo", "link-outside", "dangling", "folder", "notes", "copy", "case"])
        name = {"fifo": "extra.pipe", "link-outside": "elsewhere.csv", "dangling": "gone.csv", "folder": "old",
                "notes": "notes.txt", "copy": "dm.csv.bak", "case": "DM.CSV"}[kind]
        if any(n == name for n, _ in d.unlisted):
            continue
        node = {"fifo": ("fifo",), "link-outside": ("symlink-outside", b"RECID\n1\n"),
                "dangling": ("symlink", "missing-target"), "folder": ("folder",)}.get(kind, ("file", _text(
                    d.rng, "utf-8").encode("utf-8", "surrogateescape")))
        d.unlisted.append((name, node))
        extras.append(f"{name}:{kind}")
    return ", ".join(extras), LOAD


@_mutation("listed-extra", 4, 1)
def _m_listed_extra(d: _Draft):
    """A listed file that is not one of the eleven: checked (present, sha256), not loaded."""
    name = d.rng.choice(["notes.txt", "codebook.pdf", "readme", "extra.csv", "ECHO.csv", "dm.CSV", "x y.csv", "ü.csv"])
    content = _text(d.rng, "utf-8").encode("utf-8", "surrogateescape")
    kind = d.rng.choice(["ok", "ok", "stale", "missing", "fifo"])
    entry = {"name": name, "rows": d.rng.randint(0, 5), "sha256": _sha256(content if kind != "stale" else content + b"!")}
    d.extra_listed.append((entry, None if kind == "missing" else ("fifo",) if kind == "fifo" else content))
    return f"{name} listed ({kind})", LOAD if kind == "ok" else REJECT


@_mutation("landing-clutter", 4, 0.5)
def _m_clutter(d: _Draft):
    """Things in the landing folder that are not transfers: nothing to log, nothing to change."""
    kind = d.rng.choice(["root-file", "site-file", "site-manifest", "nested", "empty-site", "root-link", "root-fifo"])
    name = f"clutter{d.rng.randrange(10**6)}"

    def place(landing: Path, folder: Path):
        site = folder.parent
        if kind == "root-file":
            (landing / f"{name}.txt").write_bytes(b"not a transfer\n")
        elif kind == "site-file":
            (site / f"{name}.txt").write_bytes(b"not a transfer\n")
        elif kind == "site-manifest" and not (site / dts.MANIFEST_NAME).exists():
            (site / dts.MANIFEST_NAME).write_bytes((folder / dts.MANIFEST_NAME).read_bytes()
                                                   if (folder / dts.MANIFEST_NAME).is_file() else b"{}")
        elif kind == "nested":
            nested = folder / "sub" / "20200101T000000Z"
            nested.mkdir(parents=True, exist_ok=True)
            (nested / dts.MANIFEST_NAME).write_bytes(b"{}")
        elif kind == "empty-site":
            (landing / name.upper()[:8]).mkdir(exist_ok=True)
        elif kind == "root-link":
            os.symlink("/nonexistent", landing / name)
        elif kind == "root-fifo":
            os.mkfifo(landing / name)

    d.clutter.append(place)
    return kind, LOAD


# Stage 5: the manifest -----------------------------------------------------------------------------


def _random_json(rng: random.Random, depth: int = 0):
    kind = rng.choice(["int", "float", "bool", "null", "str", "str", "list", "dict", "big", "special"])
    if depth > 3 and kind in ("list", "dict"):
        kind = "str"
    if kind == "int":
        return rng.choice([0, -1, 1, 2**31, 2**63, -(2**63), 10**12 + 1, 10**20])
    if kind == "float":
        return rng.choice([0.5, -0.0, 1.0, 1e308, -1e-300, 3.14])
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "null":
        return None
    if kind == "list":
        return [_random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if kind == "dict":
        return {_text(rng, "utf-8", allow_nul=True): _random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))}
    if kind == "big":
        return _Raw(rng.choice(["1" * 5000, "-" + "9" * 400, "1e400", "-1e400", "1E+999999"]))
    if kind == "special":
        return _Raw(rng.choice(["NaN", "Infinity", "-Infinity"]))
    text = _text(rng, "utf-8")
    if rng.random() < 0.1:
        text += rng.choice(["\udcff", "\ud800", "\udfff"])  # a lone surrogate: JSON can escape it, UTF-8 not
    return text


def _raws(value) -> list[_Raw]:
    if isinstance(value, _Raw):
        return [value]
    if isinstance(value, list):
        return [r for v in value for r in _raws(v)]
    if isinstance(value, dict):
        return [r for v in value.values() for r in _raws(v)]
    return []


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *_strings(v)]]
    return []


def _free_value_expectation(value) -> str:
    """A value where any JSON value will do (an extra field, extracted_at): LOAD when it is plain JSON;
    EITHER when JSON does not settle it: NaN/Infinity (not JSON, though Python's reader takes them),
    numbers no double holds (1e400) or Python refuses (over 4300 digits), escaped lone surrogates
    (JSON text, but no Unicode string)."""
    odd_number = [r for r in _raws(value) if r.text != "-" + "9" * 400]
    surrogate = any(0xD800 <= ord(ch) <= 0xDFFF for text in _strings(value) for ch in text)
    return EITHER if odd_number or surrogate else LOAD


@dataclass(frozen=True)
class _Raw:
    """JSON text written as it is (numbers json.dumps cannot write)."""

    text: str


def _field_expectation(d: _Draft, name: str, value) -> str:
    """What a manifest with `value` in field `name` should become."""
    if value is None or (isinstance(value, str) and value == ""):
        return REJECT  # README: the manifest lacks the field
    if name == "extracted_at":  # README fixes no format for it
        return _free_value_expectation(value)
    if isinstance(value, _Raw):
        return REJECT
    if name == "encoding" and isinstance(value, str) and value.lower() in dts.ENCODINGS:
        if value.lower() == d.encoding:
            return LOAD
        return EITHER if all(_decodes(d.bytes_of(x), value.lower()) for x, f in d.files.items() if f.node is None) else REJECT
    expected = {"dts_version": dts.DTS_VERSION, "study": dts.STUDY_ID, "site_id": d.site, "extract_id": d.extract,
                "delimiter": d.delimiter, "decimal_separator": d.decimal}.get(name)
    return LOAD if expected is not None and type(value) is str and value == expected else REJECT


@_mutation("manifest-field-value", 5, 3)
def _m_manifest_field(d: _Draft):
    name = d.rng.choice(list(dts.MANIFEST_FIELDS))
    value = _random_json(d.rng)
    if name == "encoding" and d.rng.random() < 0.3:
        value = d.rng.choice([d.encoding.upper(), d.encoding.title(), "utf8", "UTF-16", "latin-1", "koi8-r", " utf-8"])
    if not d.edit_fields(name):
        return None
    d.manifest_edits.append(lambda m: m.__setitem__(name, value))
    return f"{name}={_short(repr(value))}", _field_expectation(d, name, value)


@_mutation("manifest-missing-field", 5, 1)
def _m_manifest_missing(d: _Draft):
    names = d.rng.sample(list(dts.MANIFEST_FIELDS), d.rng.randint(1, 3))
    if not d.edit_fields(*names):
        return None
    d.manifest_edits.append(lambda m: [m.pop(n, None) for n in names])
    return ", ".join(names), REJECT


@_mutation("manifest-extra-fields", 5, 1.5)
def _m_manifest_extra(d: _Draft):
    extras = {_text(d.rng, "utf-8"): _random_json(d.rng) for _ in range(d.rng.randint(1, 4))}
    extras = {k: v for k, v in extras.items() if k not in dts.MANIFEST_FIELDS}
    d.manifest_edits.append(lambda m: m.update(extras))
    return f"{_short(repr(extras))}", _free_value_expectation(extras)


@_mutation("manifest-file-entry", 5, 2)
def _m_manifest_entry(d: _Draft):
    domain = d.rng.choice(list(d.files))
    name = dts.file_name(domain)
    key = d.rng.choice(["name", "rows", "sha256", "missing", "extra-key", "not-object"])
    if key == "rows":
        value = d.rng.choice([-1, 1.0, 0.5, True, False, "1", None, 10**13, 2**63, _Raw("1" * 5000), _Raw("1e400"),
                              _Raw("NaN"), [], {}])
        return _edit_entry(d, name, lambda e: e.__setitem__("rows", value), f"{name} rows={_short(repr(value))}")
    if key == "sha256":
        value = d.rng.choice(["", "0" * 64, "g" * 64, "ab", None, 42, ["x"], "SHA", "0" * 65])
        return _edit_entry(d, name, lambda e: e.__setitem__("sha256", value), f"{name} sha256={_short(repr(value))}")
    if key == "name":
        value = d.rng.choice(["../" + name, f"./{name}", f"/{name}", name.upper(), f" {name}", f"{name} ", f"{name}\n",
                              f'{name}";', f"{name};DROP TABLE raw.dm", "", ".", "..", ".hidden", "x" * 300, None, 7,
                              f"{name}\x00", f"sub/{name}", f"{name}\\", "manifest.json"])
        return _edit_entry(d, name, lambda e: e.__setitem__("name", value), f"{name} name={_short(repr(value))}")
    if key == "missing":
        gone = d.rng.choice(list(dts.MANIFEST_FILE_FIELDS))
        return _edit_entry(d, name, lambda e: e.pop(gone), f"{name} without {gone}")
    if key == "extra-key":
        extra, value = _text(d.rng, "utf-8"), _random_json(d.rng)
        if extra in dts.MANIFEST_FILE_FIELDS:
            return None
        d.manifest_edits.append(lambda m: _entry(m, name).__setitem__(extra, value))
        return f"{name} extra key {_short(repr(extra))}={_short(repr(value))}", _free_value_expectation(value)
    value = _random_json(d.rng)
    d.manifest_edits.append(lambda m: m["files"].__setitem__(m["files"].index(_entry(m, name)), value))
    return f"{name} entry is {_short(repr(value))}", REJECT


def _entry(manifest: dict, name: str) -> dict:
    return next(e for e in manifest["files"] if isinstance(e, dict) and e.get("name") == name)


def _edit_entry(d: _Draft, name: str, edit, description: str):
    d.manifest_edits.append(lambda m: edit(_entry(m, name)))
    return description, REJECT


@_mutation("manifest-files-list", 5, 1)
def _m_manifest_files(d: _Draft):
    kind = d.rng.choice(["duplicate", "duplicate", "empty", "object", "string", "drop-one", "null", "odd-name"])
    if kind == "duplicate":
        d.manifest_edits.append(lambda m: m["files"].append(dict(d.rng.choice(m["files"]))))
    elif kind == "empty":
        d.manifest_edits.append(lambda m: m.__setitem__("files", []))
    elif kind == "object":
        d.manifest_edits.append(lambda m: m.__setitem__("files", {e["name"]: e for e in m["files"]}))
    elif kind == "string":
        d.manifest_edits.append(lambda m: m.__setitem__("files", ",".join(e["name"] for e in m["files"])))
    elif kind == "drop-one":
        d.manifest_edits.append(lambda m: m["files"].pop(d.rng.randrange(min(11, len(m["files"])))))
    elif kind == "null":
        d.manifest_edits.append(lambda m: m.__setitem__("files", None))
    else:
        odd = d.rng.choice(["../x", "../../etc/passwd", "a/b", "x\ny", "x';--", 'x";DROP TABLE raw.dm;--', "con", "😀",
                            " ", "\u202ecsv.exe", "x" * 256, "NUL\x00"])
        d.manifest_edits.append(lambda m: m["files"].append({"name": odd, "rows": 0, "sha256": "0" * 64}))
        kind = f"odd-name {odd!r}"
    return kind, REJECT


@_mutation("manifest-json", 5, 2)
def _m_manifest_json(d: _Draft):
    """manifest.json that is not a manifest at all."""
    kind = d.rng.choice(["empty", "space", "bom-only", "truncated", "random", "invalid-utf8", "deep-array",
                         "deep-object", "huge-string", "array", "number", "string", "null", "utf-16", "duplicate-key",
                         "trailing-garbage", "comment", "single-quotes"])
    if kind in ("truncated", "duplicate-key", "trailing-garbage", "comment", "single-quotes", "utf-16"):
        def rewrite(text: str, kind=kind) -> str:
            if kind == "truncated":
                return text[: d.rng.randrange(1, len(text) - 1)]
            if kind == "duplicate-key":
                return text.replace('"study":', '"study": "NCT04325594", "study":', 1)
            if kind == "trailing-garbage":
                return text + "}}garbage"
            if kind == "comment":
                return "// manifest\n" + text
            if kind == "single-quotes":
                return text.replace('"', "'")
            return text
        d.manifest_text.append(rewrite)
        if kind == "utf-16":
            d.manifest_edits.append(lambda m: m.__setitem__("_utf16", True))
    else:
        d.manifest_bytes = {
            "empty": b"", "space": b" \n\t", "bom-only": "\ufeff".encode(), "random": d.rng.randbytes(d.rng.randint(1, 200)),
            "invalid-utf8": b'{"dts_version": "1.0\xff\xfe"}', "deep-array": b"[" * 100_000 + b"]" * 100_000,
            "deep-object": b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "huge-string": b'"' + b"x" * 2_000_000 + b'"',
            "array": b"[]", "number": b"42", "string": b'"manifest"', "null": b"null",
        }[kind]
    return kind, REJECT


@_mutation("manifest-odd-but-valid", 5, 1.5)
def _m_manifest_odd_valid(d: _Draft):
    kind = d.rng.choice(["bom", "sha-upper", "pretty", "padding", "key-order", "escaped-unicode", "deep-extra"])
    if kind == "bom":
        d.manifest_edits.append(lambda m: m.__setitem__("_bom", True))
    elif kind == "sha-upper":
        d.manifest_edits.append(lambda m: [e.__setitem__("sha256", e["sha256"].upper()) for e in m["files"]
                                           if isinstance(e, dict) and isinstance(e.get("sha256"), str)])
    elif kind == "pretty":
        d.manifest_text.append(_tab_indented_crlf)
    elif kind == "padding":  # under the 1 MiB a manifest may take
        d.manifest_edits.append(lambda m: m.__setitem__("comment", "x" * 700_000))
    elif kind == "key-order":
        d.manifest_edits.append(lambda m: m.__setitem__("_reverse", True))
    elif kind == "escaped-unicode":
        d.manifest_edits.append(lambda m: m.__setitem__("_ascii", True))
    else:  # nested deep, but not deep enough to trouble a JSON reader
        deep: object = "bottom"
        for _ in range(200):
            deep = [deep]
        d.manifest_edits.append(lambda m: m.__setitem__("deep", deep))
    return kind, LOAD


def _tab_indented_crlf(text: str) -> str:
    """Tabs for json.dumps' two-space indents, CRLF line ends; only at line starts, since a string
    value may hold spaces of its own (json.dumps escapes newlines in strings, so a line start is
    never inside one)."""
    lines = text.split("\n")
    return "\r\n".join("\t" * ((len(line) - len(line.lstrip(" "))) // 2) + line.lstrip(" ") for line in lines)


@_mutation("manifest-claims", 5, 2)
def _m_manifest_claims(d: _Draft):
    """The manifest's encoding, delimiter or decimal separator is not what the files are written in."""
    kind = d.rng.choice(["encoding", "delimiter", "decimal"])
    if kind == "encoding":
        claim = {"utf-8": "cp1251", "cp1251": "utf-8"}[d.encoding]
        # earlier verdicts that assume the manifest's own encoding would no longer hold: a non-ASCII
        # column name read in the other encoding is another name (a hostile extra column taken twice,
        # say), and a file written in the other encoding (wrong-encoding) is then the right one
        if any(f.encoding or not all(name.isascii() for name in f.header) for f in d.files.values()):
            return None
        if not d.edit_fields("encoding"):
            return None
        readable = all(_decodes(d.bytes_of(x), claim) for x, f in d.files.items() if f.node is None)
        d.manifest_edits.append(lambda m: m.__setitem__("encoding", claim))
        return f"encoding {claim} for {d.encoding} files", EITHER if readable else REJECT
    if kind == "delimiter":
        claim = {",": ";", ";": ","}[d.delimiter]
        if not d.edit_fields("delimiter"):
            return None
        d.manifest_edits.append(lambda m: m.__setitem__("delimiter", claim))
        return f"delimiter {claim!r} for {d.delimiter!r} files", REJECT
    claim = {".": ",", ",": "."}[d.decimal]
    if not d.edit_fields("decimal_separator"):
        return None
    d.manifest_edits.append(lambda m: m.__setitem__("decimal_separator", claim))
    # `,` decimals need `;`; `.` decimals read `27,5` as no number: a data issue, not a rejection
    return f"decimal separator {claim!r} for {d.decimal!r} numbers", LOAD if d.delimiter == ";" else REJECT


# Stage 6: the folder names -------------------------------------------------------------------------


def _hostile_folder_name(d: _Draft, which: str, names, id_in_manifest: str):
    """A hostile site or extract folder name; the manifest's id follows it or keeps the real id."""
    if getattr(d, f"{which}_name") is not None:
        return None
    name = d.rng.choice(names)
    setattr(d, f"{which}_name", name)
    d.ids_follow_names = d.rng.random() < 0.5
    return f"{which} folder {name!r}, manifest {'follows' if d.ids_follow_names else 'keeps ' + id_in_manifest}", REJECT


@_mutation("hostile-site-folder", 6, 1.5)
def _m_hostile_site(d: _Draft):
    return _hostile_folder_name(d, "site", HOSTILE_SITE_NAMES, d.site)


@_mutation("hostile-extract-folder", 6, 1.5)
def _m_hostile_extract(d: _Draft):
    return _hostile_folder_name(d, "extract", HOSTILE_EXTRACT_NAMES, d.extract)


@_mutation("odd-extract-id", 6, 1)
def _m_odd_extract_id(d: _Draft):
    """Ids that look like one (eight digits, T, six digits, Z) but are no UTC time YYYYMMDDTHHMMSSZ
    (README): other scripts' digits, a 31st of the 99th month, all zeros. Rule folder-ids."""
    if d.extract_name is not None:
        return None
    kind = d.rng.choice(["arabic-digits", "fullwidth-digits", "impossible-date", "zero-date"])
    digits = d.extract[:8] + d.extract[9:15]
    if kind == "arabic-digits":
        translated = digits.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    elif kind == "fullwidth-digits":
        translated = digits.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    elif kind == "impossible-date":
        translated = "20219931256199"
    else:
        translated = "00000000000000"
    d.extract_name = f"{translated[:8]}T{translated[8:]}Z"
    d.ids_follow_names = True
    return f"extract id {d.extract_name!r} ({kind})", REJECT


@_mutation("early-extract-id", 6, 1)
def _m_early_extract(d: _Draft):
    """A valid extract id before some dates of the rows (consent 2020-03-02, ..., disposition 2020-09-20):
    those dates break the after-extract-date rule, which makes data issues, not a rejection (README)."""
    extract = f"2020{d.rng.randint(1, 9):02d}{d.rng.randint(1, 28):02d}T{d.rng.randint(0, 23):02d}0000Z"
    if d.extract_name is not None or os.path.lexists(d.landing / (d.site_name or d.site) / extract):
        return None
    d.extract_name, d.ids_follow_names = extract, True
    return f"extract id {extract}", LOAD


@_mutation("edge-site-id", 6, 0.5)
def _m_edge_site(d: _Draft):
    if d.site_name is not None:
        return None
    d.site_name = d.rng.choice(["00", "ZZZZZZZZ", "0", "9" * 8])
    d.ids_follow_names = True
    valid = bool(dts.SITE_ID_PATTERN.fullmatch(d.site_name))
    if valid and os.path.lexists(d.landing / d.site_name / d.extract):
        d.site_name = None
        return None
    return f"site id {d.site_name!r}", LOAD if valid else REJECT


@_mutation("linked-folder", 6, 1)
def _m_linked_folder(d: _Draft):
    d.folder_link = d.rng.choice(["site", "extract"])
    return f"the {d.folder_link} folder is a symbolic link to a copy outside the landing folder", REJECT


@_mutation("still-arriving", 6, 1)
def _m_incomplete(d: _Draft):
    d.incomplete = True
    return "no manifest.json yet (written as manifest.json.partial)", ABSENT


# --- writing it -------------------------------------------------------------------------------------


def _serialize(f: _File, delimiter: str) -> str:
    def quoted(value: str) -> str:
        if f.quote_all or value != value.strip(" ") or any(
            ch in value for ch in (delimiter, '"', "\r", "\n")
        ) or _has_control(value):
            return '"' + value.replace('"', '""') + '"'
        return value

    lines = [delimiter.join(quoted(v) for v in f.header)]
    for index, row in enumerate(f.rows):
        lines.append(delimiter.join(quoted(v) for v in row))
        if index in f.blank_lines:
            lines.append("")
    text = f.line_end.join(lines) + f.line_end
    if f.trailing_blank:
        text += f.line_end
    return text


def _count_rows(data: bytes, encoding: str, delimiter: str, default: int) -> int:
    """The data records Python's csv module reads in `data` (for a manifest made to agree)."""
    try:
        text = data.decode(encoding).lstrip("\ufeff")
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except (UnicodeError, csv.Error):
        return default
    return max(0, sum(1 for r in records if r) - 1)


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
        return True
    except UnicodeError:
        return False


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _short(value: str, limit: int = 60) -> str:
    text = repr(value) if not isinstance(value, str) else value
    text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else f"{text[:limit]}...({len(value)} chars)"


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        path.unlink()


def _place(path: Path, node: tuple, draft: _Draft) -> None:
    _remove(path)
    kind = node[0]
    if kind == "folder":
        path.mkdir()
        (path / "inside.csv").write_bytes(b"RECID\n")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "symlink-outside":
        target = draft.outside / f"{draft.site}-{draft.extract}-{draft.rng.randrange(10**9)}-{path.name}"
        target.write_bytes(node[1])
        os.symlink(target, path)
    elif kind == "symlink":
        if len(node) > 2:  # a copy to point at, in the same folder
            (path.parent / node[1]).write_bytes(node[2])
        os.symlink(node[1], path)
    elif kind == "file":
        path.write_bytes(node[1])
    elif kind == "absent":
        pass


def _manifest_bytes(d: _Draft, base: dict) -> bytes:
    manifest = json.loads(json.dumps(base))
    entries = []
    for domain, f in d.files.items():
        data = d.bytes_of(domain)
        entries.append({"name": dts.file_name(domain),
                        "rows": f.rows_claim if f.rows_claim is not None else len(f.rows),
                        "sha256": f.sha_claim or _sha256(data)})
    entries += [dict(entry) for entry, _ in d.extra_listed]
    manifest["files"] = entries
    if d.ids_follow_names:
        manifest["site_id"] = d.site_name or d.site
        manifest["extract_id"] = d.extract_name or d.extract
    for edit in d.manifest_edits:
        try:
            edit(manifest)
        except (KeyError, IndexError, StopIteration, TypeError, AttributeError, ValueError):
            pass  # an earlier edit took away what this one edits: the manifest is broken anyway
    bom, utf16 = manifest.pop("_bom", False), manifest.pop("_utf16", False)
    ascii_only, reverse = manifest.pop("_ascii", False), manifest.pop("_reverse", False)
    if reverse:
        manifest = dict(reversed(list(manifest.items())))
    raws: list[str] = []

    def encode_raw(value):
        if isinstance(value, _Raw):
            raws.append(value.text)
            return f"@@RAW{len(raws) - 1}@@"
        raise TypeError(type(value))

    text = json.dumps(manifest, indent=2, ensure_ascii=True, default=encode_raw)
    if not ascii_only:  # as transfer_factory writes it, where the text can be UTF-8
        candidate = json.dumps(manifest, indent=2, ensure_ascii=False, default=encode_raw)
        if _encodable(candidate, "utf-8"):
            text = candidate
    for index, raw in enumerate(raws):
        text = text.replace(f'"@@RAW{index}@@"', raw)
    text += "\n"
    for rewrite in d.manifest_text:
        text = rewrite(text)
    if utf16:
        return text.encode("utf-16")
    return ("\ufeff" if bom else "").encode() + text.encode("utf-8", "surrogatepass")


def _materialize(d: _Draft, folder: Path) -> Path:
    """Write the draft over the factory's transfer; the manifest (or what stands for it) last."""
    base = read_manifest(folder)
    (folder / dts.MANIFEST_NAME).unlink()
    for domain, f in d.files.items():
        path = folder / dts.file_name(domain)
        if f.node is not None:
            _place(path, f.node, d)
        else:
            path.write_bytes(d.bytes_of(domain))
    for entry, content in d.extra_listed:
        if content is None:
            continue
        _place(folder / entry["name"], content if isinstance(content, tuple) else ("file", content), d)
    for name, node in d.unlisted:
        if not os.path.lexists(folder / name):
            _place(folder / name, node, d)

    manifest = d.manifest_bytes if d.manifest_bytes is not None else _manifest_bytes(d, base)
    d.manifest_size = len(manifest)
    manifest_path = folder / (PENDING_MANIFEST if d.incomplete else dts.MANIFEST_NAME)
    if d.manifest_node is None:
        manifest_path.write_bytes(manifest)
    else:
        kind = d.manifest_node[0]
        if kind == "link-outside":
            _place(manifest_path, ("symlink-outside", manifest), d)
        elif kind == "dangling":
            _place(manifest_path, ("symlink", "manifest.json.gone"), d)
        else:
            _place(manifest_path, (kind,), d)

    path = folder
    if d.site_name is not None or d.extract_name is not None:
        site_dir = d.landing / (d.site_name or d.site)
        path = site_dir / (d.extract_name or d.extract)
        if os.path.lexists(path):  # a hostile name drawn twice: keep the transfer apart
            path = site_dir / f"{d.extract_name or d.extract}{d.rng.randrange(10**6)}"
        site_dir.mkdir(parents=True, exist_ok=True)
        os.rename(folder, path)
        _remove_if_empty(folder.parent)
    if d.folder_link == "extract":
        target = d.outside / f"extract-{d.rng.randrange(10**9)}"
        os.rename(path, target)
        os.symlink(target, path)
    elif d.folder_link == "site":
        site_target = d.outside / f"site-{d.rng.randrange(10**9)}"
        site_target.mkdir()
        os.rename(path, site_target / path.name)
        _remove_if_empty(path.parent)
        link = d.landing / f"L{d.rng.randrange(10**6)}"
        os.symlink(site_target, link)
        path = link / path.name
    for place in d.clutter:
        place(d.landing, path)
    return path


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass
