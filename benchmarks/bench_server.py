"""Load on ``vlrec serve``: N concurrent shopper sessions with text and photo turns.

    python benchmarks/bench_server.py                          # 8 sessions, bundled sample catalogue
    python benchmarks/bench_server.py --sessions 16 --catalog ../shared/data/fashion/catalog.jsonl
    python benchmarks/bench_server.py --url http://127.0.0.1:8000 --key KEY   # a server already running
    python benchmarks/bench_server.py --sessions 32 --duration 300             # soak: 5 minutes, RSS over time
    python benchmarks/bench_server.py --workers 2                              # 2 server processes, one catalogue
    python benchmarks/bench_server.py --grid                                   # 1, 2, 4 workers x 8, 16, 32 sessions

Unless ``--url`` is given, it starts ``vlrec serve`` on a free localhost port (default
stack: local Chroma, packaged models, shipped VLM) and waits for ``/healthz``. Each
session is a thread that plays one conversation through ``POST /v1/chat/completions``
with its own ``session_id``: a photo with words, then two refinements in words
("in black", "for women instead"); photo turns alternate between the bundled query
photos. Every turn must answer 200 with catalogue items, or it counts as an error.
Reports turns/s over the whole run, p50/p95 latency per turn kind, errors, and the
server's peak RSS (VmHWM from /proc, when the server is our child).

``--workers N`` starts N ``vlrec serve`` processes on one catalogue: the same Chroma store and
the same SQLite session file (the defaults), each with ``runtime.threads`` = cores / N. Requests
go to the workers in turn, as a balancer without sticky sessions would send them, so the turns
of one conversation land on different workers and must find its state in the shared store.
``--grid`` runs 1, 2 and 4 workers x 8, 16 and 32 sessions and prints one table (peak RSS is
the sum over the workers).
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


def start_server(args, extra: tuple[str, ...] = (), wait: bool = True) -> tuple[subprocess.Popen, str, float]:
    port = _free_port()
    cmd = [sys.executable, "-m", "vlrec", "serve", "--port", str(port)]
    if args.catalog:
        cmd += ["--catalog", args.catalog]
    cmd += [*args.overrides, *extra]
    env = {**os.environ, "VLREC_API_KEY": args.key} if args.key else dict(os.environ)
    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"vlrec-bench-server-{port}.log", "w")
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO)
    url = f"http://127.0.0.1:{port}"
    if wait:
        wait_ready(proc, url, log.name)
    return proc, url, time.perf_counter() - start


def wait_ready(proc: subprocess.Popen, url: str, log_name: str) -> None:
    while True:
        if proc.poll() is not None:
            sys.exit(f"vlrec serve exited with {proc.returncode}; see {log_name}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.5)


def start_workers(args, n: int) -> tuple[list[subprocess.Popen], list[str], float]:
    """``n`` servers on one catalogue: the first builds or opens the index alone, then the rest."""
    if n == 1 and not any(o.startswith("runtime.threads=") for o in args.overrides):
        proc, url, boot = start_server(args)
        return [proc], [url], boot
    extra = (f"runtime.threads={max(1, (os.cpu_count() or 1) // n)}",)
    start = time.perf_counter()
    first = start_server(args, extra)
    rest = [start_server(args, extra, wait=False) for _ in range(n - 1)]
    for proc, url, _ in rest:
        wait_ready(proc, url, f"the log of {url}")
    servers = [first, *rest]
    return [p for p, _, _ in servers], [u for _, u, _ in servers], time.perf_counter() - start


def session(urls: list[str], key: str | None, n: int, results: list, lock: threading.Lock) -> None:
    sid = None
    for turn, (kind, text) in enumerate(TURNS):
        url = urls[(n + turn) % len(urls)]  # with several workers, consecutive turns change worker
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


def peak_rss(procs: list[subprocess.Popen]) -> float | None:
    peaks = [_peak_rss_mb(p.pid) for p in procs]
    return sum(peaks) if procs and all(peaks) else None


def load(urls: list[str], key: str | None, sessions: int, rounds: int, duration: float, procs: list) -> dict:
    """Play ``sessions`` concurrent conversations against ``urls``; latency per turn kind, errors."""
    # one warm-up turn per worker: first-call costs (lazy imports, allocator) are not load
    for url in urls:
        _post(url + "/v1/chat/completions", {"messages": [{"role": "user", "content": "shoes"}]}, key)
    results: list[dict] = []
    lock = threading.Lock()
    start = time.perf_counter()
    deadline = start + duration

    def play(n: int) -> None:
        for _ in range(rounds):
            session(urls, key, n, results, lock)
        while time.perf_counter() < deadline:
            session(urls, key, n, results, lock)

    threads = [threading.Thread(target=play, args=(n,)) for n in range(sessions)]
    for t in threads:
        t.start()
    samples: list[tuple[float, float]] = []  # (seconds, server RSS MB) every 15 s while loaded
    while any(t.is_alive() for t in threads):
        if procs and (not samples or time.perf_counter() - start - samples[-1][0] >= 15):
            now = [_peak_rss_mb(p.pid, "VmRSS") for p in procs]
            if all(now):
                samples.append((time.perf_counter() - start, sum(now)))
        time.sleep(0.5)
    wall = time.perf_counter() - start
    lat = [r["seconds"] for r in results]
    photo = [r["seconds"] for r in results if r["kind"] == "photo"]
    text = [r["seconds"] for r in results if r["kind"] == "text"]
    return {
        "turns": len(results), "wall": wall, "rate": len(results) / wall,
        "p50": pct(lat, 0.5), "p95": pct(lat, 0.95), "photo50": pct(photo, 0.5), "photo95": pct(photo, 0.95),
        "text50": pct(text, 0.5), "text95": pct(text, 0.95), "errors": sum(not r["ok"] for r in results),
        "bad": [r for r in results if not r["ok"]][:5], "rss": peak_rss(procs), "samples": samples,
    }  # fmt: skip


def row(r: dict) -> str:
    return (
        f"{r['turns']} | {r['wall']:.1f} | {r['rate']:.2f} | {r['p50']:.2f} | {r['p95']:.2f} | "
        f"{r['photo50']:.2f} | {r['photo95']:.2f} | {r['text50']:.2f} | {r['text95']:.2f} | "
        f"{r['errors']} | " + (f"{r['rss']:.0f} |" if r["rss"] else "n/a |")
    )


COLUMNS = "turns | wall s | turns/s | p50 s | p95 s | photo p50 s | photo p95 s | text p50 s | text p95 s | errors | server peak RSS MB |"


def stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait(30)


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
    ap.add_argument("--workers", type=int, default=1, help="server processes on one catalogue (default 1)")
    ap.add_argument("--grid", action="store_true", help="1, 2, 4 workers x 8, 16, 32 sessions, one table")
    ap.add_argument("--url", help="benchmark a running server instead of starting one")
    ap.add_argument("--key", default="bench-key", help="API key (the started server requires it)")
    ap.add_argument("--catalog", help="catalogue file for the started server (default: bundled sample)")
    ap.add_argument("overrides", nargs="*", help="config overrides for the started server")
    args = ap.parse_args()
    if args.grid:
        return grid(args)

    procs, boot = [], None
    urls = [args.url] if args.url else []
    if not urls:
        procs, urls, boot = start_workers(args, args.workers)
    try:
        r = load(urls, args.key, args.sessions, args.rounds, args.duration, procs)
    finally:
        stop(procs)

    print(f"$ python benchmarks/bench_server.py {' '.join(sys.argv[1:])}".rstrip())
    print(
        f"{args.sessions} concurrent sessions x "
        + (f"conversations for {args.duration:.0f} s" if args.duration else f"{args.rounds} conversation(s)")
        + f" x {len(TURNS)} turns; {len(urls)} worker(s); "
        f"{os.cpu_count()} CPU cores" + (f"; server start {boot:.1f} s" if boot else "")
    )
    print()
    print("| " + COLUMNS)
    print("|---:" * COLUMNS.count("|") + "|")
    print("| " + row(r))
    samples = r["samples"]
    if len(samples) > 1:
        print("\nserver RSS MB over time: " + ", ".join(f"{t / 60:.1f} min {m:.0f}" for t, m in samples))
        half = samples[len(samples) // 2 :]
        print(f"second half: min {min(m for _, m in half):.0f}, max {max(m for _, m in half):.0f} MB")
    if r["errors"]:
        print(f"errors (first 5): {r['bad']}", file=sys.stderr)
        sys.exit(1)


def grid(args) -> None:
    """1, 2 and 4 workers (each started once) x 8, 16 and 32 concurrent sessions."""
    lines = []
    for workers in (1, 2, 4):
        procs, urls, boot = start_workers(args, workers)
        try:
            for sessions in (8, 16, 32):
                r = load(urls, args.key, sessions, args.rounds, 0, procs)
                lines.append(f"| {workers} | {sessions} | " + row(r))
                print(lines[-1], file=sys.stderr, flush=True)
        finally:
            stop(procs)
    print(f"$ python benchmarks/bench_server.py {' '.join(sys.argv[1:])}".rstrip())
    print(f"{len(TURNS)} turns per conversation (a photo, then two in words); {os.cpu_count()} CPU cores")
    print()
    print("| workers | sessions | " + COLUMNS)
    print("|---:" * (COLUMNS.count("|") + 2) + "|")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
