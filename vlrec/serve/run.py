"""Starting ``vlrec serve``: load the agent (indexing a catalogue first when asked) and run uvicorn.

:func:`build_service` indexes the given catalogue file, or the bundled sample on the demo's
first start, loads the agent and wraps it in a :class:`~vlrec.serve.service.Service`;
:func:`serve` applies the runtime settings, sets up logging, builds the FastAPI app of
:mod:`vlrec.serve.app` around that service and serves it until stopped.
"""

import logging

from vlrec.serve.app import create_app
from vlrec.serve.service import Service


def build_service(cfg, catalog_file: str | None = None, name: str | None = None, report=print) -> Service:
    """Load the agent for ``vlrec serve``: index ``catalog_file`` first when given (incremental),
    or the bundled sample when the configured catalogue is the demo's and not indexed yet."""
    from vlrec.agent.session import load_agent
    from vlrec.data.catalog import catalog_name
    from vlrec.retrieval.catalogue import Catalogue

    if catalog_file is None and cfg.agent.catalog == cfg.demo.name:
        catalog_file, name = cfg.demo.catalog, cfg.demo.name  # the bundled sample: indexed on first start
    catalogue = None
    if catalog_file is not None:
        name = name or catalog_name(catalog_file)
        catalogue = Catalogue.open(cfg, name)
        summary = catalogue.index_file(catalog_file, rebuild=True)
        report(f"indexed {name}: {summary}")
        cfg.agent.catalog = name
    else:  # serving what is already indexed: refuse to start on a damaged store, saying how to mend it
        catalogue = Catalogue.open(cfg, cfg.agent.catalog)
        damaged = catalogue.damage()
        if damaged:
            from vlrec.retrieval.store import StoreError

            raise StoreError(
                f"catalogue '{catalogue.name}' is damaged in the store ({'; '.join(f'{k}: {v}' for k, v in damaged.items())}); "
                f"run `vlrec index CATALOG --name {catalogue.name} --repair` first"
            )
    agent = load_agent(cfg, catalogue=catalogue)  # one embedder for indexing and serving
    return Service(cfg.serve, agent)


def serve(cfg, catalog_file: str | None = None, name: str | None = None) -> None:
    from vlrec.core.extras import need

    need("fastapi", "serve", "vlrec serve")  # before minutes of model loading
    uvicorn = need("uvicorn", "serve", "vlrec serve")

    from vlrec.core.runtime import apply_runtime

    apply_runtime(cfg.runtime)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    service = build_service(cfg, catalog_file, name)
    app = create_app(service)
    key = "on" if service.key else "off (set serve.api_key or VLREC_API_KEY)"
    print(
        f"vlrec serving '{service.agent.searcher.catalog}' ({len(service.agent.items)} items) on "
        f"http://{cfg.serve.host}:{cfg.serve.port}/  API key: {key}",
        flush=True,
    )
    uvicorn.run(app, host=cfg.serve.host, port=cfg.serve.port, log_level="info", access_log=True)
