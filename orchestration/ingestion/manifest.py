"""Reading and checking a transfer's manifest.json (DTS section 2)."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from orchestration import dts
from orchestration.ingestion.file_scan import open_delivered
from orchestration.ingestion.transfers import TransferRef, TransferRejected, printable

_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
# A manifest lists eleven files or so: a few kB. Anything far larger is not one, and is not read whole.
MAX_MANIFEST_BYTES = 1 << 20
# Row counts beyond any EDC extract (and within DuckDB's BIGINT, also summed over a transfer's files).
MAX_ROWS = 10**12
MAX_FILE_NAME_CHARS = 255


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
    sha256: str  # of manifest.json's bytes

    def listed(self, name: str) -> ListedFile | None:
        return next((f for f in self.files if f.name == name), None)


def read_manifest(transfer: TransferRef) -> Manifest:
    """The transfer's manifest, or TransferRejected naming the first rule it breaks."""
    return parse_manifest(transfer, read_manifest_bytes(transfer))


def parse_manifest(transfer: TransferRef, raw_bytes: bytes) -> Manifest:
    """The manifest in `raw_bytes` (manifest.json's), or TransferRejected naming the first rule it breaks."""
    reject = _rejector(transfer)
    if len(raw_bytes) > MAX_MANIFEST_BYTES:
        raise reject("manifest-json", f"manifest.json is larger than {MAX_MANIFEST_BYTES} bytes: not a manifest")
    try:
        text = raw_bytes.decode("utf-8-sig")
        content = json.loads(text, object_pairs_hook=_without_repeated_keys, parse_constant=_not_json)
        # stored in raw.transfer_log and read there by DuckDB: JSON text of Unicode strings only
        json.dumps(content, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (UnicodeError, ValueError) as exc:  # json.JSONDecodeError is a ValueError
        raise reject("manifest-json", f"manifest.json is not valid JSON ({exc})")
    except RecursionError:
        raise reject("manifest-json", "manifest.json is not valid JSON (nested too deeply)")
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
        extracted_at=printable(content["extracted_at"], 100),
        encoding=content["encoding"].lower(),
        delimiter=content["delimiter"],
        decimal_separator=content["decimal_separator"],
        files=_listed_files(reject, content["files"]),
        text=text,
        sha256=hashlib.sha256(raw_bytes).hexdigest(),
    )


def read_manifest_bytes(transfer: TransferRef) -> bytes:
    """manifest.json's bytes, at most MAX_MANIFEST_BYTES + 1 of them (a regular file only)."""
    with open_delivered(transfer.manifest_path) as handle:
        return handle.read(MAX_MANIFEST_BYTES + 1)


def _not_json(constant: str):
    raise ValueError(f"{constant} is not a JSON value")


def _without_repeated_keys(pairs: list[tuple[str, object]]) -> dict:
    keys = [key for key, _ in pairs]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        raise ValueError(f"key {printable(repeated[0], 60)!r} appears twice in one object")
    return dict(pairs)


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
    if not dts.is_extract_id(transfer.extract_id):
        raise reject(
            "folder-ids", f"extract folder {transfer.extract_id!r} is not an EXTRACT_ID (a UTC time YYYYMMDDTHHMMSSZ)"
        )
    for field, folder_value in (("site_id", transfer.site_id), ("extract_id", transfer.extract_id)):
        if content[field] != folder_value:
            raise reject(
                "folder-ids", f"{field} is {content[field]!r} but the folder says {folder_value!r}"
            )


def _listed_files(reject, files) -> tuple[ListedFile, ...]:
    if not isinstance(files, list):
        raise reject("manifest-value", "files is not a list")
    listed: dict[str, ListedFile] = {}
    for position, entry in enumerate(files, start=1):
        if not isinstance(entry, dict):
            raise reject("manifest-value", f"files entry {position} is not an object")
        missing = [f for f in dts.MANIFEST_FILE_FIELDS if f not in entry]
        if missing:
            raise reject("manifest-field", f"files entry {position} lacks: {', '.join(missing)}")
        name, rows, sha256 = entry["name"], entry["rows"], entry["sha256"]
        if not _plain_file_name(name):
            raise reject("manifest-value", f"files entry {position} has an invalid name {printable(repr(name), 100)}")
        if isinstance(rows, bool) or not isinstance(rows, int) or not 0 <= rows <= MAX_ROWS:
            raise reject("manifest-value", f"{name}: rows is {printable(repr(rows), 60)}, not a whole number from 0 to {MAX_ROWS:.0e}")
        if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
            raise reject("manifest-value", f"{name}: sha256 is not 64 hex digits")
        if name in listed:
            raise reject("manifest-value", f"{name} is listed twice (files entries {_position(files, name)} and {position})")
        listed[name] = ListedFile(name, rows, sha256.lower())
    return tuple(listed.values())


def _plain_file_name(name) -> bool:
    """A file name of the transfer folder itself: no path, not hidden, nothing a terminal or a
    database would garble."""
    return (
        isinstance(name, str)
        and 0 < len(name) <= MAX_FILE_NAME_CHARS
        and not name.startswith(".")
        and "/" not in name
        and "\\" not in name
        and printable(name) == name
    )


def _position(files: list, name: str) -> int:
    return next(index for index, entry in enumerate(files, start=1) if entry.get("name") == name)
