"""The wheel: one top-level package, `vlrec`, that works outside the checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the checkout's files (so no stale build/ folder leaks in)."""
    src = tmp_path_factory.mktemp("src")
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, check=True, capture_output=True, text=True
    ).stdout.splitlines()
    for name in files:
        if (REPO / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, src / name)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation", "-q", "-w", str(out)],
        check=True, cwd=out, capture_output=True,
    )  # fmt: skip
    (found,) = out.glob("vlrec-*.whl")
    return found


def test_wheel_holds_one_namespace_with_its_data(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"vlrec"}
    for needed in (
        "vlrec/agent/session.py", "vlrec/adapters/vlm.py", "vlrec/adapters/train/vlm.py",
        "vlrec/retrieval/store.py", "vlrec/serve/web/index.html", "vlrec/assets/vlm/default/config.json",
        "vlrec/assets/intent/default/intent.json", "vlrec/assets/align/default/head.safetensors",
        "vlrec/samples/fashion/catalog.jsonl", "vlrec/samples/fashion/LICENSE",
    ):  # fmt: skip
        assert needed in names, needed
    meta = [n for n in names if ".dist-info/" in n]
    assert any(n.endswith("/LICENSE") for n in meta) and any(n.endswith("/NOTICE") for n in meta)


def test_wheel_in_a_new_venv_outside_the_checkout_runs_the_cli(wheel, tmp_path):
    """`pip install` into a fresh venv (no dependencies needed for this), then `vlrec --help`."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
                   check=True, capture_output=True)  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = subprocess.run([str(bin_dir / "python"), "-c", "import vlrec; print(vlrec.__file__)"],
                           check=True, capture_output=True, text=True, cwd=tmp_path, env=env).stdout  # fmt: skip
    assert Path(where.strip()).is_relative_to(venv)
    helped = subprocess.run(
        [str(bin_dir / "vlrec"), "--help"], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert helped.returncode == 0, helped.stderr
    assert "serve" in helped.stdout and "train" in helped.stdout
    import tomllib

    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    shown = subprocess.run(
        [str(bin_dir / "vlrec"), "--version"], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert shown.stdout.strip() == f"vlrec {declared}", shown.stdout + shown.stderr


def test_every_module_imports_from_the_wheel(wheel, tmp_path):
    """All modules import from the unpacked wheel (dependencies from this environment, without
    the editable install's path hooks), so the package-dir mapping misses nothing."""
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(wheel).extractall(unpacked)
    modules = []
    for path in sorted((unpacked / "vlrec").rglob("*.py")):
        rel = path.relative_to(unpacked).with_suffix("")
        if rel.name == "__main__" or "samples" in rel.parts:
            continue
        modules.append(".".join(p for p in rel.parts if p != "__init__"))
    script = (
        "import importlib, sys\n"
        f"sys.path[:0] = [{str(unpacked)!r}, {sysconfig.get_paths()['purelib']!r}, {sysconfig.get_paths()['platlib']!r}]\n"
        f"for m in {modules!r}:\n"
        "    mod = importlib.import_module(m)\n"
        f"    assert mod.__file__.startswith({str(unpacked)!r}), (m, mod.__file__)\n"
        "print(len(sys.modules))\n"
    )
    # -S: no site hooks, so the checkout's editable install cannot answer `import vlrec`
    done = subprocess.run([sys.executable, "-S", "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(modules) > 50
