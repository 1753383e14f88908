"""Rebuild fixture hives from their specs: ``python -m hivescan.testing build [SPEC...]``.

Without arguments, rebuilds every ``fixtures/*.yaml`` next to the package.
"""

from __future__ import annotations

import sys
from pathlib import Path

from hivescan.testing.spec import SpecError, build_file


def main(argv: list[str]) -> int:
    if not argv or argv[0] != "build":
        sys.stderr.write("usage: python -m hivescan.testing build [SPEC.yaml ...]\n")
        return 2
    specs = [Path(a) for a in argv[1:]]
    if not specs:
        specs = sorted((Path(__file__).resolve().parents[2] / "fixtures").glob("*.yaml"))
    for spec in specs:
        try:
            out = build_file(spec)
        except (SpecError, OSError) as exc:
            sys.stderr.write(f"{spec}: {exc}\n")
            return 1
        print(f"{spec} -> {out} ({out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
