"""What the Data Transfer Specification (DTS v1.0) fixes about a transfer's shape.

The warehouse's own description of the DTS lives in README.md ("What the sites send").
"""

from __future__ import annotations

import re
from datetime import datetime

STUDY_ID = "NCT04325594"
DTS_VERSION = "1.0"

SITE_ID_PATTERN = re.compile(r"[A-Z0-9]{2,8}")
EXTRACT_ID_FORMAT = "%Y%m%dT%H%M%SZ"
_EXTRACT_ID_PATTERN = re.compile(r"[0-9]{8}T[0-9]{6}Z")  # ASCII digits: \d would take any script's


def is_extract_id(text: str) -> bool:
    """A UTC extraction time YYYYMMDDTHHMMSSZ that exists (no month 13, no second 61)."""
    if not _EXTRACT_ID_PATTERN.fullmatch(text):
        return False
    try:
        datetime.strptime(text, EXTRACT_ID_FORMAT)
    except ValueError:
        return False
    return True


MANIFEST_NAME = "manifest.json"
MANIFEST_FIELDS = (
    "dts_version",
    "study",
    "site_id",
    "extract_id",
    "extracted_at",
    "encoding",
    "delimiter",
    "decimal_separator",
    "files",
)
MANIFEST_FILE_FIELDS = ("name", "rows", "sha256")
ENCODINGS = ("utf-8", "cp1251")
DELIMITERS = (",", ";")
DECIMAL_SEPARATORS = (".", ",")

# Every file a transfer must hold, with the columns its header must name (matched
# case-insensitively after trimming; extra columns are allowed).
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "dm": ("RECID", "SUBJID", "SEX", "BRTHYR", "CONSDT", "ICDIND", "ICDIMP", "ETIOLCONF"),
    "ie": ("RECID", "SUBJID", "IETESTCD", "IEORRES"),
    "ex": ("RECID", "SUBJID", "EXSTDTC", "EXDOSE", "EXROUTE", "EXLOC", "EXLOT"),
    "sv": ("RECID", "SUBJID", "VISIT", "SVSTDTC"),
    "echo": ("RECID", "SUBJID", "VISIT", "ECHODTC", "LVEF", "LVEDV", "LVESV", "LVEDD", "LVESD"),
    "ct": ("RECID", "SUBJID", "VISIT", "CTDTC", "LVEF", "LVEDV", "LVESV", "IVS", "LVPW"),
    "lb": (
        "RECID", "SUBJID", "VISIT", "LBDTC", "LBTESTCD", "LBORRES", "LBORRESU", "LBORNRLO",
        "LBORNRHI",
    ),
    "fs": ("RECID", "SUBJID", "VISIT", "FSDTC", "NYHA", "SMWD"),
    "qs": ("RECID", "SUBJID", "VISIT", "QSDTC", "QSCAT", "QSTESTCD", "QSORRES"),
    "ae": (
        "RECID", "SUBJID", "AESPID", "AETERM", "AEDECOD", "AEBODSYS", "AESTDTC", "AEENDTC",
        "AESEV", "AESER", "AEREL", "AEOUT",
    ),
    "ds": ("RECID", "SUBJID", "DSDECOD", "DSSTDTC"),
}
DTS_FILES = tuple(REQUIRED_COLUMNS)


def file_name(domain: str) -> str:
    return f"{domain}.csv"

# Columns that hold numbers written under the manifest's decimal separator (`27,5` in a `,`
# transfer); lb.LBORRES may carry a `<` or `>` in front.
NUMERIC_COLUMNS: dict[str, tuple[str, ...]] = {
    "ex": ("EXDOSE",),
    "echo": ("LVEF", "LVEDV", "LVESV", "LVEDD", "LVESD"),
    "ct": ("LVEF", "LVEDV", "LVESV", "IVS", "LVPW"),
    "lb": ("LBORRES", "LBORNRLO", "LBORNRHI"),
    "fs": ("SMWD",),
    "qs": ("QSORRES",),
}
