"""Commands that run a model directly: config, prepare, generate, caption, ask, export."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from vlrec.cli.common import _OVERRIDE, _load, _print_reply


def cmd_config(args) -> int:
    import yaml

    from vlrec.core.config import to_dict

    print(yaml.safe_dump(to_dict(_load(args)), sort_keys=False), end="")
    return 0


def cmd_prepare(args) -> int:
    from vlrec.models.lm import PACKAGED_LM, packaged_lm_dir

    cfg = _load(args)
    if cfg.lm.path == PACKAGED_LM:
        print(packaged_lm_dir())
    else:
        print(f"lm.path is '{cfg.lm.path}'; nothing to prepare")
    return 0


def cmd_generate(args) -> int:
    from vlrec.models.lm import generate_text, load_lm

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


def _vlm(args):
    from vlrec.adapters.vlm_load import load_vlm

    return load_vlm(_load(args))


def cmd_caption(args) -> int:
    from vlrec.core.images import ImageError

    # `vlrec caption a.jpg b.jpg key=value`: the photo list swallows overrides; split them.
    args.overrides = [*args.overrides, *[a for a in args.images if _OVERRIDE.match(a)]]
    args.images = [a for a in args.images if not _OVERRIDE.match(a)]

    vlm = _vlm(args)
    if args.captions:  # retrieval-augmented: copy from the neighbours' captions, the VLM chooses
        from vlrec.adapters.captioner import caption_images, captioner_from_file

        cfg = _load(args)
        cap = captioner_from_file(cfg.vision, cfg.retrieval.head, vlm, args.captions, cfg.text)

        def caption(path):
            return caption_images(cap, [path])[0]
    else:

        def caption(path):
            return vlm.caption([path])[0]

    rows = []
    for path in args.images:
        try:
            rows.append({"image": path, "caption": caption(path)})
        except ImageError as exc:
            print(f"vlrec caption: {exc}", file=sys.stderr)
            return 1
    for row in rows:
        print(
            json.dumps(row) if args.json else (f"{row['image']}: " if len(rows) > 1 else "") + row["caption"]
        )
    return 0


def cmd_ask(args) -> int:
    cfg = _load(args)
    if args.catalog:
        from vlrec.agent.session import load_agent

        cfg.agent.catalog = args.catalog
        reply = load_agent(cfg).answer(None, args.question, args.image)
        _print_reply(reply, args.json)
        return 0
    from vlrec.adapters.vlm_load import load_vlm

    answer = load_vlm(cfg).ask([args.image], [args.question])[0]
    out = {"image": args.image, "question": args.question, "answer": answer}
    print(json.dumps(out) if args.json else answer)
    return 0


def cmd_export_peft(args) -> int:
    from vlrec.adapters.vlm_load import export_peft
    from vlrec.core.paths import ASSETS

    cfg = _load(args)
    if args.model == "intent":
        source = Path(cfg.intent.model or ASSETS / "intent" / "default") / "adapter"
    else:
        source = Path(cfg.vlm.adapter or ASSETS / "vlm" / "default") / "adapter"
    if not (source / "adapter_config.json").is_file():
        raise FileNotFoundError(f"no LoRA adapter in {source}")
    folder = export_peft(source, args.dir, args.base_model)
    print(f"peft adapter written to {folder} (PeftModel.from_pretrained(base_model, '{folder}'))")
    return 0


def cmd_export_merged(args) -> int:
    from vlrec.adapters.vlm_load import export_merged, load_vlm

    cfg = _load(args)
    cfg.lm.quantization = "none"  # merge into dequantized weights
    folder = export_merged(load_vlm(cfg), args.dir)
    print(f"merged model written to {folder}")
    return 0
