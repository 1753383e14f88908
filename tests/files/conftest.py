"""Files for the binary tests: PEs built here, a test CA (openssl + osslsigncode), and real
files from Debian packages fetched with ``apt-get download`` + ``dpkg-deb -x`` into a cache
folder (never installed, never committed). Each fixture skips with the reason when a tool or
package is unavailable."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from hivescan.testing.pe import TestCA, have_signing_tools

DEB_CACHE = Path(tempfile.gettempdir()) / "hivescan-test-debs"
WINE_EXES = "usr/lib/x86_64-linux-gnu/wine/x86_64-windows"
SHIM = "usr/lib/shim/shimx64.efi.signed"


def debian_package(name: str) -> Path:
    """The unpacked files of a Debian package (downloaded once into DEB_CACHE), or skip."""
    target = DEB_CACHE / name
    if (target / ".done").exists():
        return target
    for tool in ("apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not available to fetch Debian package {name}")
    DEB_CACHE.mkdir(parents=True, exist_ok=True)
    download = DEB_CACHE / f"{name}-download"
    download.mkdir(exist_ok=True)
    try:
        subprocess.run(["apt-get", "download", name], cwd=download, check=True, capture_output=True, timeout=600)
        debs = sorted(download.glob(f"{name}_*.deb"))
        if not debs:
            pytest.skip(f"apt-get download {name} gave no .deb")
        target.mkdir(exist_ok=True)
        subprocess.run(["dpkg-deb", "-x", str(debs[-1]), str(target)], check=True, capture_output=True, timeout=600)
    except (subprocess.SubprocessError, OSError) as exc:
        pytest.skip(f"Debian package {name} could not be fetched: {exc}")
    (target / ".done").write_text("ok")
    shutil.rmtree(download, ignore_errors=True)
    return target


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    missing = have_signing_tools()
    if missing:
        pytest.skip(f"signing tools not available: {missing} (Debian: openssl, osslsigncode)")
    return TestCA(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="session")
def wine_exe() -> Callable[[str], Path]:
    """A real unsigned PE with version info claiming Microsoft, from Debian's libwine."""

    def _get(name: str) -> Path:
        path = debian_package("libwine") / WINE_EXES / name
        if not path.is_file():
            pytest.skip(f"libwine has no {name}")
        return path

    return _get


@pytest.fixture(scope="session")
def shim_signed() -> Path:
    """A real Microsoft-signed file: Debian's shimx64.efi.signed."""
    path = debian_package("shim-signed") / SHIM
    if not path.is_file():
        pytest.skip(f"shim-signed has no {SHIM}")
    return path
