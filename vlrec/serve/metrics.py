"""Prometheus metrics of ``vlrec serve``: requests by route template and status, their latency,
and the conversations and turns the service holds; ``GET /metrics`` (behind the API key)."""

import time
from collections.abc import Callable


def instrument(app, service, auth: Callable) -> None:
    """Count and time every request of ``app``, and serve ``/metrics`` from a registry of its own
    (tests and embedders may build several apps in one process)."""
    from fastapi import Request
    from fastapi.responses import Response
    from prometheus_client import (
        CONTENT_TYPE_LATEST,
        CollectorRegistry,
        Counter,
        Gauge,
        Histogram,
        generate_latest,
    )

    registry = CollectorRegistry()
    requests_total = Counter(
        "vlrec_requests", "HTTP requests", ["method", "route", "status"], registry=registry
    )
    seconds = Histogram(
        "vlrec_request_seconds", "Request latency", ["route"], registry=registry,
        buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
    )  # fmt: skip
    Gauge("vlrec_sessions", "Conversations stored", registry=registry).set_function(
        lambda: len(service.sessions)
    )
    Gauge("vlrec_turns_served", "Turns answered since start", registry=registry).set_function(
        lambda: service.turns_served
    )

    @app.middleware("http")
    async def _measure(request: Request, call_next):
        start = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            route = getattr(request.scope.get("route"), "path", "unmatched")  # the template: few labels
            requests_total.labels(request.method, route, str(status)).inc()
            seconds.labels(route).observe(time.perf_counter() - start)

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request):
        auth(request)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
