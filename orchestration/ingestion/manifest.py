"""Reading and checking a transfer's manifest.json (DTS section 2)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from orchestration import dts
from orchestration.ingestion.transfers import TransferRef, TransferRejected

_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class ListedFile:
    name: str
    rows: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    dts_version: str
    study: str
    site_id: str
    extract_id: str
    extracted_at: str
    encoding: str
    delimiter: str
    decimal_separator: str
    files: tuple[ListedFile, ...]
    text: str

    def listed(self, name: str) -> ListedFile | None:
        return next((f for f in self.files if f.name == name), None)


def read_manifest(transfer: TransferRef) -> Manifest:
    """The transfer's manifest, or TransferRejected naming the first rule it breaks."""
    reject = _rejector(transfer)
    raw_bytes = transfer.manifest_path.read_bytes()
    try:
        text = raw_bytes.decode("utf-8-sig")
        content = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise reject("manifest-json", f"manifest.json is not valid JSON ({exc})")
    if not isinstance(content, dict):
        raise reject("manifest-json", "manifest.json is not a JSON object")

    missing = [f for f in dts.MANIFEST_FIELDS if f not in content or content[f] in (None, "")]
    if missing:
        raise reject("manifest-field", f"manifest.json lacks field(s): {', '.join(missing)}")

    _check_value(reject, content, "dts_version", (dts.DTS_VERSION,))
    if content["study"] != dts.STUDY_ID:
        raise reject("study-id", f"study is {content['study']!r}, expected {dts.STUDY_ID!r}")
    _check_ids(transfer, reject, content)
    _check_value(reject, content, "encoding", dts.ENCODINGS)
    _check_value(reject, content, "delimiter", dts.DELIMITERS)
    _check_value(reject, content, "decimal_separator", dts.DECIMAL_SEPARATORS)
    if content["decimal_separator"] == "," and content["delimiter"] != ";":
        raise reject("manifest-value", "decimal_separator ',' requires delimiter ';'")

    return Manifest(
        dts_version=content["dts_version"],
        study=content["study"],
        site_id=content["site_id"],
        extract_id=content["extract_id"],
        extracted_at=str(content["extracted_at"]),
        encoding=content["encoding"].lower(),
        delimiter=content["delimiter"],
        decimal_separator=content["decimal_separator"],
        files=_listed_files(reject, content["files"]),
        text=text,
    )


def _rejector(transfer: TransferRef):
    def reject(rule: str, detail: str) -> TransferRejected:
        return TransferRejected(transfer, rule, detail, file=dts.MANIFEST_NAME)

    return reject


def _check_value(reject, content: dict, field: str, allowed: tuple[str, ...]) -> None:
    value = content[field]
    normalized = value.lower() if isinstance(value, str) and field == "encoding" else value
    if normalized not in allowed:
        raise reject(
            "manifest-value",
            f"{field} is {value!r}; DTS v1.0 allows {', '.join(repr(a) for a in allowed)}",
        )


def _check_ids(transfer: TransferRef, reject, content: dict) -> None:
    if not dts.SITE_ID_PATTERN.fullmatch(transfer.site_id):
        raise reject("folder-ids", f"site folder {transfer.site_id!r} is not a SITEID ([A-Z0-9]{{2,8}})")
    if not dts.EXTRACT_ID_PATTERN.fullmatch(transfer.extract_id):
        raise reject(
            "folder-ids", f"extract folder {transfer.extract_id!r} is not an EXTRACT_ID (YYYYMMDDTHHMMSSZ)"
        )
    for field, folder_value in (("site_id", transfer.site_id), ("extract_id", transfer.extract_id)):
        if content[field] != folder_value:
            raise reject(
                "folder-ids", f"{field} is {content[field]!r} but the folder says {folder_value!r}"
            )


def _listed_files(reject, files) -> tuple[ListedFile, ...]:
    if not isinstance(files, list):
        raise reject("manifest-value", "files is not a list")
    listed = []
    for position, entry in enumerate(files, start=1):
        if not isinstance(entry, dict):
            raise reject("manifest-value", f"files entry {position} is not an object")
        missing = [f for f in dts.MANIFEST_FILE_FIELDS if f not in entry]
        if missing:
            raise reject("manifest-field", f"files entry {position} lacks: {', '.join(missing)}")
        name, rows, sha256 = entry["name"], entry["rows"], entry["sha256"]
        if not isinstance(name, str) or "/" in name or "\\" in name or name.startswith("."):
            raise reject("manifest-value", f"files entry {position} has an invalid name {name!r}")
        if isinstance(rows, bool) or not isinstance(rows, int) or rows < 0:
            raise reject("manifest-value", f"{name}: rows is {rows!r}, not a whole number >= 0")
        if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
            raise reject("manifest-value", f"{name}: sha256 is not 64 hex digits")
        listed.append(ListedFile(name, rows, sha256.lower()))
    return tuple(listed)
