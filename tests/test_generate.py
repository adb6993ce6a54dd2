"""The sample generator: determinism, DTS-conformant transfers, and the sample's deliberate features."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import pytest

from orchestration.generate import DEFAULT_SEED, generate

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "seeds" / "landing"
SITE = SAMPLE / "KZ01"
EXTRACTS = ["20201215T020000Z", "20210915T020000Z", "20220615T020000Z", "20230315T020000Z"]
T1, T2, T3, T4 = EXTRACTS
DTS_FILES = ["dm", "ie", "ex", "sv", "echo", "ct", "lb", "fs", "qs", "ae", "ds"]
MANIFEST_KEYS = ["dts_version", "study", "site_id", "extract_id", "extracted_at", "encoding", "delimiter",
                 "decimal_separator", "files"]


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _read(folder: Path) -> tuple[dict, dict[str, dict[str, dict[str, str]]]]:
    """A transfer's manifest, and per file its rows by RECID (header names upper-cased)."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    encoding = "utf-8-sig" if manifest["encoding"] == "utf-8" else manifest["encoding"]
    tables = {}
    for name in DTS_FILES:
        text = (folder / f"{name}.csv").read_bytes().decode(encoding)
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=manifest["delimiter"]))
        header = [h.strip().upper() for h in rows[0]]
        tables[name] = {r[0]: dict(zip(header, r)) for r in rows[1:]}
    return manifest, tables


@pytest.fixture(scope="module")
def sample() -> dict[str, dict[str, dict[str, dict[str, str]]]]:
    return {extract: _read(SITE / extract)[1] for extract in EXTRACTS}


def test_default_call_reproduces_the_shipped_sample_byte_for_byte(tmp_path):
    written = generate(tmp_path / "landing")
    assert written == [tmp_path / "landing" / "KZ01" / e for e in EXTRACTS]
    expected, got = _files(SAMPLE), _files(tmp_path / "landing")
    assert sorted(got) == sorted(expected)
    assert len(expected) == 4 * 12
    for name, content in expected.items():
        assert got[name] == content, name


def test_every_manifest_matches_its_files():
    for extract in EXTRACTS:
        folder = SITE / extract
        raw = (folder / "manifest.json").read_bytes()
        assert raw.endswith(b"}\n")
        manifest = json.loads(raw)
        assert list(manifest) == MANIFEST_KEYS
        assert manifest["dts_version"] == "1.0"
        assert manifest["study"] == "NCT04325594"
        assert manifest["site_id"] == "KZ01"
        assert manifest["extract_id"] == extract
        e = extract
        assert manifest["extracted_at"] == f"{e[:4]}-{e[4:6]}-{e[6:8]}T{e[9:11]}:{e[11:13]}:{e[13:15]}Z"
        assert [f["name"] for f in manifest["files"]] == [f"{n}.csv" for n in DTS_FILES]
        assert sorted(p.name for p in folder.iterdir()) == sorted([f"{n}.csv" for n in DTS_FILES] + ["manifest.json"])
        encoding = "utf-8-sig" if manifest["encoding"] == "utf-8" else manifest["encoding"]
        for entry in manifest["files"]:
            data = (folder / entry["name"]).read_bytes()
            assert list(entry) == ["name", "rows", "sha256"]
            assert hashlib.sha256(data).hexdigest() == entry["sha256"]
            rows = list(csv.reader(io.StringIO(data.decode(encoding), newline=""), delimiter=manifest["delimiter"]))
            assert len(rows) - 1 == entry["rows"], entry["name"]
            assert {len(r) for r in rows} == {len(rows[0])}, entry["name"]


def test_the_third_transfer_is_a_cp1251_semicolon_comma_decimal_windows_export():
    folder = SITE / T3
    manifest = json.loads((folder / "manifest.json").read_text())
    assert (manifest["encoding"], manifest["delimiter"], manifest["decimal_separator"]) == ("cp1251", ";", ",")
    ae = (folder / "ae.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        ae.decode("utf-8")
    text = ae.decode("cp1251")
    for verbatim in ("Боль в груди", "Гематома в месте пункции", "Пароксизм фибрилляции предсердий",
                     "Повышение тропонина", "Декомпенсация сердечной недостаточности"):
        assert f";{verbatim};" in text, verbatim
    assert ';"Перебои в работе сердца, ""замирания""";' in text
    for name in DTS_FILES:
        data = (folder / f"{name}.csv").read_bytes()
        assert data.count(b"\n") == data.count(b"\r\n") > 0, name
    ex = (folder / "ex.csv").read_bytes().decode("cp1251")
    assert "001-001;001;2020-04-13T14:20;1,0E7;INTRACORONARY;LEFT CORONARY ARTERY;UCMSC-2004-02\r\n" in ex
    lb = (folder / "lb.csv").read_bytes().decode("cp1251")
    assert "021-014;021;MONTH 1;2021-11-17T08:29;NTPROBNP;138,2;pmol/L;0;14,8\r\n" in lb
    assert ";CKMB;" in lb and "." not in lb.split("\r\n", 1)[1].replace("ng/mL", "")
    ct = (folder / "ct.csv").read_bytes().decode("cp1251")
    assert "." not in ct and ct.count(",") > 3 * 40
    # one file of it spells its header names in mixed case
    assert (folder / "fs.csv").read_bytes().startswith(b"RecID;SubjID;Visit;FSDtc;nyha;Smwd\r\n")


def test_the_other_transfers_are_plain_utf8_and_the_second_has_a_bom():
    for extract in (T1, T2, T4):
        manifest = json.loads((SITE / extract / "manifest.json").read_text())
        assert (manifest["encoding"], manifest["delimiter"], manifest["decimal_separator"]) == ("utf-8", ",", ".")
        for name in DTS_FILES:
            data = (SITE / extract / f"{name}.csv").read_bytes()
            assert data.startswith(b"\xef\xbb\xbf") == (extract == T2), (extract, name)
            assert b"\r" not in data
            data.decode("utf-8")
    assert (SITE / T1 / "dm.csv").read_text().startswith(
        "RECID,SUBJID,SEX,BRTHYR,CONSDT,ICDIND,ICDIMP,ETIOLCONF,EDC_STATUS\n")
    assert "EDC_STATUS" not in (SITE / T2 / "dm.csv").read_text(encoding="utf-8-sig")


def test_transfers_are_cumulative(sample):
    subjects = [len(sample[e]["dm"]) for e in EXTRACTS]
    assert subjects == [10, 20, 30, 31], "the screen failure 031 consents after T3's extract"
    assert [len(sample[e]["ds"]) for e in EXTRACTS] == [4, 12, 22, 30]
    for earlier, later in zip(EXTRACTS, EXTRACTS[1:]):
        for name in ("sv", "echo", "lb", "qs"):
            assert len(sample[later][name]) > len(sample[earlier][name])
    last = sample[T4]
    assert [r["SUBJID"] for r in last["dm"].values()] == [f"{i:03d}" for i in range(1, 32)]
    assert len(last["ie"]) == 31 * 24


def test_corrections_and_the_deletion_between_transfers(sample):
    # a baseline LVEF typed 72, corrected to 27
    assert sample[T1]["echo"]["001-001"]["LVEF"] == "72"
    assert [sample[e]["echo"]["001-001"]["LVEF"] for e in (T2, T3, T4)] == ["27"] * 3
    # a non-numeric correction in dm and one in ae
    assert [sample[e]["dm"]["002-001"]["SEX"] for e in EXTRACTS] == ["F", "M", "M", "M"]
    assert [sample[e]["ae"]["004-001"]["AESEV"] for e in EXTRACTS] == ["MILD", "MILD", "MODERATE", "MODERATE"]
    # an AE entered in error, deleted from the EDC before the third transfer
    deleted = sample[T2]["ae"]["003-001"]
    assert (deleted["AETERM"], deleted["SUBJID"]) == ("Nausea", "003")
    assert "003-001" in sample[T1]["ae"]
    assert "003-001" not in sample[T3]["ae"] and "003-001" not in sample[T4]["ae"]
    # nothing else disappears or changes, apart from the ongoing AE that resolves
    changes = set()
    for earlier, later in zip(EXTRACTS, EXTRACTS[1:]):
        for name in DTS_FILES:
            for recid, row in sample[earlier][name].items():
                after = sample[later][name].get(recid)
                if after is None:
                    changes.add((earlier, name, recid, "deleted"))
                    continue
                for col, value in row.items():
                    if col != "EDC_STATUS" and value.replace(",", ".") != after[col].replace(",", "."):
                        changes.add((earlier, name, recid, col))
    assert changes == {
        (T1, "echo", "001-001", "LVEF"), (T1, "dm", "002-001", "SEX"),
        (T2, "ae", "003-001", "deleted"), (T2, "ae", "004-001", "AESEV"),
        (T2, "ae", "017-003", "AEENDTC"), (T2, "ae", "017-003", "AEOUT"),
    }


def test_the_other_deliberate_features_are_where_the_readme_says(sample):
    last = sample[T4]
    lb, echo, ae, sv = last["lb"], last["echo"], last["ae"], last["sv"]
    assert lb["019-020"]["LBORRES"] == "<50"
    assert (lb["020-014"]["LBORRES"], lb["020-014"]["LBORRESU"]) == ("1663", "ng/L")
    pmol = lb["021-014"]
    assert (pmol["LBORRES"], pmol["LBORRESU"], pmol["LBORNRHI"]) == ("138.2", "pmol/L", "14.8")
    assert {r["LBORRESU"] for r in lb.values() if r["LBTESTCD"] == "NTPROBNP"} == {"pg/mL", "ng/L", "pmol/L"}
    assert ae["016-001"]["AESTDTC"] == "2021-06" and last["ex"]["016-001"]["EXSTDTC"].startswith("2021-06")
    assert ae["017-003"]["AESTDTC"] == "2021-08" and last["ex"]["017-001"]["EXSTDTC"].startswith("2021-07")
    assert ae["018-004"]["AESTDTC"] == "2021"
    assert ae["015-001"]["AESTDTC"] == last["ex"]["015-001"]["EXSTDTC"][:10] == "2021-04-28"
    assert ae["001-001"]["AESTDTC"] == "2020-04-14T20:40"
    assert (sv["009-009"]["VISIT"], sv["009-009"]["SVSTDTC"]) == ("UNSCHEDULED", "2021-01-02")
    assert echo["009-003"]["VISIT"] == "UNSCHEDULED" and echo["009-003"]["ECHODTC"] == "2021-01-02"
    assert (sv["008-008"]["VISIT"], sv["008-008"]["SVSTDTC"]) == ("MONTH 1", "2021-01-09")
    assert (sv["005-010"]["VISIT"], sv["005-010"]["SVSTDTC"]) == ("MONTH 6", "2021-05-01")
    assert echo["010-004"]["LVEF"] == "270"
    assert int(echo["011-003"]["LVESV"]) > int(echo["011-003"]["LVEDV"])
    assert last["fs"]["012-003"]["SMWD"] == "2800"
    assert last["fs"]["023-001"]["NYHA"] == "3"
    first, duplicate = dict(lb["013-015"]), dict(lb["013-017"])
    assert first.pop("RECID") != duplicate.pop("RECID") and first == duplicate
    assert lb["032-001"]["SUBJID"] == "032" and "032" not in {r["SUBJID"] for r in last["dm"].values()}
    assert last["ex"]["014-001"]["EXSTDTC"] == "2021-03-23"
    assert lb["024-001"]["LBDTC"] == "2022-01-21T07:44" and last["ex"]["024-001"]["EXSTDTC"] == "2022-01-21T12:40"
    assert ae["022-001"]["AETERM"] == 'Перебои в работе сердца, "замирания"'
    assert '"Перебои в работе сердца, ""замирания"""' in (SITE / T4 / "ae.csv").read_text()
    # the death and the withdrawal: nothing dated after them
    assert (last["ds"]["006-001"]["DSDECOD"], last["ds"]["006-001"]["DSSTDTC"]) == ("DEATH", "2021-01-12")
    fatal = ae["006-003"]
    assert (fatal["AEOUT"], fatal["AESER"], fatal["AEENDTC"]) == ("FATAL", "Y", "2021-01-12")
    assert fatal["AEDECOD"] == "Cardiac failure"
    assert last["ds"]["007-001"]["DSDECOD"] == "WITHDRAWAL BY SUBJECT"
    for subjid, end in (("006", "2021-01-12"), ("007", "2021-02-03")):
        dates = [r[col] for name, col in (("sv", "SVSTDTC"), ("echo", "ECHODTC"), ("lb", "LBDTC"), ("qs", "QSDTC"))
                 for r in last[name].values() if r["SUBJID"] == subjid]
        assert dates and max(dates) < end
        assert "MONTH 6" not in {r["VISIT"] for r in sv.values() if r["SUBJID"] == subjid}


def test_the_screen_failure_is_screened_only(sample):
    """Subject 031: consented after 030, IN05 (LVEF <= 35 %) not met at the screening echo, never infused."""
    last = sample[T4]
    assert all("031" not in {r["SUBJID"] for r in sample[e]["dm"].values()} for e in (T1, T2, T3))
    assert last["dm"]["031-001"]["CONSDT"] == "2022-06-27" > last["dm"]["030-001"]["CONSDT"]
    answers = {r["IETESTCD"]: r["IEORRES"] for r in last["ie"].values() if r["SUBJID"] == "031"}
    assert len(answers) == 24
    assert {code: a for code, a in answers.items() if a != ("Y" if code.startswith("IN") else "N")} == {"IN05": "N"}
    assert last["ie"]["031-005"]["IETESTCD"] == "IN05"
    assert (last["sv"]["031-001"]["VISIT"], last["sv"]["031-001"]["SVSTDTC"]) == ("SCREENING", "2022-06-27")
    echo = last["echo"]["031-001"]
    assert (echo["VISIT"], echo["ECHODTC"], echo["LVEF"]) == ("SCREENING", "2022-06-27", "42")
    assert int(echo["LVESV"]) < int(echo["LVEDV"]) and int(echo["LVESD"]) < int(echo["LVEDD"])
    held = {name: sorted(recid for recid, r in last[name].items() if r["SUBJID"] == "031") for name in DTS_FILES}
    assert held == {"dm": ["031-001"], "ie": [f"031-{i:03d}" for i in range(1, 25)], "ex": [],
                    "sv": ["031-001"], "echo": ["031-001"], "ct": [], "lb": [], "fs": [], "qs": [], "ae": [],
                    "ds": []}


def test_sample_values_are_clinically_plausible(sample):
    last = sample[T4]
    screening = [int(r["LVEF"]) for r in last["echo"].values() if r["VISIT"] == "SCREENING" and r["SUBJID"] != "031"]
    assert len(screening) == 30 and max(screening) <= 35 and 24 <= sum(screening) / 30 <= 30
    eligible = {(r["IETESTCD"][:2], r["IEORRES"]) for r in last["ie"].values() if r["SUBJID"] != "031"}
    assert eligible == {("IN", "Y"), ("EX", "N")}
    baseline_nyha = [r["NYHA"] for r in last["fs"].values() if r["VISIT"] == "BASELINE"]
    assert set(baseline_nyha) <= {"III", "IV", "3", "4"}


def test_a_scaled_run_is_deterministic_and_depends_on_the_seed(tmp_path):
    lines: list[str] = []
    first = generate(tmp_path / "a", sites=2, subjects_per_site=5, transfers=2, seed=11, progress=lines.append)
    again = generate(tmp_path / "b", sites=2, subjects_per_site=5, transfers=2, seed=11)
    other = generate(tmp_path / "c", sites=2, subjects_per_site=5, transfers=2, seed=12)
    assert [p.relative_to(tmp_path / "a").as_posix() for p in first] == [
        "KZ01/20201215T020000Z", "KZ01/20230315T020000Z", "KZ02/20201215T020717Z", "KZ02/20230315T020717Z"]
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["KZ01", "KZ02"]
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    assert [p.relative_to(tmp_path / "c") for p in other] == [p.relative_to(tmp_path / "b") for p in again]
    assert _files(tmp_path / "a") != _files(tmp_path / "c")
    # two transfers: the first is the Windows export, the last carries the BOM
    assert json.loads((first[0] / "manifest.json").read_text())["encoding"] == "cp1251"
    assert (first[1] / "dm.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert lines[-1] == "KZ02: done, 5 subjects in 2 transfers"
    assert len(lines) <= 2 * (20 + 1)
    for folder in first:
        manifest, tables = _read(folder)
        assert manifest["site_id"] == folder.parent.name
        assert {r["SUBJID"] for r in tables["dm"].values()} <= {f"{i:03d}" for i in range(1, 7)}
        # 006 is each site's screen failure: screened, inclusion IN05 not met, never infused
        assert "006" not in {r["SUBJID"] for name in ("ex", "ds", "ae", "lb") for r in tables[name].values()}
    for folder in first[1::2]:  # each site's last transfer: every subject, the screen failure too
        _, tables = _read(folder)
        assert {r["SUBJID"] for r in tables["dm"].values()} == {f"{i:03d}" for i in range(1, 7)}
        assert [(r["IETESTCD"], r["IEORRES"]) for r in tables["ie"].values()
                if r["SUBJID"] == "006" and r["IEORRES"] != ("Y" if r["IETESTCD"].startswith("IN") else "N")] == [
            ("IN05", "N")]
        assert {r["SUBJID"] for r in tables["lb"].values()} - {r["SUBJID"] for r in tables["dm"].values()} == {"007"}


def test_default_seed_is_the_samples():
    assert generate.__kwdefaults__["seed"] == DEFAULT_SEED


def test_output_does_not_depend_on_string_hashing(tmp_path):
    import os
    import sys

    from processes import run

    code = ("import sys, pathlib; from orchestration.generate import generate; "
            "generate(pathlib.Path(sys.argv[1]), subjects_per_site=6, transfers=3)")
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(REPO)}
        result = run([sys.executable, "-c", code, str(tmp_path / hash_seed)], env=env, timeout=60)
        assert result.returncode == 0, result.stderr
    assert _files(tmp_path / "1") == _files(tmp_path / "2")
