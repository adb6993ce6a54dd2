"""The study report in a real browser: it renders offline, without errors, with its charts drawn."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from browser import open_offline, offline_page

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCS = REPO_ROOT / "docs"
VIEWPORT = (1280, 900)
UPDATE_SCREENSHOTS = os.environ.get("REGENHEART_UPDATE_SCREENSHOTS") == "1"
HEADINGS = ("Subject flow", "Adverse events")
SECTION_SHOTS = {"study-report-trajectories.png": "LVEF and NT-proBNP over time", "study-report-safety.png": "Adverse events"}
FIGURE_SHOTS = {  # file -> the plot's aria-label
    "study-report-lvef-change.png": "change-LVEFECHO",
    "study-report-forest.png": "forest-change",
    "study-report-nyha.png": "nyha-by-visit",
    "study-report-teae-onset.png": "teae-onset",
}
PLOTS = 6  # LVEF and NT-proBNP trajectories, LVEF change, forest, NYHA by visit, TEAE onset


@pytest.fixture(scope="session")
def study_report(sample_warehouse) -> Path:
    """The report the sample refresh wrote beside its published warehouse (the study_report asset)."""
    report = sample_warehouse.parent / "reports" / "study_report.html"
    assert report.is_file(), f"the sample refresh wrote no study report at {report}"
    return report


def test_study_report_renders_offline(chromium_path, study_report, tmp_path):
    with offline_page(chromium_path, study_report, VIEWPORT) as opened:
        visit = opened.visit()
        boxes = [chart.bounding_box() for chart in opened.page.locator("figure svg").all()]
        shots = take_screenshots(opened.page, tmp_path)

    assert "RegenHeart" in visit.title or "NCT04325594" in visit.title, visit.title
    for heading in HEADINGS:
        assert heading in visit.text, f"no section '{heading}' in the rendered report"
    assert visit.outside_requests == [], "the report must be self-contained"
    assert visit.console_errors == []
    assert visit.page_errors == []
    assert len(boxes) == PLOTS and all(box and box["width"] > 300 and box["height"] > 200 for box in boxes), boxes
    assert all(shot.stat().st_size > 0 for shot in shots)
    if UPDATE_SCREENSHOTS:
        publish_screenshots(shots)


def take_screenshots(page, folder: Path) -> list[Path]:
    """Viewport-sized shots of the top of the report, the trajectories and the safety tables; one of each
    plot that is not on them."""
    shots = [folder / "study-report.png"]
    page.screenshot(path=str(shots[0]))
    for name, heading in SECTION_SHOTS.items():
        page.get_by_role("heading", name=heading).first.evaluate("element => element.scrollIntoView({block: 'start'})")
        page.evaluate("window.scrollBy(0, -16)")  # a little air above the heading
        shots.append(folder / name)
        page.screenshot(path=str(shots[-1]))
    for name, plot in FIGURE_SHOTS.items():
        shots.append(folder / name)
        page.locator(f'figure:has(svg[aria-label="{plot}"])').screenshot(path=str(shots[-1]))
    return shots


def publish_screenshots(shots: list[Path]) -> None:
    DOCS.mkdir(exist_ok=True)
    for shot in shots:
        shutil.copyfile(shot, DOCS / shot.name)


def test_harness_catches_outside_requests_and_errors(chromium_path, tmp_path):
    page = tmp_path / "leaky.html"
    page.write_text(
        "<!doctype html><html><head><title>leaky</title>"
        '<script src="https://example.com/x.js"></script>'
        '<script>console.error("boom")</script>'
        '<script>throw new Error("kaput")</script>'
        "</head><body><p>still renders</p></body></html>"
    )

    visit = open_offline(chromium_path, page)

    assert visit.outside_requests == ["https://example.com/x.js"]
    assert "boom" in visit.console_errors
    assert any("kaput" in error for error in visit.page_errors), visit.page_errors
    assert visit.text == "still renders"
