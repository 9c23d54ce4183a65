"""The ``vlrec`` command line: the parser and the entry point; each command is in a ``cmd_*``
module of this package.

Only argparse is imported at module level: torch, transformers and chromadb load
inside the command that needs them, so ``vlrec --help`` answers at once.
"""

from __future__ import annotations

import argparse
import sys

from vlrec.cli.cmd_eval import (
    cmd_eval_caption,
    cmd_eval_chat,
    cmd_eval_freeform,
    cmd_eval_intent,
    cmd_eval_rec,
    cmd_eval_retrieval,
    cmd_eval_vqa,
)
from vlrec.cli.cmd_models import (
    cmd_ask,
    cmd_caption,
    cmd_config,
    cmd_export_merged,
    cmd_export_peft,
    cmd_generate,
    cmd_prepare,
)
from vlrec.cli.cmd_shop import cmd_chat, cmd_demo, cmd_index, cmd_recommend, cmd_search, cmd_serve
from vlrec.cli.cmd_train import cmd_train_align, cmd_train_intent, cmd_train_rec, cmd_train_vlm
from vlrec.cli.common import _OVERRIDE, FREEFORM


def _add_config_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", "-c", help="YAML config file (default: built-in defaults)")
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="key=value",
        help="config overrides, e.g. lm.quantization=none vision.name=efficientnet-lite2",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vlrec",
        description="vlrec: an LLM-centric multimodal recommender agent.",
    )
    from vlrec.core.version import __version__

    parser.add_argument("--version", action="version", version=f"vlrec {__version__}")
    loud = parser.add_mutually_exclusive_group()
    loud.add_argument("-q", "--quiet", action="store_true", help="errors only, no progress bars")
    loud.add_argument("-v", "--verbose", action="store_true", help="libraries' logs and warnings too")
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

    p = sub.add_parser("train", help="training runs: `vlrec train align CONFIG [key=value ...]`")
    train = p.add_subparsers(dest="what", metavar="WHAT", required=True)
    t = train.add_parser("align", help="train the image-text alignment head on cached features")
    t.add_argument("config", help="YAML config, e.g. configs/align/flickr8k.yaml")
    t.add_argument("overrides", nargs="*", metavar="key=value")
    t.set_defaults(func=cmd_train_align)
    t = train.add_parser("vlm", help="train the VLM: projector (stage 1) or projector + QLoRA (stage 2)")
    t.add_argument("config", help="YAML config, e.g. configs/train/stage1_align.yaml")
    t.add_argument("overrides", nargs="*", metavar="key=value")
    t.set_defaults(func=cmd_train_vlm)
    t = train.add_parser(
        "intent", help="train the shopper-intent LM (QLoRA + value heads) on generated conversations"
    )
    t.add_argument("config", help="YAML config, e.g. configs/train/intent.yaml")
    t.add_argument("overrides", nargs="*", metavar="key=value")
    t.set_defaults(func=cmd_train_intent)
    t = train.add_parser("rec", help="fit the history-based recommender (co-occurrence, MF, content, blend)")
    t.add_argument("config", help="YAML config, e.g. configs/rec/ml100k.yaml")
    t.add_argument("overrides", nargs="*", metavar="key=value")
    t.set_defaults(func=cmd_train_rec)

    p = sub.add_parser("index", help="index a catalogue (JSONL or CSV) into Chroma, incrementally")
    p.add_argument(
        "catalog", help="catalogue file: id, title, [description], [image], other fields = metadata"
    )
    p.add_argument("--name", help="catalogue name (default: from the file name)")
    p.add_argument("--prune", action="store_true", help="delete stored items that are no longer in the file")
    p.add_argument(
        "--repair",
        action="store_true",
        help="if the catalogue's collections are damaged (e.g. after a crash), drop and re-index them",
    )
    p.add_argument(
        "--images-anywhere",
        action="store_true",
        help="allow image paths outside the catalogue's folder (absolute, ../, links out)",
    )
    p.add_argument(
        "--rebuild",
        action="store_true",
        help="if the stored vectors come from another embedder (e.g. a new alignment head), start afresh",
    )
    p.add_argument("--wait", type=float, default=30.0, help="seconds to wait for another indexer")
    p.add_argument("--json", action="store_true", help="also print the summary as JSON")
    _add_config_args(p)
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("search", help="text / image / image+text / item -> items")
    p.add_argument("--name", required=True, help="catalogue name given to `vlrec index`")
    p.add_argument("--text")
    p.add_argument("--image", help="query image file")
    p.add_argument("--item", help="find items similar to this item id")
    p.add_argument("--where", action="append", metavar="KEY=VALUE", help="metadata filter (repeatable)")
    p.add_argument("--k", type=int, default=None)
    p.add_argument("--image-weight", type=float, default=None, help="image share of an image+text query")
    p.add_argument(
        "--target",
        choices=["auto", "fused", "image", "text"],
        default="auto",
        help="item vectors to search; auto: text query -> text, image -> image, both or --item -> fused",
    )
    p.add_argument("--json", action="store_true")
    _add_config_args(p)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("eval", help="evaluations: `vlrec eval retrieval --data FILE.jsonl`")
    ev = p.add_subparsers(dest="what", metavar="WHAT", required=True)
    e = ev.add_parser(
        "retrieval", help="image<->text Recall@K on a Flickr8k-style file; title->image on a catalogue"
    )
    e.add_argument("--data", help="Flickr8k-style JSONL: {image, captions} a line")
    e.add_argument("--catalog", help="catalogue file: title -> image Recall@K over all its items")
    e.add_argument("--json", action="store_true")
    _add_config_args(e)
    e.set_defaults(func=cmd_eval_retrieval)
    e = ev.add_parser(
        "caption", help="BLEU-1..4 and CIDEr-D of VLM captions beside the kNN-consensus baseline"
    )
    e.add_argument("--data", default="../shared/data/flickr8k/test.jsonl",
                   help="Flickr8k-style JSONL: {image, captions} a line (the test images)")  # fmt: skip
    e.add_argument("--train-data", default="../shared/data/flickr8k/train.jsonl",
                   help="captioned training images: the datastore of candidate captions")  # fmt: skip
    e.add_argument("--split", default="test", choices=["dev", "test"],
                   help="dev: the last 500 images of --train-data, their own captions left out")  # fmt: skip
    e.add_argument("--limit", type=int, default=0, help="first N images only (0 = all)")
    e.add_argument("--generate", action="store_true", help="also the LM's free-text captions (slow)")
    e.add_argument("--save", help="write every caption with its references to this JSONL")
    e.add_argument("--json", action="store_true")
    _add_config_args(e)
    e.set_defaults(func=cmd_eval_caption)
    e = ev.add_parser(
        "vqa", help="attributes read off held-out fashion photos, beside majority, kNN and probe baselines"
    )
    e.add_argument("--catalog", default="../shared/data/fashion/catalog.jsonl")
    e.add_argument("--split", default="test", choices=["dev", "test"], help="held-out half to score")
    e.add_argument("--limit", type=int, default=0, help="first N items of the split by id (0 = all)")
    e.add_argument("--datastore", help="neighbours from this indexed catalogue's Chroma collections "
                   "(default: an in-memory copy of --catalog's image vectors)")  # fmt: skip
    e.add_argument("--datastore-items", default="all", choices=["all", "heldout"],
                   help="heldout: neighbours only among items no vlrec model was trained on")  # fmt: skip
    e.add_argument("--generate", action="store_true", help="also the LM's free-text answers (slow)")
    e.add_argument("--fit-gates", action="store_true",
                   help="refit each field's gate on this dev split's answers and save it with the VLM")  # fmt: skip
    e.add_argument("--save", help="write every answer to this JSONL")
    e.add_argument("--json", action="store_true")
    _add_config_args(e)
    e.set_defaults(func=cmd_eval_vqa)
    for which in ("intent", "freeform"):
        e = ev.add_parser(
            which,
            help="keyword rules vs the intent LM: constraint exact match and per-field accuracy"
            if which == "intent"
            else "free-form shopper requests: keyword rules, plain MiniLM search, LM intent, full agent",
        )
        e.add_argument("--data", default=str(FREEFORM), help="labelled requests (JSONL: text, want, avoid)")
        e.add_argument("--split", default="dev", help="the rows of this split ('' = all rows)")
        e.add_argument("--catalog", default="../shared/data/fashion/catalog.jsonl")
        e.add_argument("--name", help="catalogue name (default: from the file name)")
        e.add_argument("--k", type=int, default=10, help="items per reply")
        if which == "intent":
            e.add_argument("--fit", action="store_true",
                           help="fit the decoding (vote weight, shares, gates) on this dev split and save it")  # fmt: skip
        e.add_argument("--save", help="write every request's result to this JSONL")
        e.add_argument("--json", action="store_true")
        _add_config_args(e)
        e.set_defaults(func=cmd_eval_intent if which == "intent" else cmd_eval_freeform)
    e = ev.add_parser("chat", help="simulated shoppers look for hidden target items (success@k per turn)")
    e.add_argument("--catalog", required=True, help="catalogue file (indexed first, incrementally)")
    e.add_argument("--name", help="catalogue name (default: from the file name)")
    e.add_argument("--n", type=int, default=100, help="shoppers (targets)")
    e.add_argument("--k", type=int, default=10, help="items per reply")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--image", action="store_true", help="turn 1 also sends a photo of a similar item")
    e.add_argument("--json", action="store_true")
    _add_config_args(e)
    e.set_defaults(func=cmd_eval_chat)
    e = ev.add_parser("rec", help="HR/NDCG/Recall/MRR@10, full ranking, on a RecBole-format folder")
    e.add_argument("--data", required=True, help="folder with NAME.inter (+ NAME.item, posters/)")
    e.add_argument("--split", choices=["loo", "random"], default="loo")
    e.add_argument("--json", action="store_true")
    _add_config_args(e)
    e.set_defaults(func=cmd_eval_rec)

    p = sub.add_parser("caption", help="caption photos with the VLM")
    p.add_argument("images", nargs="+", metavar="PHOTO")
    p.add_argument("--captions", metavar="FILE",
                   help="captioned images (Flickr8k-style JSONL) to copy from: the VLM picks among the "
                   "captions of each photo's nearest images (without: the LM writes one)")  # fmt: skip
    p.add_argument("--json", action="store_true")
    p.add_argument("--config", "-c", help="YAML config file (default: built-in defaults)")
    p.set_defaults(func=cmd_caption, overrides=[])

    p = sub.add_parser("ask", help='answer a question about a photo: `vlrec ask PHOTO "what colour is it?"`')
    p.add_argument("image", metavar="PHOTO")
    p.add_argument("question")
    p.add_argument("--catalog", help="also cite similar items of this indexed catalogue (a name)")
    p.add_argument("--json", action="store_true")
    _add_config_args(p)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("chat", help="talk to the shopping agent (text and photos) over an indexed catalogue")
    p.add_argument("--json", action="store_true", help="print replies as JSON")
    p.add_argument(
        "--user",
        help="a known user of the history recommender (rec.*): their history ranks the items; "
        "the catalogue must hold the history data's items (e.g. -c configs/rec/ml100k.yaml)",
    )
    _add_config_args(p)
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("export", help="export models: `vlrec export merged DIR`, `vlrec export peft DIR`")
    ex = p.add_subparsers(dest="what", metavar="WHAT", required=True)
    e = ex.add_parser("merged", help="LoRA merged into a dequantized LM + projector (serving without peft)")
    e.add_argument("dir")
    _add_config_args(e)
    e.set_defaults(func=cmd_export_merged)
    e = ex.add_parser("peft", help="a standard peft adapter folder of the VLM's or the intent LM's LoRA")
    e.add_argument("dir")
    e.add_argument("--model", choices=["vlm", "intent"], default="vlm")
    e.add_argument("--base-model", default="google/gemma-3-270m", help="the base model the config names")
    _add_config_args(e)
    e.set_defaults(func=cmd_export_peft)

    p = sub.add_parser(
        "recommend", help="recommend: from a user's history (`--user ID`) or a request (`--text`, `--image`)"
    )
    p.add_argument("--user", help="a known user of the history recommender (see rec.*)")
    p.add_argument("--text", help="what the shopper wants, e.g. 'like this but in black'")
    p.add_argument("--image", help="a photo from the shopper")
    p.add_argument("--k", type=int, default=None)
    p.add_argument("--json", action="store_true")
    _add_config_args(p)
    p.set_defaults(func=cmd_recommend)

    p = sub.add_parser("serve", help="the agent over HTTP: OpenAI-compatible API, items API, web chat page")
    p.add_argument("--host", help="address to bind (default serve.host, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default serve.port, 8000)")
    p.add_argument("--catalog", help="index this catalogue file (incrementally) and serve it")
    p.add_argument("--name", help="catalogue name (default: from the file name)")
    _add_config_args(p)
    p.set_defaults(func=cmd_serve)
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
    from vlrec.core.config import ConfigError
    from vlrec.core.extras import MissingExtra
    from vlrec.core.logs import configure

    configure(-1 if args.quiet else 1 if args.verbose else 0)
    try:
        return args.func(args)
    except MissingExtra as exc:
        print(f"vlrec {args.command}: {exc}", file=sys.stderr)
        return 3
    except ConfigError as exc:
        print(f"vlrec: {exc}", file=sys.stderr)
        return 2
    except KeyError as exc:
        print(f"vlrec {args.command}: {exc.args[0]}", file=sys.stderr)
        return 1
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        print(f"vlrec {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
