"""How loud the command line is: ``-q`` (errors only, no progress bars), default (vlrec's own
progress and warnings; library noise once-known and harmless is silenced), ``-v`` (everything,
libraries included).

Silenced by default, each seen on every run of the packaged stack and none actionable for a user:
transformers' "Loading weights" bars and FutureWarnings, and bitsandbytes' notice that an optional CPU kernel package is absent.
"""

from __future__ import annotations

import logging
import os
import warnings

NOISY_LOGGERS = ("bitsandbytes", "bm25s", "transformers", "accelerate", "chromadb", "httpx", "urllib3")


def configure(verbosity: int = 0) -> None:
    """-1 quiet, 0 default, 1 verbose. Call before the libraries are imported (env vars are read then)."""
    level = {-1: logging.ERROR, 0: logging.WARNING}.get(verbosity, logging.INFO)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:  # libraries that set their own loggers to DEBUG
        handler.setLevel(level)  # (bm25s does, on import) still stop here
    logging.getLogger("vlrec").setLevel(level)
    if verbosity >= 1:
        return
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # transformers' own bars follow it
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"transformers(\.|$)")
    if verbosity < 0:
        os.environ.setdefault("TQDM_DISABLE", "1")  # bars that take tqdm's defaults
        import tqdm.std

        init = tqdm.std.tqdm.__init__
        if not getattr(init, "_vlrec_quiet", False):  # and those that pass disable=False themselves

            def quiet(self, *args, **kwargs):
                kwargs["disable"] = True
                init(self, *args, **kwargs)

            quiet._vlrec_quiet = True
            tqdm.std.tqdm.__init__ = quiet
