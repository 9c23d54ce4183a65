"""Load on ``vlrec serve``: N concurrent shopper sessions with text and photo turns.

    python benchmarks/bench_server.py                          # 8 sessions, bundled sample catalogue
    python benchmarks/bench_server.py --sessions 16 --catalog ../shared/data/fashion/catalog.jsonl
    python benchmarks/bench_server.py --url http://127.0.0.1:8000 --key KEY   # a server already running
    python benchmarks/bench_server.py --sessions 32 --duration 300             # soak: 5 minutes, RSS over time

Unless ``--url`` is given, it starts ``vlrec serve`` on a free localhost port (default
stack: local Chroma, packaged models, shipped VLM) and waits for ``/healthz``. Each
session is a thread that plays one conversation through ``POST /v1/chat/completions``
with its own ``session_id``: a photo with words, then two refinements in words
("in black", "for women instead"); photo turns alternate between the bundled query
photos. Every turn must answer 200 with catalogue items, or it counts as an error.
Reports turns/s over the whole run, p50/p95 latency per turn kind, errors, and the
server's peak RSS (VmHWM from /proc, when the server is our child).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PHOTOS = sorted((REPO / "vlrec" / "samples" / "fashion" / "queries").glob("*.jpg"))
TURNS = [("photo", "something like this"), ("text", "in black"), ("text", "for women instead")]


def _post(url: str, body: dict, key: str | None, timeout: float = 600) -> tuple[int, dict]:
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    if key:
        req.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _peak_rss_mb(pid: int, field: str = "VmHWM") -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def start_server(args) -> tuple[subprocess.Popen, str, float]:
    port = _free_port()
    cmd = [sys.executable, "-m", "vlrec", "serve", "--port", str(port)]
    if args.catalog:
        cmd += ["--catalog", args.catalog]
    cmd += args.overrides
    env = {**os.environ, "VLREC_API_KEY": args.key} if args.key else dict(os.environ)
    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"vlrec-bench-server-{port}.log", "w")
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO)
    url = f"http://127.0.0.1:{port}"
    while True:
        if proc.poll() is not None:
            sys.exit(f"vlrec serve exited with {proc.returncode}; see {log.name}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1):
                break
        except OSError:
            time.sleep(0.5)
    return proc, url, time.perf_counter() - start


def session(url: str, key: str | None, n: int, results: list, lock: threading.Lock) -> None:
    sid = None
    for kind, text in TURNS:
        content: list | str = text
        if kind == "photo":
            photo = PHOTOS[n % len(PHOTOS)]
            data = "data:image/jpeg;base64," + base64.b64encode(photo.read_bytes()).decode()
            content = [{"type": "text", "text": text}, {"type": "image_url", "image_url": {"url": data}}]
        body = {"model": "vlrec", "messages": [{"role": "user", "content": content}]}
        if sid:
            body["session_id"] = sid
        t0 = time.perf_counter()
        try:
            status, out = _post(url + "/v1/chat/completions", body, key)
        except OSError as exc:
            status, out = 0, {"error": {"message": str(exc)}}
        seconds = time.perf_counter() - t0
        ok = status == 200 and bool(out.get("vlrec", {}).get("items"))
        if ok:
            sid = out["vlrec"]["session_id"]
        with lock:
            results.append({"kind": kind, "seconds": seconds, "ok": ok, "status": status})


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))] if values else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=8, help="concurrent sessions (default 8)")
    ap.add_argument("--rounds", type=int, default=1, help="conversations per session thread")
    ap.add_argument(
        "--duration",
        type=float,
        default=0,
        help="seconds: each session plays conversations until then (soak)",
    )
    ap.add_argument("--url", help="benchmark a running server instead of starting one")
    ap.add_argument("--key", default="bench-key", help="API key (the started server requires it)")
    ap.add_argument("--catalog", help="catalogue file for the started server (default: bundled sample)")
    ap.add_argument("overrides", nargs="*", help="config overrides for the started server")
    args = ap.parse_args()

    proc, boot = None, None
    url = args.url
    if url is None:
        proc, url, boot = start_server(args)
    try:
        # one warm-up turn: first-call costs (lazy imports, allocator) are not load
        _post(url + "/v1/chat/completions", {"messages": [{"role": "user", "content": "shoes"}]}, args.key)
        results: list[dict] = []
        lock = threading.Lock()
        start = time.perf_counter()
        deadline = start + args.duration

        def play(n: int) -> None:
            for _ in range(args.rounds):
                session(url, args.key, n, results, lock)
            while time.perf_counter() < deadline:
                session(url, args.key, n, results, lock)

        threads = [threading.Thread(target=play, args=(n,)) for n in range(args.sessions)]
        for t in threads:
            t.start()
        samples: list[tuple[float, float]] = []  # (seconds, server RSS MB) every 15 s while loaded
        while any(t.is_alive() for t in threads):
            if proc is not None and (not samples or time.perf_counter() - start - samples[-1][0] >= 15):
                now = _peak_rss_mb(proc.pid, "VmRSS")
                if now:
                    samples.append((time.perf_counter() - start, now))
            time.sleep(0.5)
        wall = time.perf_counter() - start
        rss = _peak_rss_mb(proc.pid) if proc else None
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(30)

    errors = sum(not r["ok"] for r in results)
    print(f"$ python benchmarks/bench_server.py {' '.join(sys.argv[1:])}".rstrip())
    print(
        f"{args.sessions} concurrent sessions x "
        + (f"conversations for {args.duration:.0f} s" if args.duration else f"{args.rounds} conversation(s)")
        + f" x {len(TURNS)} turns; "
        f"{os.cpu_count()} CPU cores" + (f"; server start {boot:.1f} s" if boot else "")
    )
    print()
    print(
        "| turns | wall s | turns/s | p50 s | p95 s | photo p50 s | photo p95 s | text p50 s | text p95 s | errors | server peak RSS MB |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    lat = [r["seconds"] for r in results]
    photo = [r["seconds"] for r in results if r["kind"] == "photo"]
    text = [r["seconds"] for r in results if r["kind"] == "text"]
    print(
        f"| {len(results)} | {wall:.1f} | {len(results) / wall:.2f} | {pct(lat, 0.5):.2f} | {pct(lat, 0.95):.2f} | "
        f"{pct(photo, 0.5):.2f} | {pct(photo, 0.95):.2f} | {pct(text, 0.5):.2f} | {pct(text, 0.95):.2f} | "
        f"{errors} | {f'{rss:.0f}' if rss else 'n/a'} |"
    )
    if len(samples) > 1:
        print("\nserver RSS MB over time: " + ", ".join(f"{t / 60:.1f} min {m:.0f}" for t, m in samples))
        half = samples[len(samples) // 2 :]
        print(f"second half: min {min(m for _, m in half):.0f}, max {max(m for _, m in half):.0f} MB")
    if errors:
        bad = [r for r in results if not r["ok"]][:5]
        print(f"errors (first 5): {bad}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
