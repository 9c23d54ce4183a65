"""Where the package's own files are: shipped adapters, the bundled sample, the checkout."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
ASSETS = PACKAGE_DIR / "assets"  # shipped adapters, inside the wheel too
SAMPLES = PACKAGE_DIR / "samples"  # the bundled 395-item catalogue sample
REPO_ROOT = PACKAGE_DIR.parent  # the checkout (benchmarks/, configs/); absent in a wheel install
