"""The binaries' facts on the HTML case file's service cards: a --root folder (KAPE layout)
opened in headless Chromium, and a disk image (NTFS times, streams) read as HTML text.

What a person sees on each card: path, exists, size, hashes, authentihash, the signature's
status, signer, issuer and reasons, version info, PE header, NTFS times and streams with
Zone.Identifier's text, every value escaped; and the binary rules' findings beside them."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from hivescan.cli import app
from hivescan.timeutil import filetime_to_iso
from tests.files.test_image_files import OLD, image  # noqa: F401  (the disk-image fixture)
from tests.files.test_layouts_and_cli import planted  # noqa: F401  (the KAPE-folder fixture)
from tests.test_report_browser import browser, page  # noqa: F401  (headless Chromium fixtures)

runner = CliRunner()
HOSTILE_ZONE = b"[ZoneTransfer]\r\nZoneId=3\r\nHostUrl=https://x.invalid/<script>alert(1)</script>\x1b[31m\r\n"


def _html(target: Path, out: Path) -> Path:
    done = runner.invoke(app, ["scan", str(target), "-f", "html", "-o", str(out), "-q"])
    assert done.exit_code == 0, done.output
    return out


def _open_card(page: Any, service: str) -> Any:  # noqa: F811  (a parameter, not the fixture)
    card = page.locator(f'article.card[data-service="{service}"]')
    assert card.count() == 1, service
    card.locator("header").click()
    return card


def test_cards_show_each_binarys_facts_escaped(page: Any, planted: Path, tmp_path: Path) -> None:  # noqa: F811
    volume = planted / "C"
    (volume / "Users" / "Public" / "tool.exe:Zone.Identifier").write_bytes(HOSTILE_ZONE)
    report = _html(planted, tmp_path / "report.html")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(report.as_uri())

    card = _open_card(page, "DownloadedSvc")
    binary = card.locator('.binary[data-field="image_file"]')
    assert binary.count() == 1 and binary.is_visible()
    text = binary.inner_text()
    tool = (volume / "Users" / "Public" / "tool.exe").read_bytes()
    assert "\\Users\\Public\\tool.exe" in text and "yes" in text
    assert hashlib.sha256(tool).hexdigest() in text and hashlib.md5(tool).hexdigest() in text
    assert str(len(tool)) in text
    assert "authentihash" in text and "unsigned" in text
    assert "amd64" in text and "windows_cui" in text  # the PE header
    assert "1593835520 = 0x5f000000 (as a time: 2020-07-04T04:05:20Z)" in text
    stream = binary.locator('.stream[data-stream="Zone.Identifier"] pre').inner_text()
    assert "<script>alert(1)</script>\\x1b[31m" in stream and "\x1b" not in stream  # text, controls visible
    assert dialogs == [] and page.locator("article script").count() == 0
    assert "Zone.Identifier" in card.locator(".finding").first.inner_text() or "downloaded" in card.inner_text()

    summary = page.locator('article.card[data-service="TamperSvc"] .binary-summary')
    assert summary.is_visible()  # the answer shows beside the findings before the card is opened
    shown = summary.inner_text()
    assert "image file \\Windows\\System32\\tamper.exe, exists, signature invalid (embedded)" in shown
    assert "signer CN=Test Publisher" in shown
    assert "NOT FOUND" in page.locator('article.card[data-service="GoneSvc"] .binary-summary').inner_text()
    card = _open_card(page, "TamperSvc")
    binary = card.locator('.binary[data-field="image_file"]')
    assert binary.get_attribute("data-signature") == "invalid"
    text = binary.inner_text()
    assert "CN=Test Publisher" in text and "CN=Test Root CA" in text  # signer and issuer
    assert "modified after signing" in text  # the reasons, whole
    assert "embedded" in text  # where the signature was found

    card = _open_card(page, "GoneSvc")
    text = card.locator('.binary[data-field="image_file"]').inner_text()
    assert "\\Windows\\System32\\gone.exe" in text and "no: not found in the image or collection" in text
    assert card.locator('.binary[data-field="service_dll_file"]').count() == 0  # no ServiceDll: no block

    card = _open_card(page, "UnknownCaSvc")
    text = card.locator('.binary[data-field="image_file"]').inner_text()
    assert "\\Program Files\\Acme\\agent.exe" in text and "untrusted" in text


def test_text_filter_finds_a_card_by_its_binarys_sha256(page: Any, planted: Path, tmp_path: Path) -> None:  # noqa: F811
    report = _html(planted, tmp_path / "report.html")
    page.goto(report.as_uri())
    sha = hashlib.sha256((planted / "C" / "Program Files" / "Acme" / "agent.exe").read_bytes()).hexdigest()
    page.fill("#filter-text", sha)
    shown = page.locator("article.card:visible")
    assert shown.count() == 1 and shown.get_attribute("data-service") == "UnknownCaSvc"


def test_image_report_shows_ntfs_times_and_the_timestomp_finding(image: Path, tmp_path: Path) -> None:  # noqa: F811
    html = _html(image, tmp_path / "image.html").read_text(encoding="utf-8")
    start = html.index('data-service="Stomped"')
    card = html[start : html.index("</article>", start)]
    assert 'class="binary" data-field="image_file"' in card
    assert "NTFS si_created" in card and filetime_to_iso(OLD) in card and "NTFS fn_created" in card
    assert "si created before fn</dt><dd>yes" in card
    assert "service-binary-timestomped" in card
    start = html.index('data-service="Downloaded"')
    card = html[start : html.index("</article>", start)]
    assert 'data-stream="Zone.Identifier"' in card and "ZoneId=3" in card


def _card(html: str, service: str) -> str:
    start = html.index(f'data-service="{service}"')
    return html[start : html.index("</article>", start)]


def test_root_option_and_zip_collection_reports_show_the_file_facts(planted: Path, tmp_path: Path) -> None:  # noqa: F811
    from tests.files.test_layouts_and_cli import _zip

    hive = planted / "C" / "Windows" / "System32" / "config" / "SYSTEM"
    out = tmp_path / "root.html"
    done = runner.invoke(app, ["scan", str(hive), "--root", str(planted), "-f", "html", "-o", str(out), "-q"])
    assert done.exit_code == 0, done.output
    archive = _zip(planted / "C", tmp_path / "collection.zip", "collection/uploads/auto/C%3A", True)
    agent = hashlib.sha256((planted / "C" / "Program Files" / "Acme" / "agent.exe").read_bytes()).hexdigest()
    for html in (out.read_text(encoding="utf-8"), _html(archive, tmp_path / "zip.html").read_text(encoding="utf-8")):
        card = _card(html, "UnknownCaSvc")
        assert 'class="binary" data-field="image_file" data-signature="untrusted"' in card
        assert agent in card and "CN=Test Publisher" in card
        assert "no: not found in the image or collection" in _card(html, "GoneSvc")
    bare = runner.invoke(app, ["scan", str(hive), "--no-files", "-f", "html", "-o", str(tmp_path / "bare.html"), "-q"])
    assert bare.exit_code == 0, bare.output
    assert 'class="binary"' not in (tmp_path / "bare.html").read_text(encoding="utf-8")  # no files: no block


def test_catalog_signed_binary_shows_its_catalog(planted: Path, tmp_path: Path, test_ca: Any) -> None:  # noqa: F811
    from hivescan.files.facts import FileAnalyser
    from hivescan.files.source import FolderSource
    from hivescan.testing.pe import build_catalog, build_pe
    from tests.files.test_layouts_and_cli import PLANTED, _hive, _put, _svc

    volume = planted / "C"
    _put(volume, "Windows\\System32\\svcok.exe", build_pe(code=b"\x90" * 32 + b"\xc3"))
    probe = FileAnalyser(FolderSource(volume)).facts("C:\\Windows\\System32\\svcok.exe")
    assert probe is not None
    unsigned_cat = tmp_path / "u.cat"
    unsigned_cat.write_bytes(build_catalog([bytes(32), bytes.fromhex(probe["authentihash"])]))
    catroot = "Windows\\System32\\CatRoot\\{F750E6C3-38EE-11D1-85E5-00C04FC295EE}\\Acme-Package.cat"
    _put(volume, catroot, test_ca.sign(unsigned_cat, tmp_path / "s.cat").read_bytes())
    hive = volume / "Windows" / "System32" / "config" / "SYSTEM"
    hive.write_bytes(_hive({**PLANTED, "CatSvc": _svc("C:\\Windows\\System32\\svcok.exe")}))
    card = _card(_html(planted, tmp_path / "cat.html").read_text(encoding="utf-8"), "CatSvc")
    assert 'data-signature="untrusted"' in card  # signed by catalog: never "unsigned"
    assert "<dt>signature source</dt><dd>catalog</dd>" in card
    assert "\\Acme-Package.cat</dd>" in card and "<dt>signature catalog</dt>" in card
    assert "signature untrusted (catalog)" in card  # the unfolded one-line answer
