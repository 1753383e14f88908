"""Regenerate the compact catalogs in ``hivescan/catalog/data/`` from the reference data.

``python -m hivescan.catalog.build [SHARED_DATA_DIR]`` reads the copies in ``../shared/data``
(each folder's SOURCES.md gives upstream, commit and licence) and writes one CSV per catalog,
each starting with ``#`` header lines naming its source, commit, licence and build date, so a
catalog row cited by a finding can be traced back to its upstream line. The build is
deterministic apart from the ``built`` date (pass ``--date`` to pin it).

What is kept, and why (the rest of each upstream file is not needed offline):

* LOLDrivers (``drivers.csv``): one row per driver *file name* from ``Tags`` (what a service's
  ImagePath names), with the worst category among the entries listing it (malicious beats
  vulnerable), their ids, MITRE ids and whether any is verified; and the SHA-256 hashes with
  their entry in a second file, for when a file system is available to hash.
* LOLRMM (``rmm_tools.csv``): service names from the 7045 EventLog artefacts and from
  ``...\\Services\\<name>`` registry artefacts, 7045 ImagePaths, and Windows installation-path
  globs that name a folder or file. Names that are also stock Windows services (Atera lists
  ``EventLog`` because it writes below it) are dropped, or every clean hive would match.
* mthcht suspicious service names: every row (name glob and/or path glob, tool, category,
  type, upstream severity).
* Trawler: the ImagePath / ServiceDll expectation regexes per stock Windows 10/11 service.
* Microsoft's Windows Server 2016 service table: name, display name, installation, start type.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"

# upstream facts, copied from each folder's SOURCES.md
SOURCES = {
    "loldrivers": (
        "magicsword-io/LOLDrivers loldrivers.io/content/api/drivers.csv",
        "5554706c8350a7b4a8631f05f490e563cd4b6e0a",
        "Apache-2.0",
    ),
    "lolrmm": (
        "magicsword-io/LOLRMM website/public/api/rmm_tools.csv",
        "3c75cf091b10bf7e8ecd576055c44d172b35ff21",
        "Apache-2.0",
    ),
    "mthcht": (
        "mthcht/awesome-lists Lists/suspicious_windows_services_names_list.csv (derived subset)",
        "0152fd6457eb91889ded9da6e44d22faabac9655",
        "MIT",
    ),
    "trawler": (
        "joeavanzato/Trawler trawler.ps1 ($image_path_lookup, $service_dll_lookup), derived",
        "fd7f7632a9f8c985994f270c265005f0f2af9fdc",
        "MIT, Copyright (c) 2023 panscan",
    ),
    "ws2016": (
        "MicrosoftDocs/windowsserverdocs "
        "security-guidelines-for-disabling-system-services-in-windows-server.md, derived",
        "0017525d31d4da67101f801b761dc27cf0c942f1",
        "CC BY 4.0 (Microsoft)",
    ),
}


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


#: the Windows each known-good source describes: (text for explanations, NT versions). A
#: catalog of one Windows is applied only to hives of that Windows (catalog/lookups.py).
APPLIES: dict[str, tuple[str, str]] = {
    "trawler": ("Windows 10/11 and Server 2016 or later (NT 10.0)", "10.0"),
    "ws2016": ("Windows Server 2016 (NT 10.0, build 14393)", "10.0"),
}


def render_csv(source: str, what: str, date: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """CSV text with the provenance header lines the loader skips (and, for a catalog of one
    Windows, which Windows: ``applies to`` for people, ``windows nt`` for the lookups)."""
    upstream, commit, licence = SOURCES[source]
    buf = io.StringIO()
    buf.write(f"# {what}\n")
    buf.write(f"# source: {upstream}\n")
    buf.write(f"# commit: {commit}\n")
    buf.write(f"# licence: {licence}\n")
    buf.write(f"# built: {date} by hivescan/catalog/build.py from shared/data\n")
    if source in APPLIES:
        text, versions = APPLIES[source]
        buf.write(f"# applies to: {text}\n")
        buf.write(f"# windows nt: {versions}\n")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
    return buf.getvalue()


def build_loldrivers(shared: Path, date: str) -> dict[str, str]:
    rows = _read(shared / "loldrivers" / "drivers.csv")
    by_name: dict[str, dict[str, set[str]]] = {}
    hashes: list[tuple[str, str, str]] = []
    authentihashes: list[tuple[str, str, str]] = []
    for row in rows:
        category = "malicious" if row["Category"].strip().lower() == "malicious" else "vulnerable"
        names = [t.strip() for t in row["Tags"].split(",") if t.strip()]
        for name in names:
            entry = by_name.setdefault(
                name.lower(), {"names": set(), "cats": set(), "ids": set(), "mitre": set(), "verified": set()}
            )
            entry["names"].add(name)
            entry["cats"].add(category)
            entry["ids"].add(row["Id"])
            entry["mitre"].update(m.strip() for m in row["MitreID"].split(",") if m.strip())
            entry["verified"].add(row["Verified"].strip().upper())
        for sha in row["KnownVulnerableSamples_SHA256"].split(","):
            sha = sha.strip().lower()
            if re.fullmatch(r"[0-9a-f]{64}", sha):
                hashes.append((sha, category, row["Id"]))
        for sha in row.get("KnownVulnerableSamples_Authentihash_SHA256", "").split(","):
            sha = sha.strip().lower()
            if re.fullmatch(r"[0-9a-f]{64}", sha):
                authentihashes.append((sha, category, row["Id"]))
    names_rows = []
    for key in sorted(by_name):
        e = by_name[key]
        names_rows.append(
            (
                key,
                "malicious" if "malicious" in e["cats"] else "vulnerable",
                len(e["ids"]),
                " ".join(sorted(e["ids"])),
                " ".join(sorted(e["mitre"])),
                "TRUE" in e["verified"],
            )
        )
    return {
        "loldrivers.csv": render_csv(
            "loldrivers",
            "LOLDrivers driver file names (lower case), worst category among the entries that list them",
            date,
            ("file_name", "category", "entries", "entry_ids", "mitre", "verified"),
            names_rows,
        ),
        "loldrivers_sha256.csv": render_csv(
            "loldrivers",
            "LOLDrivers known sample SHA-256 hashes with their entry",
            date,
            ("sha256", "category", "entry_id"),
            sorted(set(hashes)),
        ),
        "loldrivers_authentihash.csv": render_csv(
            "loldrivers",
            "LOLDrivers known sample Authenticode SHA-256 hashes (authentihash) with their entry",
            date,
            ("authentihash", "category", "entry_id"),
            sorted(set(authentihashes)),
        ),
    }


def _windows_service_names(shared: Path) -> set[str]:
    trawler = _read(shared / "known-good" / "trawler" / "trawler_service_expectations.csv")
    # Trawler also lists third-party services (TeamViewer, Zoom ...): only those it expects under Windows count
    names = {r["service_name"].lower() for r in trawler if re.search(r"(?i)windows|system32", r["expected_regex"])}
    ws = shared / "known-good" / "ms-ws2016-service-guidance" / "ws2016_desktop_experience_services.csv"
    names |= {r["service_name"].lower() for r in _read(ws)}
    return names


def build_lolrmm(shared: Path, date: str) -> dict[str, str]:
    stock = _windows_service_names(shared)
    out: set[tuple[str, str, str, str]] = set()
    dropped: set[str] = set()
    for row in _read(shared / "lolrmm" / "rmm_tools.csv"):
        tool = row["Name"].strip()
        artifacts = json.loads(row["Artifacts"]) if row["Artifacts"].strip() else {}
        names: set[tuple[str, str]] = set()
        for event in artifacts.get("EventLog") or []:
            if str(event.get("EventID", "")).strip() != "7045":
                continue
            if event.get("ServiceName"):
                names.add((str(event["ServiceName"]).strip(), "eventlog-7045"))
            if event.get("ImagePath"):
                path = str(event["ImagePath"]).replace("\\\\", "\\").strip()
                out.add((tool, "image_path", path, "eventlog-7045"))
        for item in artifacts.get("Registry") or []:
            match = re.search(r"(?i)\\Services\\([^\\]+)$", str(item.get("Path", "")).strip())
            if match:
                names.add((match.group(1), "registry"))
        for name, origin in names:
            if name.lower() in stock:
                dropped.add(name)
                continue
            out.add((tool, "service_name", name, origin))
        for glob in row["InstallationPaths"].split(","):
            glob = glob.strip()
            # Windows globs naming a folder or a file in one: not bare file names, not Unix paths
            if "\\" in glob and not glob.startswith("/") and re.search(r"[A-Za-z0-9]", glob.replace("*", "")):
                tail = glob.rstrip("*").rstrip("\\")
                if tail and tail not in ("C:", "*", "C:\\Users", "*Users") and len(tail.strip("*\\")) >= 4:
                    out.add((tool, "install_path", glob, "installation-paths"))
    what = (
        "LOLRMM remote monitoring / access tools: service names, 7045 ImagePaths, Windows installation-path globs"
        f" (dropped as stock Windows service names: {', '.join(sorted(dropped)) or 'none'})"
    )
    return {"lolrmm.csv": render_csv("lolrmm", what, date, ("tool", "kind", "pattern", "origin"), sorted(out))}


def build_mthcht(shared: Path, date: str) -> dict[str, str]:
    rows = _read(shared / "known-bad" / "mthcht" / "suspicious_windows_services_names_list.subset.csv")
    out = [
        (
            r["service_name"].strip(),
            r["service_path"].strip(),
            r["metadata_tool_name"].strip(),
            r["metadata_tool_category"].strip(),
            r["metadata_tool_type"].strip().rstrip("s"),
            r["metadata_severity"].strip().lower(),
        )
        for r in rows
    ]
    return {
        "suspicious_services.csv": render_csv(
            "mthcht",
            "suspicious service names and paths (globs), upstream tool, category, type and severity",
            date,
            ("name_glob", "path_glob", "tool", "category", "tool_type", "upstream_severity"),
            out,
        )
    }


def _copy_columns(
    shared: Path, source: str, upstream: str, out_name: str, what: str, columns: dict[str, str], date: str
) -> dict[str, str]:
    """A catalog that keeps some columns of a copied file as they are (``{output: upstream}``)."""
    rows = _read(shared / upstream)
    out = [tuple(r[col] for col in columns.values()) for r in rows]
    return {out_name: render_csv(source, what, date, tuple(columns), out)}


def build_trawler(shared: Path, date: str) -> dict[str, str]:
    return _copy_columns(
        shared,
        "trawler",
        "known-good/trawler/trawler_service_expectations.csv",
        "windows_expected.csv",
        "expected ImagePath / ServiceDll of stock Windows 10/11 services (case-insensitive, unanchored regexes "
        "over expanded paths)",
        {
            "service_name": "service_name",
            "value_name": "value_name",
            "expected_regex": "expected_regex",
            "upstream_line": "trawler_line",
        },
        date,
    )


def build_ws2016(shared: Path, date: str) -> dict[str, str]:
    return _copy_columns(
        shared,
        "ws2016",
        "known-good/ms-ws2016-service-guidance/ws2016_desktop_experience_services.csv",
        "ws2016_services.csv",
        "services of Windows Server 2016 with Desktop Experience and their documented start type",
        {c: c for c in ("service_name", "display_name", "installation", "startup_type")},
        date,
    )


def build_all(shared: Path, date: str) -> dict[str, str]:
    files: dict[str, str] = {}
    for builder in (build_loldrivers, build_lolrmm, build_mthcht, build_trawler, build_ws2016):
        files.update(builder(shared, date))
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shared", nargs="?", type=Path, default=DEFAULT_SHARED, help="the shared/data folder")
    parser.add_argument("--date", default=dt.date.today().isoformat(), help="build date written in the headers")
    parser.add_argument("--out", type=Path, default=DATA_DIR)
    args = parser.parse_args(argv)
    if not args.shared.is_dir():
        sys.stderr.write(f"{args.shared}: not a folder (expected shared/data)\n")
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in build_all(args.shared, args.date).items():
        (args.out / name).write_text(text, encoding="utf-8")
        print(f"{args.out / name}: {text.count(chr(10)) - 6} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
