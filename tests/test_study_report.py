"""The study report every refresh writes: one self-contained HTML page whose numbers are the marts'."""

import re
from html.parser import HTMLParser
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from scipy import stats

from orchestration.reporting.markup import report_outline, report_plots
from orchestration.reporting.study_report import REPORT_NAME, write_study_report
from orchestration.reporting.confidence import mean_interval

PLOTS = ["trajectory-LVEFECHO", "trajectory-NTPROBNP", "change-LVEFECHO", "forest-change", "nyha-by-visit",
         "teae-onset"]
SECTIONS = ["subject-flow", "baseline", "trajectories", "change-from-baseline", "nyha-shift", "adverse-events",
            "data-issues", "transfers"]


class _Tables(HTMLParser):
    """Every <table id=...>: its rows as (row class, [cell texts])."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[tuple[str, list[str]]]] = {}
        self._table = self._row = self._cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and "id" in attrs:
            self._table = self.tables.setdefault(attrs["id"], [])
        elif tag == "tr" and self._table is not None:
            self._row = (attrs.get("class") or "", [])
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row[1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self._table.append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def tables_of(html_text: str) -> dict[str, list[tuple[str, list[str]]]]:
    parser = _Tables()
    parser.feed(html_text)
    return parser.tables


def plots_of(html_text: str) -> dict[str, list[str]]:
    """Every inline plot by its name (aria-label): the texts it draws, in order (ticks, axis labels, title, legend)."""
    return {
        name: [" ".join(re.sub(r"<[^>]+>", "", t).split()) for t in re.findall(r"<text\b[^>]*>(.*?)</text>", svg, re.DOTALL)]
        for name, svg in re.findall(r'<svg role="img" aria-label="([^"]+)"(.*?)</svg>', html_text, re.DOTALL)
    }


def body_rows(tables, table_id) -> list[tuple[str, list[str]]]:
    return tables[table_id][1:]  # the first row is the header


@pytest.fixture(scope="module")
def report(sample_warehouse) -> str:
    path = sample_warehouse.parent / "reports" / REPORT_NAME
    assert path.is_file(), "every refresh writes the study report beside the warehouse"
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def tables(report):
    return tables_of(report)


@pytest.fixture(scope="module")
def marts(sample_warehouse):
    con = duckdb.connect(str(sample_warehouse), read_only=True)
    yield lambda sql: con.execute(sql).fetchall()
    con.close()


def test_the_report_is_one_self_contained_page(report):
    assert len(report.encode()) < 1_000_000
    assert report_plots(report) == list(plots_of(report)) == PLOTS, "every plot inline, as SVG"
    assert report.count("<svg") == len(PLOTS)
    assert not re.search(r"https?:|ftp:|//[a-z]", report, re.IGNORECASE), "nothing points outside the file"
    assert not re.search(r"<(script|link|img|iframe|object|embed)\b|@import", report, re.IGNORECASE)
    references = re.findall(r"""(?:src|href)\s*=\s*["']?([^"'\s>]*)""", report, re.IGNORECASE)
    references += re.findall(r"url\(\s*([^)]*)\)", report, re.IGNORECASE)
    assert references and all(ref.strip("'\"").startswith("#") for ref in references), set(references)
    assert list(report_outline(report)) == SECTIONS
    assert "NCT04325594" in report and re.search(r"Generated</th><td>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", report)
    assert "KZ01: 20230315T020000Z" in report, "the header names each site's latest transfer"


@pytest.fixture(scope="module")
def plots(report):
    return plots_of(report)


def _visit_ns(texts: list[str]) -> dict[str, int]:
    """The N under each visit's tick label: "Baseline", "N=30" -> {"Baseline": 30}."""
    return {label: int(n.removeprefix("N=")) for label, n in zip(texts, texts[1:]) if n.startswith("N=")}


def test_every_plot_has_a_title_axis_labels_with_units_and_n_per_visit(plots):
    titled = {
        "trajectory-LVEFECHO": ("LVEF by echo: each subject and the mean (95% CI) by visit",
                                "Analysis visit (N = subjects with a value)", "Left Ventricular Ejection Fraction by Echo (%)"),
        "trajectory-NTPROBNP": ("NT-proBNP: each subject and the mean (95% CI) by visit",
                                "Analysis visit (N = subjects with a value)", "NT-proBNP (pg/mL)"),
        "change-LVEFECHO": ("LVEF by echo: change from baseline, mean (95% CI) by visit",
                            "Analysis visit (N = subjects with a value)", "Change from baseline (percentage points)"),
        "forest-change": ("Change from baseline of every parameter, standardised",
                          "Mean change / SD of change (unitless)", "Parameter (PARAMCD)"),
        "nyha-by-visit": ("NYHA class by visit, baseline to Month 6",
                          "Analysis visit (N = subjects with a class)", "Subjects (%)"),
        "teae-onset": ("Treatment-emergent AEs by day of onset, days 1–5 (N=30 infused)",
                       "Study day of onset (ASTDY; n = subjects with an onset that day)", "Adverse events (count)"),
    }
    assert set(titled) == set(plots)
    for name, (title, x_label, y_label) in titled.items():
        assert {title, x_label, y_label} <= set(plots[name]), name


def test_trajectory_and_change_plots_count_the_efficacy_summary(plots, marts):
    for paramcd in ("LVEFECHO", "NTPROBNP"):
        expected = dict(marts(f"SELECT AVISIT, N FROM marts.efficacy_summary WHERE PARAMCD = '{paramcd}'"))
        assert _visit_ns(plots[f"trajectory-{paramcd}"]) == expected
    assert _visit_ns(plots["trajectory-LVEFECHO"]) == {"Baseline": 30, "Month 1": 29, "Month 3": 29, "Month 6": 27}
    changes = dict(marts("SELECT AVISIT, N_CHG FROM marts.efficacy_summary WHERE PARAMCD = 'LVEFECHO' AND AVISITN > 0"))
    assert _visit_ns(plots["change-LVEFECHO"]) == changes == {"Month 1": 29, "Month 3": 29, "Month 6": 27}


def test_forest_plot_legend_gives_the_range_of_n_per_visit(plots, marts):
    ranges = marts(
        "SELECT AVISIT, min(N_CHG), max(N_CHG) FROM marts.efficacy_summary "
        "WHERE AVISITN > 0 AND CI95_LOW IS NOT NULL AND SD_CHG > 0 GROUP BY ALL ORDER BY min(AVISITN)"
    )
    expected = [f"{visit} (N={low})" if low == high else f"{visit} (N={low}–{high})" for visit, low, high in ranges]
    assert plots["forest-change"][-3:] == expected


def test_nyha_plot_counts_each_class_at_each_visit(plots, marts):
    texts = plots["nyha-by-visit"]
    expected = dict(marts(
        "SELECT AVISIT, count(*) FROM marts.adeff WHERE PARAMCD = 'NYHA' AND ANL01FL = 'Y' AND AVISIT IS NOT NULL GROUP BY ALL"
    ))
    assert _visit_ns(texts) == expected
    [(with_baseline,)] = marts("SELECT count(*) FROM marts.adeff WHERE PARAMCD = 'NYHA' AND ABLFL = 'Y'")
    assert expected["Baseline"] == with_baseline, "the same subjects as the shift table"
    # Each part of 6 % or more of its bar shows its count; the legend lists the classes, IV on top.
    parts = marts(
        "SELECT count(*) AS n, n / sum(n) OVER (PARTITION BY AVISIT) AS share FROM marts.adeff "
        "WHERE PARAMCD = 'NYHA' AND ANL01FL = 'Y' AND AVISIT IS NOT NULL GROUP BY AVISIT, AVAL"
    )
    labelled = sorted(str(n) for n, share in parts if share >= 0.06)
    after_axis = texts[texts.index("Subjects (%)") + 1:texts.index("NYHA class by visit, baseline to Month 6")]
    assert sorted(after_axis) == labelled
    assert texts[-4:] == ["IV", "III", "II", "I"]


def test_teae_onset_plot_counts_subjects_per_day_of_the_primary_window(plots, marts):
    texts = plots["teae-onset"]
    per_day = dict(marts("SELECT ASTDY, count(DISTINCT USUBJID) FROM marts.adae WHERE PRIMWFL = 'Y' GROUP BY ALL"))
    shown = {int(day.removeprefix("Day ")): int(n.removeprefix("n="))
             for day, n in zip(texts, texts[1:]) if day.startswith("Day ")}
    assert shown == {day: per_day.get(day, 0) for day in range(1, 6)} == {1: 14, 2: 8, 3: 0, 4: 0, 5: 0}
    severities = [s for (s,) in marts("SELECT DISTINCT AESEV FROM marts.adae WHERE PRIMWFL = 'Y' ORDER BY 1")]
    assert texts[texts.index("AESEV") + 1:] == severities == ["MILD", "MODERATE"]


def test_subject_flow_counts_are_the_marts(tables, marts):
    flow = {cells[0]: int(cells[1]) for _, cells in body_rows(tables, "subject-flow-table")}
    [(enrolled, eligible, infused, completed, withdrawn, died)] = marts(
        "SELECT count(*), count(*) FILTER (ELIGFL = 'Y'), count(*) FILTER (SAFFL = 'Y'), "
        "count(*) FILTER (EOSSTT = 'COMPLETED'), count(*) FILTER (EOSSTT = 'DISCONTINUED' AND DCSREAS <> 'DEATH'), "
        "count(*) FILTER (DTHFL = 'Y') FROM marts.adsl"
    )
    seen = dict(marts(
        "SELECT AVISIT, count(DISTINCT USUBJID) FROM marts.adeff WHERE ANL01FL = 'Y' AND AVISITN > 0 GROUP BY AVISIT"
    ))
    assert (enrolled, eligible, infused) == (31, 30, 30), "the sample's screen failure 031 is in adsl, not eligible"
    assert flow == {
        "Enrolled": enrolled, "Eligible": eligible, "Infused": infused,
        "Seen at Month 1": seen["Month 1"], "Seen at Month 3": seen["Month 3"], "Seen at Month 6": seen["Month 6"],
        "Completed": completed, "Withdrawn": withdrawn, "Died": died, "Ongoing": enrolled - completed - withdrawn - died,
    }


def test_adverse_event_tables_are_safety_summary(tables, marts):
    for period in ("PRIMARY WINDOW", "OVERALL"):
        shown, soc = [], None
        for row_class, cells in body_rows(tables, "ae-" + period.lower().replace(" ", "-")):
            level = row_class.removeprefix("level-").upper()
            soc = cells[0] if level == "SOC" else soc
            terms = {"ANY": (None, None), "SOC": (cells[0], None), "PT": (soc, cells[0])}[level]
            shown.append((level, *terms, *map(int, (cells[1], cells[3], cells[4], cells[5], cells[6])), cells[2]))
        expected = [
            (level, soc, pt, n, events, serious, related, severe, f"{pct:.1f}")
            for level, soc, pt, n, pct, events, serious, related, severe in marts(
                "SELECT LEVEL, AEBODSYS, AEDECOD, N_SUBJ, PCT_SUBJ, N_EVENTS, N_SUBJ_SERIOUS, N_SUBJ_RELATED, "
                f"N_SUBJ_SEVERE FROM marts.safety_summary WHERE PERIOD = '{period}'"
            )
        ]
        assert sorted(shown, key=repr) == sorted(expected, key=repr)
        assert shown[0][0] == "ANY"


def test_open_data_issues_are_counted_from_data_issues(report, tables, marts):
    shown = [(site, rule, severity, int(n)) for _, (site, rule, severity, n) in body_rows(tables, "open-issues-table")]
    expected = marts(
        "SELECT SITEID, RULE, SEVERITY, count(*) FROM marts.data_issues WHERE STATUS = 'OPEN' GROUP BY ALL"
    )
    assert sorted(shown) == sorted(expected)
    [(open_issues,)] = marts("SELECT count(*) FROM marts.data_issues WHERE STATUS = 'OPEN'")
    assert open_issues > 0 and sum(n for *_, n in shown) == open_issues
    assert f"{open_issues} open data issue(s)" in report


def test_change_from_baseline_is_efficacy_summary(tables, marts):
    shown = [(c[0], c[2], int(c[3]), c[4]) for _, c in body_rows(tables, "change-table")]
    expected = [
        (paramcd, visit, n, "–" if mean is None else f"{mean:.2f}")
        for paramcd, visit, n, mean in marts(
            "SELECT PARAMCD, AVISIT, N_CHG, MEAN_CHG FROM marts.efficacy_summary WHERE AVISITN > 0"
        )
    ]
    assert sorted(shown) == sorted(expected) and len(shown) == 23 * 3


def test_trajectory_means_have_the_t_interval_of_efficacy_summary(tables, marts):
    summary = marts("SELECT AVISIT, N, MEAN, SD FROM marts.efficacy_summary WHERE PARAMCD = 'LVEFECHO'")
    shown = {c[0]: c for _, c in body_rows(tables, "trajectory-LVEFECHO-table")}
    for visit, n, mean, sd in summary:
        low, high = stats.t.interval(0.95, n - 1, loc=mean, scale=sd / n**0.5)
        assert mean_interval(n, mean, sd) == pytest.approx((low, high), rel=1e-12)
        assert shown[visit][1:3] == [str(n), f"{mean:.1f}"] and shown[visit][4] == f"{low:.1f} to {high:.1f}"


def test_nyha_shift_counts_every_subject_with_a_baseline_class(tables, marts):
    rows = body_rows(tables, "nyha-shift-table")
    [(with_baseline, with_both)] = marts(
        "SELECT count(*), count(m6.USUBJID) FROM marts.adeff AS b LEFT JOIN marts.adeff AS m6 "
        "ON m6.USUBJID = b.USUBJID AND m6.PARAMCD = 'NYHA' AND m6.AVISIT = 'Month 6' AND m6.ANL01FL = 'Y' "
        "WHERE b.PARAMCD = 'NYHA' AND b.ABLFL = 'Y'"
    )
    total = rows[-1][1]
    assert total[0] == "Total" and int(total[-1]) == with_baseline
    assert int(total[-1]) - int(total[-2]) == with_both, "all but the 'No Month 6 value' column are pairs"


def test_rewriting_gives_the_same_page_but_its_time(sample_warehouse, report, tmp_path):
    written = write_study_report(sample_warehouse, tmp_path / "out")
    path = written.path
    assert path == tmp_path / "out" / REPORT_NAME
    page = path.read_text(encoding="utf-8")
    assert written.rows_by_section == report_outline(page) and list(written.rows_by_section) == SECTIONS
    assert written.plots == report_plots(page) == PLOTS, "the outline it returns is the page it wrote"
    assert [p.name for p in path.parent.iterdir()] == [REPORT_NAME], "no temporary file is left behind"
    generated = re.compile(r"Generated</th><td>[^<]*")
    assert generated.sub("", path.read_text(encoding="utf-8")) == generated.sub("", report), "plots are deterministic"


def _copy_marts(source: Path, target: Path, keep_subjects: str | None) -> None:
    """The sample's marts into `target`: none of their rows, or only those of the subjects matched."""
    with duckdb.connect(str(target)) as con:
        con.execute(f"ATTACH '{source}' AS sample (READ_ONLY)")
        con.execute("CREATE SCHEMA marts")
        for (table,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'sample' AND schema_name = 'marts'"
        ).fetchall():
            keep = "false"
            if keep_subjects and table in ("adsl", "adeff", "adae"):
                keep = f"USUBJID LIKE '{keep_subjects}'"
            con.execute(f"CREATE TABLE marts.{table} AS SELECT * FROM sample.marts.{table} WHERE {keep}")
        if keep_subjects:  # one subject: N = 1, no SD, no interval
            con.execute(
                "INSERT INTO marts.efficacy_summary (PARAMCD, AVISIT, AVISITN, N, MEAN, N_CHG, MEAN_CHG) "
                "SELECT PARAMCD, AVISIT, AVISITN, count(AVAL), avg(AVAL), count(CHG), avg(CHG) FROM marts.adeff "
                "WHERE ANL01FL = 'Y' AND AVISIT IS NOT NULL GROUP BY ALL"
            )


def test_an_empty_warehouse_gives_none_lines(sample_warehouse, tmp_path):
    empty = tmp_path / "empty.duckdb"
    _copy_marts(sample_warehouse, empty, keep_subjects=None)
    written = write_study_report(empty, tmp_path)
    report = written.path.read_text(encoding="utf-8")
    assert report_outline(report) == written.rows_by_section == {section: 0 for section in SECTIONS}
    assert written.plots == []
    assert "<svg" not in report
    for none in ("no subjects", "no infused subjects", "no analysed LVEFECHO values", "no efficacy summary rows",
                 "no baseline NYHA class", "no PRIMARY WINDOW rows", "no open data issues", "no transfers"):
        assert f"None: {none}" in report


def test_a_single_subject_has_no_interval_but_a_report(sample_warehouse, tmp_path):
    single = tmp_path / "single.duckdb"
    _copy_marts(sample_warehouse, single, keep_subjects="%-001")
    with duckdb.connect(str(single)) as con:
        con.execute(
            "INSERT INTO marts.extract_log VALUES ('KZ<b>', '20990101T000000Z', 'REJECTED', "
            "'<script>alert(1)</script> & \"quotes\"', 11, 10, TIMESTAMP '2099-01-01 00:00:00')"
        )
    report = write_study_report(single, tmp_path).path.read_text(encoding="utf-8")
    flow = {c[0]: c[1] for _, c in body_rows(tables_of(report), "subject-flow-table")}
    assert flow["Enrolled"] == "1"
    with duckdb.connect(str(single), read_only=True) as con:
        [onsets] = con.execute("SELECT count(*) FROM marts.adae WHERE PRIMWFL = 'Y'").fetchone()
    drawn = plots_of(report)
    assert set(drawn) == set(PLOTS) - {"forest-change"} - ({"teae-onset"} if not onsets else set())
    assert "None: no change with a confidence interval to plot" in report, "N = 1: no interval, no forest plot"
    assert _visit_ns(drawn["trajectory-LVEFECHO"]) == {"Baseline": 1, "Month 1": 1, "Month 3": 1, "Month 6": 1}
    assert "<script" not in report and "<b>" not in report, "every value is escaped"
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;" in report
    assert "KZ&lt;b&gt;: none loaded; 1 rejected" in report


def test_the_refresh_says_where_the_report_is_and_how_many_plots_it_has(sample_refresh):
    report = sample_refresh.warehouse.parent / "reports" / REPORT_NAME
    assert f"study_report: study report: {report.resolve()} ({len(PLOTS)} plots)" in sample_refresh.result.stderr


def test_the_report_runs_after_publishing(dbt_manifest):
    from orchestration.definitions import defs

    node = defs.resolve_asset_graph().get(dg.AssetKey("study_report"))
    assert node.parent_keys == {dg.AssetKey("published_warehouse")} and node.group_name == "report"
    job = defs.resolve_job_def("nightly_refresh")
    assert "study_report" in {n.name for n in job.nodes_in_topological_order}
