"""Small hand-made DTS transfers for tests: one valid transfer, then break it on purpose."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

from orchestration import dts


def minimal_rows(subjid: str = "001", lvef: str = "27.5") -> dict[str, list[dict[str, str]]]:
    """One subject with one row in every DTS file."""
    base = {"SUBJID": subjid}
    return {
        "dm": [{**base, "RECID": f"DM{subjid}", "SEX": "M", "BRTHYR": "1970", "CONSDT": "2020-03-02",
                "ICDIND": "Y", "ICDIMP": "N", "ETIOLCONF": "ANGIO"}],
        "ie": [{**base, "RECID": f"IE{subjid}", "IETESTCD": "IN01", "IEORRES": "Y"}],
        "ex": [{**base, "RECID": f"EX{subjid}", "EXSTDTC": "2020-03-20T10:30", "EXDOSE": "1.0E7",
                "EXROUTE": "INTRACORONARY", "EXLOC": "LEFT CORONARY ARTERY", "EXLOT": "L1"}],
        "sv": [{**base, "RECID": f"SV{subjid}", "VISIT": "BASELINE", "SVSTDTC": "2020-03-18"}],
        "echo": [{**base, "RECID": f"EC{subjid}", "VISIT": "BASELINE", "ECHODTC": "2020-03-18",
                  "LVEF": lvef, "LVEDV": "231.4", "LVESV": "167.8", "LVEDD": "70", "LVESD": "61"}],
        "ct": [{**base, "RECID": f"CT{subjid}", "VISIT": "BASELINE", "CTDTC": "2020-03-18", "LVEF": "28",
                "LVEDV": "240", "LVESV": "172", "IVS": "9.5", "LVPW": "9.1"}],
        "lb": [{**base, "RECID": f"LB{subjid}", "VISIT": "BASELINE", "LBDTC": "2020-03-18T08:00",
                "LBTESTCD": "NTPROBNP", "LBORRES": "2480", "LBORRESU": "pg/mL", "LBORNRLO": "0",
                "LBORNRHI": "125"}],
        "fs": [{**base, "RECID": f"FS{subjid}", "VISIT": "BASELINE", "FSDTC": "2020-03-18", "NYHA": "III",
                "SMWD": "280"}],
        "qs": [{**base, "RECID": f"QS{subjid}", "VISIT": "BASELINE", "QSDTC": "2020-03-18", "QSCAT": "MLHFQ",
                "QSTESTCD": "MLHFQ01", "QSORRES": "3"}],
        "ae": [{**base, "RECID": f"AE{subjid}", "AESPID": "1", "AETERM": "Боль в груди", "AEDECOD": "Chest pain",
                "AEBODSYS": "General disorders and administration site conditions", "AESTDTC": "2020-03-20T14:00",
                "AEENDTC": "2020-03-21", "AESEV": "MILD", "AESER": "N", "AEREL": "POSSIBLY RELATED",
                "AEOUT": "RECOVERED"}],
        "ds": [{**base, "RECID": f"DS{subjid}", "DSDECOD": "COMPLETED", "DSSTDTC": "2020-09-20"}],
    }


def write_transfer(
    landing: Path,
    site_id: str = "KZ99",
    extract_id: str = "20210101T020000Z",
    rows: dict[str, list[dict[str, str]]] | None = None,
    *,
    encoding: str = "utf-8",
    delimiter: str = ",",
    decimal_separator: str = ".",
    manifest_overrides: dict | None = None,
) -> Path:
    """Write a valid transfer folder (manifest last) and return its path."""
    rows = rows if rows is not None else minimal_rows()
    folder = landing / site_id / extract_id
    folder.mkdir(parents=True)
    listed = []
    for domain, columns in dts.REQUIRED_COLUMNS.items():
        name = dts.file_name(domain)
        file_rows = rows.get(domain, [])
        header = list(columns) + [c for r in file_rows for c in r if c not in columns]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(dict.fromkeys(header)), delimiter=delimiter, lineterminator="\n")
        writer.writeheader()
        writer.writerows(file_rows)
        data = buffer.getvalue().encode(encoding)
        (folder / name).write_bytes(data)
        listed.append({"name": name, "rows": len(file_rows), "sha256": hashlib.sha256(data).hexdigest()})
    manifest = {
        "dts_version": "1.0",
        "study": "NCT04325594",
        "site_id": site_id,
        "extract_id": extract_id,
        "extracted_at": f"{extract_id[:4]}-{extract_id[4:6]}-{extract_id[6:8]}T02:00:00Z",
        "encoding": encoding,
        "delimiter": delimiter,
        "decimal_separator": decimal_separator,
        "files": listed,
    }
    manifest.update(manifest_overrides or {})
    write_manifest(folder, manifest)
    return folder


def read_manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def write_manifest(folder: Path, manifest: dict) -> None:
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def relist(folder: Path, name: str) -> None:
    """Make the manifest agree again with a file edited on purpose (rows and sha256)."""
    manifest = read_manifest(folder)
    data = (folder / name).read_bytes()
    for entry in manifest["files"]:
        if entry["name"] == name:
            text = data.decode(manifest["encoding"])
            entry["rows"] = len(list(csv.reader(io.StringIO(text), delimiter=manifest["delimiter"]))) - 1
            entry["sha256"] = hashlib.sha256(data).hexdigest()
    write_manifest(folder, manifest)
