"""Hundreds of malformed, hostile and unlucky transfers (tests/fuzz_transfers.py) against the refresh's
contract, over three refreshes: round 1, round 2 (new sites and extract ids, and some transfers of
round 1 finish arriving), then one with nothing new. After each refresh:

- `regenheart refresh` exits 0, 1 or 3, without a Python traceback; 0 only when no new transfer was
  rejected, 1 only when one was;
- every complete transfer (a folder with manifest.json) is in raw.transfer_log, LOADED or REJECTED,
  a rejected one with its rule and a reason naming the rule; a folder still arriving is not;
- raw only grows: the rows of every transfer logged before are still there, as many; no raw row
  belongs to a rejected transfer; a loaded transfer holds the rows its manifest counts;
- the published file opens read-only and serves the good site GOOD01's subjects;
- exit 3 is a violation too: every transfer it built from passed ingestion, and README says a value
  that breaks a data rule never fails a refresh;
- the landing folder (and what its links point to) is byte-identical before and after, and the
  warehouse records no change of it (raw.landing_changes stays empty);
- each fuzzed transfer became what README says it should: a valid one LOADED, a broken one REJECTED.

Findings that break no invariant (a rejection naming no file, an internal-error rejection, invisible
characters in a reason, a rebuild with nothing new) are printed as notes. Every violation is
collected (once, however many refreshes see it), grouped by kind, then the test fails with all of
them and the seed, which REGENHEART_FUZZ_SEED replays. REGENHEART_FUZZ_COUNT sets the transfers per
round (150: 300 in all); REGENHEART_FUZZ_EXCLUDE (comma-separated mutation names) leaves mutations out of the
palette, e.g. to look past a known bug.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import stat
import time
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

import duckdb
import pytest

from conftest import build_database, run_refresh
from fuzz_transfers import ABSENT, EITHER, LOAD, REJECT, SEED_ENV, FuzzedTransfer, fuzz_transfers, outside_folder
from orchestration import dts
from orchestration.ingestion.transfers import printable
from transfer_factory import minimal_rows, write_transfer

COUNT_ENV = "REGENHEART_FUZZ_COUNT"
EXCLUDE_ENV = "REGENHEART_FUZZ_EXCLUDE"
EXAMPLES = 5  # of each kind of violation, in the failure message (the -s output has them all)
GOOD_SITE, GOOD_EXTRACT, GOOD_SUBJECTS = "GOOD01", "20210101T020000Z", ("001", "002")


@pytest.mark.e2e
def test_fuzzed_transfers_keep_the_refresh_contract(tmp_path):
    seed = int(os.environ.get(SEED_ENV) or random.SystemRandom().randrange(10**9))
    count = int(os.environ.get(COUNT_ENV) or 150)  # per round: two full dbt builds are most of the time
    exclude = [name.strip() for name in os.environ.get(EXCLUDE_ENV, "").split(",") if name.strip()]
    print(f"\nfuzz seed {seed} ({count} transfers per round{', without ' + ', '.join(exclude) if exclude else ''}): "
          f"replay with {SEED_ENV}={seed}", flush=True)
    started = time.monotonic()
    landing = tmp_path / "landing"
    rows = minimal_rows(GOOD_SUBJECTS[0])
    for domain, more in minimal_rows(GOOD_SUBJECTS[1]).items():
        rows[domain] += more
    write_transfer(landing, GOOD_SITE, GOOD_EXTRACT, rows)

    checker = ContractChecker(landing, tmp_path / "warehouse" / "warehouse.duckdb", seed)
    checker.add(fuzz_transfers(landing, count, seed, exclude))
    checker.refresh("round 1")
    checker.add(fuzz_transfers(landing, count, seed + 1, exclude))
    checker.refresh("round 2")
    checker.refresh("nothing new")
    checker.print_summary(time.monotonic() - started)

    assert not checker.violations, (
        f"fuzz seed {seed} (replay: {SEED_ENV}={seed}): {checker.violation_count()} violation(s) of "
        f"{len(checker.violations)} kind(s):\n" + checker.describe_violations(EXAMPLES)
    )


class ContractChecker:
    def __init__(self, landing: Path, warehouse: Path, seed: int):
        self.landing, self.warehouse, self.seed = landing, warehouse, seed
        self.fuzzed: dict[tuple[str, str], FuzzedTransfer] = {}
        self.violations: dict[str, list[str]] = {}  # by kind
        self.notes: dict[str, list[str]] = {}  # findings that break no invariant, printed only
        self.seen: set[tuple] = set()
        self.log: dict[tuple[str, str], tuple] = {}  # the transfer log after the last refresh
        self.raw_counts: dict[tuple[str, str, str], int] = {}  # (table, site, extract) -> rows
        self.raw_columns: dict[str, list[str]] = {}
        self.published_before = False
        self.timings: list[tuple[str, int, float]] = []

    def add(self, transfers: list[FuzzedTransfer]) -> None:
        for transfer in transfers:
            self.fuzzed[_key(transfer.path)] = transfer

    def violation(self, label: str, kind: str, text: str, key: tuple | None = None, *, note: bool = False) -> None:
        """Record a violation (or with `note`, a finding) of `kind`, once per transfer (or text) however
        many refreshes see it."""
        if (kind, key or text) in self.seen:
            return
        self.seen.add((kind, key or text))
        if key is not None and key in self.fuzzed:
            text += f"\n        transfer: {self.fuzzed[key].describe()}"
        (self.notes if note else self.violations).setdefault(kind, []).append(f"[{label}] {text}")

    def violation_count(self) -> int:
        return sum(len(texts) for texts in self.violations.values())

    def describe_violations(self, examples: int | None = None, notes: bool = False) -> str:
        lines = []
        for kind, texts in (self.notes if notes else self.violations).items():
            lines.append(f"- {kind}: {len(texts)}")
            lines += [f"    {text}" for text in texts[:examples]]
            if examples is not None and len(texts) > examples:
                lines.append(f"    ... and {len(texts) - examples} more (see the test's output)")
        return "\n".join(lines)

    # --- one refresh ----------------------------------------------------------------------------------

    def refresh(self, label: str) -> None:
        before = landing_digest(self.landing)
        tools_log = self.warehouse.parent / "logs" / "refresh-tools.log"
        tools_log_start = tools_log.stat().st_size if tools_log.exists() else 0
        started = time.monotonic()
        result = run_refresh(self.landing, self.warehouse)
        elapsed = time.monotonic() - started
        self.timings.append((label, result.returncode, elapsed))
        steps = re.findall(r"\] (\w+): done in ([\d.]+)s", result.stderr)
        scope = re.findall(r"(nothing new since the last publication|rebuilding every site[^\n]*|sites changed since "
                           r"the last publication: [^\n]{0,200})", result.stderr)
        print(f"{label}: exit {result.returncode} in {elapsed:.1f} s ("
              + ", ".join(f"{step} {seconds} s" for step, seconds in steps) + f"); {'; '.join(scope[:1]) or '?'}",
              flush=True)
        if label == "nothing new" and "nothing new since the last publication" not in result.stderr:
            self.violation(label, "a refresh with nothing new rebuilt", "no transfer was new, yet: "
                           + ("; ".join(scope) or _tail(result.stderr, 5))
                           + " (new code since the last publication also rebuilds: files edited during the test?)",
                           note=True)

        changed = _differences(before, landing_digest(self.landing))
        if changed:
            self.violation(label, "landing folder changed", f"changed during the refresh: {changed[:10]}")
        if result.returncode not in (0, 1, 3):
            self.violation(label, "exit code", f"exit code {result.returncode}; stderr ends:\n{_tail(result.stderr)}")
        for stream, text in (("stderr", result.stderr), ("stdout", result.stdout)):
            if "Traceback" in text:
                at = text.index("Traceback")
                self.violation(label, "traceback", f"on {stream}:\n{text[max(0, at - 300): at + 3000]}")
        if result.returncode == 3:
            # README: a value that breaks a data rule never fails a refresh; these transfers passed ingestion
            lines = result.stderr.splitlines()
            failed = [i for i, line in enumerate(lines) if line.startswith("FAILED")]
            evidence = [_short(line, 600) for i in failed for line in lines[i: i + 6]] or lines[-15:]
            if tools_log.exists():
                with open(tools_log, encoding="utf-8", errors="replace") as handle:
                    handle.seek(tools_log_start)
                    dbt_lines = handle.read().splitlines()
                evidence += [f"dbt: {_short(line, 600)}" for line in dbt_lines
                             if re.search(r"Error|ERROR|FAIL ", line) and "PASS=" not in line][:12]
            self.violation(label, "exit 3 on transfers that passed ingestion",
                           "\n        ".join(["exit 3:", *evidence]))

        log, raw_counts, raw_columns = self.read_build_database(label)
        if log is None:
            return
        self.check_log(label, log)
        self.check_raw(label, log, raw_counts, raw_columns)
        self.check_exit_code(label, result.returncode, log)
        self.check_published(label, result.returncode, log)
        self.log, self.raw_counts, self.raw_columns = log, raw_counts, raw_columns

    def read_build_database(self, label: str):
        try:
            with duckdb.connect(str(build_database(self.warehouse)), read_only=True) as con:
                log = {
                    (site, extract): rest for site, extract, *rest in con.execute(
                        "SELECT SITEID, EXTRACT_ID, STATUS, REASON, RULE, REJECTED_FILE, REJECTED_LINE FROM raw.transfer_log"
                    ).fetchall()
                }
                tables = [t for (t,) in con.execute(
                    """SELECT table_name FROM information_schema.columns WHERE table_schema = 'raw'
                       AND column_name IN ('SITEID', 'EXTRACT_ID') AND table_name NOT IN ('transfer_log', 'landing_changes')
                       GROUP BY table_name HAVING count(*) = 2 ORDER BY 1"""
                ).fetchall()]
                counts, columns = {}, {}
                for table in tables:
                    for site, extract, rows in con.execute(
                        f'SELECT SITEID, EXTRACT_ID, count(*) FROM raw."{table}" GROUP BY ALL'
                    ).fetchall():
                        counts[(table, site, extract)] = rows
                    columns[table] = [c for (c,) in con.execute(
                        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'raw' AND table_name = ?",
                        [table],
                    ).fetchall()]
                # no delivered file changes during this test: any landing change recorded is a false alarm
                exists = con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'raw' "
                                     "AND table_name = 'landing_changes'").fetchone()[0]
                for site, extract, detail in con.execute(
                    "SELECT SITEID, EXTRACT_ID, DETAIL FROM raw.landing_changes ORDER BY ALL"
                ).fetchall() if exists else []:
                    self.violation(label, "landing change recorded though no delivered file changed",
                                   f"raw.landing_changes: {site}/{extract}: {detail}", (site, extract))
                return log, counts, columns
        except duckdb.Error as error:
            self.violation(label, "build database unreadable", f"the build database cannot be read: {error}")
            return None, None, None

    def check_log(self, label: str, log: dict) -> None:
        def bad(kind, text, key=None, **options):
            self.violation(label, kind, text, key, **options)

        complete, arriving = landing_transfers(self.landing)
        for key, path in sorted(complete.items()):
            if key not in log:
                bad("complete transfer not logged", f"complete transfer {path} is not in raw.transfer_log", key)
                continue
            status, reason, rule, rejected_file, _ = log[key]
            if status not in ("LOADED", "REJECTED"):
                bad("status neither LOADED nor REJECTED", f"{key} has STATUS {status!r}", key)
            if status == "REJECTED":
                if not (reason and reason.strip()) or not (rule and rule.strip()):
                    bad("rejected without reason or rule", f"{key}: REASON={reason!r} RULE={rule!r}", key)
                elif f"[rule {rule}]" not in reason:
                    bad("reason does not name the rule", f"{key} rule {rule!r}: {reason!r}", key)
                # README: "the reason names the transfer, the file, the line where there is one"
                if not rejected_file:
                    bad(f"rejected naming no file (REJECTED_FILE NULL), rule {rule}", f"{key}: {_short(reason, 400)}",
                        key, note=True)
                if rule == "internal-error":  # the contract holds, but an unexpected exception was caught
                    bad("rejected for an internal error", f"{key}: {_short(reason, 800)}", key, note=True)
                if reason and any(unicodedata.category(ch) == "Cf" for ch in reason):
                    bad("reason holds invisible format characters (bidi override, zero width)", f"{key}: {reason!r}",
                        key, note=True)
            expect = self.fuzzed[key].expect if key in self.fuzzed else LOAD
            wanted = {LOAD: "LOADED", REJECT: "REJECTED", ABSENT: None}.get(expect)
            if expect != EITHER and status != wanted:
                bad(f"expected {wanted or 'not logged'}, got {status}" + (f" ({rule})" if rule else ""),
                    f"{key}" + (f": {_short(reason, 600)}" if reason else ""), key)
        for key, path in sorted(arriving.items()):
            if key in log:
                bad("logged while still arriving", f"{path} has no manifest.json but is logged as {log[key][0]}", key)
        for key in sorted(set(log) - set(complete) - set(arriving)):
            bad("logged transfer not in the landing folder", f"raw.transfer_log holds {key}, no complete transfer")

    def check_raw(self, label: str, log: dict, counts: dict, columns: dict) -> None:
        def bad(kind, text, key=None):
            self.violation(label, kind, text, key)

        for (table, site, extract), rows in sorted(self.raw_counts.items()):
            if counts.get((table, site, extract)) != rows:
                bad("raw shrank", f"raw.{table} held {rows} rows of {site}/{extract}, now "
                    f"{counts.get((table, site, extract), 0)}", (site, extract))
        for table, before in self.raw_columns.items():
            lost = [c for c in before if c not in columns.get(table, [])]
            if lost:
                bad("raw lost columns", f"raw.{table} lost columns {lost}")
        for key, before in sorted(self.log.items()):
            if log.get(key) != before:
                bad("transfer log row changed", f"{key}: {before} -> {log.get(key)}", key)
        loaded = {key for key, row in log.items() if row[0] == "LOADED"}
        for (table, site, extract), rows in sorted(counts.items()):
            if (site, extract) not in loaded:
                status = log.get((site, extract), ("not logged",))[0]
                bad("raw rows of a transfer not LOADED", f"raw.{table} holds {rows} rows of {site}/{extract}, "
                    f"which is {status}", (site, extract))
        complete, _ = landing_transfers(self.landing)
        for key in sorted(loaded & set(complete)):
            manifest = _read_manifest(complete[key])
            if manifest is None:
                bad("loaded manifest unreadable", f"{key} is LOADED but its manifest.json cannot be read", key)
                continue
            for listed in manifest.get("files", []):
                domain = listed["name"].removesuffix(".csv")
                if listed["name"] != dts.file_name(domain) or domain not in dts.REQUIRED_COLUMNS:
                    continue
                held = counts.get((domain, *key), 0)
                if held != listed["rows"]:
                    bad("loaded rows differ from the manifest",
                        f"{key}: {held} rows in raw.{domain}, its manifest says {listed['rows']}", key)

    def check_exit_code(self, label: str, code: int, log: dict) -> None:
        new_rejected = sorted(k for k, row in log.items() if row[0] == "REJECTED" and k not in self.log)
        if code == 0 and new_rejected:
            self.violation(label, "exit code", f"exit 0 although {len(new_rejected)} new transfer(s) were rejected, "
                           f"e.g. {new_rejected[:3]}")
        if code == 1 and not new_rejected:
            self.violation(label, "exit code", "exit 1 although no new transfer was rejected")

    def check_published(self, label: str, code: int, log: dict) -> None:
        if not self.warehouse.exists():
            if code in (0, 1) or self.published_before:
                text = f"exit {code} but there is no published file {self.warehouse}"
            else:
                text = f"nothing was ever published (exit {code}): GOOD01's subjects are served nowhere"
            self.violation(label, "published file missing", text)
            return
        try:
            with duckdb.connect(str(self.warehouse), read_only=True) as con:
                subjects = {s for (s,) in con.execute(
                    "SELECT SUBJID FROM marts.adsl WHERE SITEID = ?", [GOOD_SITE]).fetchall()}
                published_log = set(con.execute("SELECT SITEID, EXTRACT_ID, STATUS FROM marts.extract_log").fetchall())
        except duckdb.Error as error:
            self.violation(label, "published file unreadable", f"the published file cannot be read: {error}")
            return
        self.published_before = True
        if not set(GOOD_SUBJECTS) <= subjects:
            self.violation(label, "GOOD01 not served",
                           f"marts.adsl of the published file has GOOD01 subjects {sorted(subjects)}, not {GOOD_SUBJECTS}")
        if code in (0, 1):
            logged = {(site, extract, row[0]) for (site, extract), row in log.items()}
            if published_log != logged:
                self.violation(label, "published extract_log differs from the transfer log",
                               f"missing {sorted(logged - published_log)[:5]}, extra {sorted(published_log - logged)[:5]}")

    # --- the end --------------------------------------------------------------------------------------

    def print_summary(self, elapsed: float) -> None:
        outcomes: dict[str, Counter] = defaultdict(Counter)
        for key, transfer in self.fuzzed.items():
            row = self.log.get(key)
            outcome = "not logged" if row is None else row[0] if row[0] == "LOADED" else f"REJECTED {row[2]}"
            for mutation in transfer.mutations:
                outcomes[mutation.split("(", 1)[0]][outcome] += 1
        print(f"\n{len(self.fuzzed)} fuzzed transfers, seed {self.seed}, {elapsed:.0f} s in all; refreshes: "
              + ", ".join(f"{label} exit {code} {seconds:.0f} s" for label, code, seconds in self.timings))
        print("expected: " + ", ".join(f"{k} {v}" for k, v in sorted(Counter(t.expect for t in self.fuzzed.values()).items())))
        for mutation, counter in sorted(outcomes.items()):
            print(f"  {mutation:24} " + ", ".join(f"{outcome} {n}" for outcome, n in counter.most_common()))
        if self.notes:
            print(f"\nNOTES (no invariant broken):\n{self.describe_violations(notes=True)}")
        if self.violations:
            print(f"\n{self.violation_count()} VIOLATION(S):\n{self.describe_violations()}")


# --- the landing folder, seen as the warehouse sees it ----------------------------------------------


def _key(path: Path) -> tuple[str, str]:
    """The transfer log's key of a transfer folder: its names as the warehouse stores them."""
    return printable(path.parent.name), printable(path.name)


def landing_transfers(landing: Path) -> tuple[dict, dict]:
    """Complete transfers (folders `<site>/<extract>/` holding manifest.json, by key), and folders still
    arriving. Hidden folders are not transfers (orchestration.ingestion.transfers)."""
    complete, arriving = {}, {}
    for site in _folders(landing):
        for extract in _folders(site):
            key = _key(extract)
            if os.path.lexists(extract / dts.MANIFEST_NAME):
                complete[key] = extract
            else:
                arriving[key] = extract
    return complete, arriving


def _folders(parent: Path) -> list[Path]:
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return []
    found = []
    for entry in entries:
        try:
            if not entry.name.startswith(".") and entry.is_dir():
                found.append(Path(entry.path))
        except OSError:
            continue
    return sorted(found)


def landing_digest(landing: Path) -> dict[str, tuple]:
    """Everything under the landing folder and the folder its links point into, without following a
    link or opening a pipe: (kind, sha256 or link target) by path."""
    digest = {}
    for top in (landing, outside_folder(landing)):
        for folder, dirs, files in os.walk(top):
            for name in dirs + files:
                path = os.path.join(folder, name)
                mode = os.lstat(path).st_mode
                if stat.S_ISREG(mode):
                    with open(path, "rb") as handle:
                        entry = ("file", hashlib.sha256(handle.read()).hexdigest())
                elif stat.S_ISLNK(mode):
                    entry = ("link", os.readlink(path))
                elif stat.S_ISDIR(mode):
                    entry = ("folder",)
                else:
                    entry = ("special", stat.S_IFMT(mode))
                digest[path] = entry
    return digest


def _differences(before: dict, after: dict) -> list[str]:
    return sorted(
        f"{path!r}: {before.get(path)} -> {after.get(path)}"
        for path in set(before) | set(after) if before.get(path) != after.get(path)
    )


def _read_manifest(folder: Path) -> dict | None:
    path = folder / dts.MANIFEST_NAME
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        return json.loads(path.read_bytes().decode("utf-8-sig"))
    except (OSError, ValueError, RecursionError):
        return None


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.splitlines()[-lines:])


def _short(text, limit: int) -> str:
    text = re.sub(r"\s+", " ", str(text))
    return text if len(text) <= limit else text[:limit] + "..."
