"""The two parts of the submission package, each described once: SDTM (tabulations) and ADaM
(analysis datasets). Everything the writer, define.xml and the checks do differently for one
standard is a field here; the code paths are the same.

A variable pattern's "--" is the dataset's name (its domain prefix in SDTM): "--SEQ" is AESEQ in AE.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestration.dts import STUDY_ID

# Controlled terminology standards, by the seed that holds their codelists
# (dbt_project/seeds/<seed>): an NCI codelist of a seed is of that seed's CT package.
SDTM_CT = {"OID": "STD.CT.SDTM.2025-03-28", "Name": "CDISC/NCI", "Type": "CT", "PublishingSet": "SDTM",
           "Version": "2025-03-28", "Status": "Final"}
ADAM_CT = {"OID": "STD.CT.ADAM.2026-03-27", "Name": "CDISC/NCI", "Type": "CT", "PublishingSet": "ADaM",
           "Version": "2026-03-27", "Status": "Final"}
CT_BY_SEED = {"sdtm_terminology.csv": SDTM_CT, "adam_terminology.csv": ADAM_CT}


@dataclass(frozen=True)
class SeedCodelist:
    """A sponsor codelist whose one list is a column of another seed (dbt_project/seeds/<seed>):
    its terms the column `term`'s values in seed order, decoded by the column `decode`."""
    name: str
    seed: str
    term: str
    decode: str | None
    title: str


@dataclass(frozen=True)
class Standard:
    key: str  # sdtm | adam: the published schema, submission/<key>/, conformance.json's section
    models: str  # the dbt models' folder, as the manifest's original_file_path starts
    ig: dict[str, str]  # define.xml's def:Standard of the implementation guide
    model_version: tuple[str, str]  # the data model and its version, for conformance.json
    purpose: str  # ItemGroupDef Purpose
    title: str  # MetaDataVersion Name, after the study's name
    classes: tuple[str, ...]  # the def:Class names a dataset may have (config.meta.class)
    origins: tuple[str, ...]  # the def:Origin types a variable may have (config.meta.origin)
    # Mandatory="Yes" (a column's meta `mandatory: true|false` overrides)
    required: tuple[str, ...]
    subject_level: str  # the one-record-per-subject dataset: Repeating="No", first in define.xml
    seeds: tuple[str, ...]  # the terminology seeds its variables' codelists come from
    # value-level metadata: the variable whose values select it ("--TESTCD") and the variables it describes
    value_key: str
    value_results: tuple[str, ...]
    sequence: str  # unique within a subject: the rows' order after the keys
    domain_attribute: bool  # ItemGroupDef Domain (SDTM: the domain; not used for ADaM)
    reference_class: str | None = None  # datasets of this class are IsReferenceData="Yes"
    # (class, domain, def:SubClass): a dataset of the class whose predecessors are of the domain
    # has the subclass, unless its config.meta.subclass says otherwise
    subclasses: tuple[tuple[str, str, str], ...] = ()
    # define.html: where a predecessor of another standard's dataset is described, from this folder
    predecessors_page: str | None = None
    seed_codelists: tuple[SeedCodelist, ...] = ()  # codelists kept in other seeds than `seeds`

    @property
    def schema(self) -> str:
        return self.key

    @property
    def metadata_version_oid(self) -> str:
        return f"MDV.{STUDY_ID}.{self.ig['Name']}.{self.ig['Version']}"

    def variables(self, patterns: tuple[str, ...], dataset: str) -> set[str]:
        return {p.replace("--", dataset) for p in patterns}

    @property
    def terminology_seeds(self) -> list[str]:
        """Every seed its codelists come from."""
        return [*self.seeds, *(c.seed for c in self.seed_codelists)]


SDTM = Standard(
    key="sdtm",
    models="models/sdtm/",
    ig={"OID": "STD.SDTMIG.3.4", "Name": "SDTMIG", "Type": "IG", "Version": "3.4", "Status": "Final"},
    model_version=("SDTM", "2.0"),
    purpose="Tabulation",
    title="SDTM tabulations",
    classes=("SPECIAL PURPOSE", "INTERVENTIONS", "EVENTS", "FINDINGS", "FINDINGS ABOUT", "TRIAL DESIGN", "RELATIONSHIP"),
    origins=("Collected", "Derived", "Assigned", "Protocol", "Predecessor"),
    # identifiers and topic variables that SDTMIG makes Required
    required=("STUDYID", "DOMAIN", "RDOMAIN", "USUBJID", "--SEQ", "--TESTCD", "--TEST", "QNAM", "QLABEL", "QVAL",
              "TSPARMCD", "TSPARM", "ARMCD", "ARM", "ETCD", "ELEMENT", "VISITNUM", "IETESTCD", "IETEST"),
    subject_level="DM",
    seeds=("sdtm_terminology.csv",),
    value_key="--TESTCD",
    value_results=("--ORRES", "--ORRESU", "--STRESC", "--STRESN", "--STRESU"),
    sequence="--SEQ",
    domain_attribute=True,
    reference_class="TRIAL DESIGN",
)

ADAM = Standard(
    key="adam",
    models="models/adam/",
    ig={"OID": "STD.ADAMIG.1.3", "Name": "ADaMIG", "Type": "IG", "Version": "1.3", "Status": "Final"},
    model_version=("ADaM", "2.1"),
    purpose="Analysis",
    title="ADaM analysis datasets",
    classes=("SUBJECT LEVEL ANALYSIS DATASET", "BASIC DATA STRUCTURE", "OCCURRENCE DATA STRUCTURE"),
    origins=("Predecessor", "Derived", "Assigned"),
    # ADaMIG's identifiers, never missing
    required=("STUDYID", "USUBJID", "SUBJID", "SITEID", "PARAMCD", "PARAM"),
    subject_level="ADSL",
    # ADaM variables use ADaM CT and SDTM CT (NY, SEX, AESEV, ...); no codelist is in both seeds
    seeds=("adam_terminology.csv", "sdtm_terminology.csv"),
    value_key="PARAMCD",
    value_results=("AVAL", "AVALC"),
    sequence="ASEQ",
    domain_attribute=False,
    # ADaM OCCDS v1.1: an occurrence dataset of adverse events is of its ADVERSE EVENT subclass
    subclasses=(("OCCURRENCE DATA STRUCTURE", "AE", "ADVERSE EVENT"),),
    predecessors_page="../sdtm/define.html",
    # the parameters' and analysis visits' one list is the seed the models derive them from
    seed_codelists=(SeedCodelist("PARAMCD", "parameter_catalog.csv", "PARAMCD", "PARAM", "Parameter Code"),
                    SeedCodelist("AVISIT", "visit_windows.csv", "AVISIT", None, "Analysis Visit")),
)

STANDARDS = (SDTM, ADAM)
