"""The container files, checked without Docker (no daemon on CI machines): every path the
Dockerfile copies exists, the image runs the real CLI, and the compose service's command is one the
CLI and the config accept, against a Chroma server of the client's own version."""

import re
import shutil
import subprocess

import pytest
import yaml

from tests.conftest import REPO


def _dockerfile() -> list[tuple[str, str]]:
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    return [
        (m.group(1).upper(), m.group(2).strip())
        for m in re.finditer(r"^([A-Za-z]+)\s+(.*)$", text, re.M)
        if not m.group(0).startswith("#")
    ]


def test_dockerfile_copies_what_exists_and_runs_the_cli():
    import json

    steps = _dockerfile()
    copies = [args.split()[:-1] for op, args in steps if op == "COPY"]
    for sources in copies:
        for src in sources:
            assert (REPO / src).exists(), src
    packages = {"vlrec", "agent", "adapters", "retrieval"}  # what pyproject maps into the wheel
    assert packages <= {s for sources in copies for s in sources}
    assert json.loads(dict(steps)["ENTRYPOINT"]) == ["vlrec"]
    cmd = json.loads(dict(steps)["CMD"])
    port = cmd[cmd.index("--port") + 1]
    assert dict(steps)["EXPOSE"] == port
    from vlrec.cli.main import build_parser

    args = build_parser().parse_args(cmd)
    assert args.command == "serve" and args.host == "0.0.0.0"
    ignored = (REPO / ".dockerignore").read_text().split()
    assert ".venv" in ignored and ".git" in ignored  # the build context stays small


def test_compose_serves_vlrec_on_a_chroma_server_of_the_clients_version():
    import chromadb

    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"chroma", "vlrec"}
    assert services["chroma"]["image"] == f"chromadb/chroma:{chromadb.__version__}"
    vlrec = services["vlrec"]
    assert vlrec["build"] == "." and "chroma" in vlrec["depends_on"]
    assert "VLREC_API_KEY" in vlrec["environment"]  # never served without a key here
    from vlrec.cli.main import build_parser
    from vlrec.config import load_config

    args, extra = build_parser().parse_known_args(vlrec["command"])
    cfg = load_config(None, [*args.overrides, *extra])
    assert cfg.store.url == "http://chroma:8000"
    published = vlrec["ports"][0].split(":")[-1]
    assert published == vlrec["command"][vlrec["command"].index("--port") + 1]
    for volume in ("vlrec-data", "vlrec-cache", "chroma-data"):
        assert volume in compose["volumes"]


def test_the_image_builds_where_docker_runs(tmp_path):
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "info"], capture_output=True).returncode != 0:
        pytest.skip("no Docker daemon here (the static checks above still ran)")
    built = subprocess.run(
        [docker, "build", "-q", "-t", "vlrec-test", str(REPO)], capture_output=True, text=True
    )
    assert built.returncode == 0, built.stderr[-2000:]
