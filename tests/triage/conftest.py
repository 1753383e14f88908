"""Fleets of small, realistic SYSTEM hives for triage tests (built with hivescan.testing.win10)."""

from __future__ import annotations

from pathlib import Path

from hivescan.testing.win10 import HostSpec, PlantedService, build_system_hive


def write_host(path: Path, host: str, seed: int = 0, **spec: object) -> Path:
    """One host's SYSTEM hive (no filler keys: small and fast), written to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    options: dict[str, object] = {"services": 60, "filler": False, **spec}
    path.write_bytes(build_system_hive(HostSpec(host, seed=seed, **options)).data)  # type: ignore[arg-type]
    return path


RARE = PlantedService("UpdaterSvc", r"C:\Users\Public\upd.exe")
TWO = PlantedService(
    "NetHelperX",
    r"%SystemRoot%\system32\svchost.exe -k netsvcs -p",
    type=0x20,
    service_dll=r"C:\ProgramData\nh\nethelper.dll",
)


def write_fleet(root: Path, hosts: int = 5) -> dict[str, Path]:
    """``hosts`` hosts in nested folders; WS-00001 has UpdaterSvc, WS-00001..2 have NetHelperX."""
    out = {}
    for n in range(1, hosts + 1):
        host = f"WS-{n:05d}"
        planted = tuple(p for p, on in ((RARE, n == 1), (TWO, n <= 2)) if on)
        out[host] = write_host(
            root / f"site{n % 2}" / host / "config" / "SYSTEM", host, seed=n, planted=planted, services=90
        )
    return out
