"""The HTML case file as a person sees it: opened in headless Chromium (Debian's ``chromium``,
driven by Playwright for Python with the system browser; ``.ci/run`` installs both).

Checks what is on screen, not the HTML text: the header (case, examiner, version, host, logs
and their sha256), counts, a card's contents and its decoded payload, the filters, the print
layout, escaping of hostile names, and that the page asks for nothing over the network.
Skipped, saying why, where no browser or no Playwright is installed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import hivescan
from hivescan.cli import app
from hivescan.testing.regf import HiveWriter, WKey
from tests.conftest import FIXTURES, shared_hive

BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
runner = CliRunner()


def _chromium() -> str:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).is_file():
            return candidate
    pytest.skip("no chromium browser installed (Debian package chromium; .ci/run installs it)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright for Python not installed (pip install playwright; the dev extra)"
    )
    executable = _chromium()
    with sync_api.sync_playwright() as play:
        launched = play.chromium.launch(executable_path=executable, args=BROWSER_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    requests: list[str] = []
    opened.on("request", lambda request: requests.append(request.url))
    opened.requests = requests
    yield opened
    context.close()


def _report(tmp: Path, hive: Path, *extra: str, name: str = "report.html") -> tuple[Path, list[dict[str, Any]]]:
    out = tmp / name
    done = runner.invoke(app, ["scan", str(hive), "-f", "html", "-o", str(out), "-q", *extra])
    assert done.exit_code == 0, done.stderr
    jsonl = runner.invoke(app, ["scan", str(hive), "-f", "jsonl", "-q", *extra])
    rows = [json.loads(line) for line in jsonl.stdout.splitlines()]
    return out, rows


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    tmp = tmp_path_factory.mktemp("demo")
    return _report(tmp, FIXTURES / "demo-SYSTEM", "--software", str(FIXTURES / "demo-SOFTWARE"))


@pytest.fixture(scope="module")
def dirty_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    tmp = tmp_path_factory.mktemp("dirty")
    return _report(tmp, FIXTURES / "dirty-SYSTEM", "--case", "2026-0042 <b>bold</b>", "--examiner", "A. Examiner")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_dirty_hive_report_names_its_host_logs_hashes_case_and_version(page: Any, dirty_report: Any) -> None:
    path, _ = dirty_report
    page.goto(path.as_uri())
    case = page.inner_text("#case-facts")
    assert "2026-0042 <b>bold</b>" in case  # the option's text shown as text, not markup
    assert "A. Examiner" in case and hivescan.__version__ in case
    host = page.inner_text("#host-facts")
    assert "WS-DIRTY-01" in host and _sha256(FIXTURES / "dirty-SYSTEM") in host
    assert "dirty" in host
    assert page.title() == "hivescan case file: WS-DIRTY-01"
    logs = page.locator("#logs tr.log")
    assert logs.count() == 2
    text = page.inner_text("#logs")
    for log in ("dirty-SYSTEM.LOG1", "dirty-SYSTEM.LOG2"):
        assert log in text and _sha256(FIXTURES / log) in text
    assert "4 entries applied" in page.inner_text("#log-state")
    assert "log_replay_removed_service" in page.inner_text("#warnings")
    assert page.requests and all(url.startswith("file://") for url in page.requests)  # nothing over the network


def test_header_shows_the_detected_windows_with_confidence_and_basis(page: Any, demo_report: Any) -> None:
    path, _ = demo_report
    page.goto(path.as_uri())
    shown = page.inner_text("#windows-facts")
    assert "Windows 10 Pro 22H2 (NT 10.0, build 19045)" in shown  # from the --software hive
    assert "19045" in shown and "high" in shown
    assert "CurrentVersion CurrentBuild 19045" in shown  # the basis: the values the answer rests on
    assert "system+software" in shown


def test_header_says_when_the_windows_version_is_unknown(page: Any, tmp_path: Path) -> None:
    root = WKey("ROOT")
    root.key("Select").set_dword("Current", 1).set_dword("Default", 1).set_dword("LastKnownGood", 1)
    svc = root.key("ControlSet001\\Services\\Planted")
    svc.set_dword("Type", 16).set_dword("Start", 2).set_dword("ErrorControl", 1)
    svc.set_expand_sz("ImagePath", "C:\\Users\\Public\\p.exe")
    hive = tmp_path / "SYSTEM"
    hive.write_bytes(HiveWriter(root).build().data)  # type: ignore[arg-type]
    path, _ = _report(tmp_path, hive)
    page.goto(path.as_uri())
    shown = page.inner_text("#windows-facts")
    assert "unknown: nothing in the hive tells it (give --software SOFTWARE)" in shown
    assert "none" in shown  # the confidence


def test_counts_and_cards_match_the_findings(page: Any, demo_report: Any) -> None:
    path, rows = demo_report
    page.goto(path.as_uri())
    services = {r["service"].upper() for r in rows}
    assert page.inner_text("#total-findings") == str(len(rows))
    assert page.locator("article.card").count() == len(services)
    for severity in ("critical", "high", "medium", "low", "info"):
        shown = page.inner_text(f'.summary .count[data-severity="{severity}"] b')
        assert shown == str(sum(1 for r in rows if r["severity"] == severity)), severity
    assert page.inner_text("#filter-count") == f"{len(services)} of {len(services)} services shown"
    assert page.locator(".finding").count() == len(rows)


def test_a_card_shows_its_findings_record_decoded_payload_and_provenance(page: Any, demo_report: Any) -> None:
    path, rows = demo_report
    page.goto(path.as_uri())
    card = page.locator('article.card[data-service="MsUpdateCheck"]')
    assert card.count() == 1
    decoded = card.locator("pre.decoded").first
    assert not decoded.is_visible()  # folded until opened
    card.locator("header").click()
    assert decoded.is_visible()
    assert "New-Object IO.MemoryStream" in decoded.inner_text()  # -enc decoded from UTF-16LE
    text = card.inner_text()
    mine = [r for r in rows if r["service"] == "MsUpdateCheck"]
    assert card.locator(".finding").count() == len(mine)
    for row in mine:
        assert row["title"] in text
    assert "ControlSet002\\Services\\MsUpdateCheck" in text or "ControlSet001\\Services\\MsUpdateCheck" in text
    assert mine[0]["hive_sha256"] in text and mine[0]["last_write"] in text
    assert "not valid base64" in text  # the inner layer that does not decode says so, raw kept beside


def test_filters_by_severity_and_text(page: Any, demo_report: Any) -> None:
    path, rows = demo_report
    page.goto(path.as_uri())
    total = len({r["service"].upper() for r in rows})
    for severity in ("critical", "high", "medium"):
        page.uncheck(f'.filters input[data-severity="{severity}"]')
    low_or_info = {r["service"].upper() for r in rows if r["severity"] in ("low", "info")}
    visible = page.locator("article.card:visible")
    assert visible.count() == len(low_or_info)
    assert page.inner_text("#filter-count") == f"{len(low_or_info)} of {total} services shown"
    assert page.locator(".finding:visible").count() == sum(1 for r in rows if r["severity"] in ("low", "info"))
    for severity in ("critical", "high", "medium"):
        page.check(f'.filters input[data-severity="{severity}"]')
    page.fill("#filter-text", "rtcore64")
    assert page.locator("article.card:visible").count() == 1
    assert page.locator("article.card:visible h3.service").inner_text() == "RTCore64"
    page.fill("#filter-text", "")
    assert page.locator("article.card:visible").count() == total


def test_print_layout_expands_every_card_even_filtered_ones(page: Any, demo_report: Any) -> None:
    path, rows = demo_report
    page.goto(path.as_uri())
    page.fill("#filter-text", "rtcore64")
    folded = page.screenshot(full_page=True)
    page.emulate_media(media="print")
    assert not page.locator("#filters").is_visible()
    assert page.locator("article.card:visible").count() == len({r["service"].upper() for r in rows})
    hidden_details = page.locator(".more").evaluate_all("els => els.filter(e => e.offsetParent === null).length")
    assert hidden_details == 0
    printed = page.screenshot(full_page=True)
    assert _png_height(printed) > 2 * _png_height(folded)  # everything unfolded is much taller
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 50_000


def _png_height(png: bytes) -> int:
    return int.from_bytes(png[20:24], "big")


def test_hostile_names_and_paths_are_shown_as_text(page: Any, tmp_path: Path) -> None:
    root = WKey("ROOT")
    root.key("Select").set_dword("Current", 1).set_dword("Default", 1).set_dword("LastKnownGood", 1)
    root.key("ControlSet001\\Control\\ComputerName\\ComputerName").set_sz("ComputerName", "<i>HOST</i>")
    name = "<img src=x onerror=alert(1)>"
    svc = root.key(f"ControlSet001\\Services\\{name}")
    svc.set_dword("Type", 16).set_dword("Start", 2).set_dword("ErrorControl", 1)
    svc.set_expand_sz("ImagePath", "C:\\Users\\Public\\\u202eexe.gpj\x1b[31m.exe")
    hive = tmp_path / "SYSTEM"
    hive.write_bytes(HiveWriter(root).build().data)  # type: ignore[arg-type]
    path, rows = _report(tmp_path, hive)
    assert rows, "the planted service must raise a finding to get a card"
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(path.as_uri())
    assert dialogs == [] and page.locator("img").count() == 0
    assert page.title() == "hivescan case file: <i>HOST</i>"
    card = page.locator("article.card").first
    card.locator("header").click()
    assert card.locator("h3.service").inner_text() == name
    assert "\\u202eexe.gpj\\x1b[31m.exe" in card.inner_text()  # controls and bidi overrides made visible


def test_xp_report_states_the_unreadable_services(tmp_path: Path) -> None:
    """Hive-level warnings reach the case file (no browser needed to read them)."""
    xp = shared_hive("xp-corrupted-SYSTEM")
    path, _ = _report(tmp_path, xp)
    text = path.read_text(encoding="utf-8")
    warnings = text[text.index('id="warnings"') : text.index('id="summary"')]
    assert "subkey_list_incomplete" in warnings and "258" in warnings


def test_real_dirty_windows10_report_names_host_logs_and_the_service_only_in_the_logs(
    page: Any, tmp_path: Path
) -> None:
    hive = shared_hive("win10-dirty-SYSTEM")
    path, rows = _report(tmp_path, hive)
    page.goto(path.as_uri())
    host = page.inner_text("#host-facts")
    assert "DESKTOP-PM6C56D" in host and _sha256(hive) in host
    assert "not set (zero FILETIME in the file)" in host  # not "1601-01-01"
    logs = page.inner_text("#logs")
    for name in ("win10-dirty-SYSTEM.LOG1", "win10-dirty-SYSTEM.LOG2"):
        assert _sha256(hive.with_name(name)) in logs
    assert "24 entries applied" in page.inner_text("#log-state")
    windows = page.inner_text("#windows-facts")  # SYSTEM alone: the build lab string is exact
    assert "Windows 10 1709 (NT 10.0, build 16299)" in windows and "high" in windows
    assert "ShutdownStopTimePerfCounterBuildLab 16299.rs3_release" in windows
    card = page.locator('article.card[data-service="ad_driver"]')  # the driver exists only in the logs
    assert card.count() == 1 and any(r["service"] == "ad_driver" for r in rows)
    card.locator("header").click()
    text = card.inner_text()
    assert "log_replay_changes" in text and '["new"]' in text  # only in the logs, and the card says so


def test_without_scripts_every_card_shows_unfolded(browser: Any, demo_report: Any) -> None:
    path, rows = demo_report
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(path.as_uri())
        assert page.locator("article.card:visible").count() == len({r["service"].upper() for r in rows})
        assert page.locator("pre.decoded").first.is_visible()  # nothing hidden behind a script
    finally:
        context.close()
