"""The ``vlrec`` command line.

Only argparse is imported at module level: torch, transformers and chromadb load
inside the command that needs them, so ``vlrec --help`` answers at once.
"""

from __future__ import annotations

import argparse
import json
import re
import sys

_OVERRIDE = re.compile(r"^[A-Za-z_][\w.]*=")


def _add_config_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", "-c", help="YAML config file (default: built-in defaults)")
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="key=value",
        help="config overrides, e.g. lm.quantization=none vision.name=efficientnet-lite2",
    )


def _load(args):
    from agent.config import load_config

    return load_config(args.config, args.overrides)


def cmd_demo(args) -> int:
    from agent.demo import run_demo

    run_demo(_load(args))
    return 0


def cmd_config(args) -> int:
    import yaml

    from adapters.config import to_dict

    print(yaml.safe_dump(to_dict(_load(args)), sort_keys=False), end="")
    return 0


def cmd_prepare(args) -> int:
    from adapters.lm import PACKAGED_LM, packaged_lm_dir

    cfg = _load(args)
    if cfg.lm.path == PACKAGED_LM:
        print(packaged_lm_dir())
    else:
        print(f"lm.path is '{cfg.lm.path}'; nothing to prepare")
    return 0


def cmd_generate(args) -> int:
    from adapters.lm import generate_text, load_lm

    cfg = _load(args)
    lm = load_lm(cfg.lm, cfg.runtime.device, cfg.runtime.dtype)
    prompt = args.prompt
    if args.chat:
        prompt = lm.prompt.render([{"role": "user", "content": args.prompt}])
    stop = None if args.chat else []
    text = generate_text(lm, [prompt], max_new_tokens=args.max_new_tokens, stop=stop)[0]
    if args.json:
        print(json.dumps({"prompt": prompt, "completion": text}))
    else:
        print(text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vlrec",
        description="vlrec: an LLM-centric multimodal recommender agent.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("demo", help="index the bundled fashion sample and show nearest items")
    _add_config_args(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("config", help="print the resolved config (defaults + file + overrides)")
    _add_config_args(p)
    p.set_defaults(func=cmd_config)

    p = sub.add_parser("prepare", help="convert the packaged LM to a cached Hugging Face folder")
    _add_config_args(p)
    p.set_defaults(func=cmd_prepare)

    p = sub.add_parser("generate", help="continue a prompt with the configured LM")
    p.add_argument("prompt")
    p.add_argument("--max-new-tokens", type=int, default=32)
    p.add_argument("--chat", action="store_true", help="wrap the prompt in the LM's prompt format")
    p.add_argument("--json", action="store_true", help="print JSON")
    _add_config_args(p)
    p.set_defaults(func=cmd_generate)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    # argparse stops filling a nargs="*" positional at the first option, so overrides
    # written after options (`generate "x" --json lm.path=...`) arrive as extras.
    args, extra = parser.parse_known_args(argv)
    strays = [e for e in extra if not _OVERRIDE.match(e)]
    if strays or (extra and not hasattr(args, "overrides")):
        parser.error(f"unrecognized arguments: {' '.join(strays or extra)}")
    if extra:
        args.overrides = [*args.overrides, *extra]
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    from adapters.config import ConfigError

    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"vlrec: {exc}", file=sys.stderr)
        return 2
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        print(f"vlrec {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
