from pathlib import Path

import pytest

from vlrec.config import VlrecConfig, load_config
from vlrec.core.config import ConfigError, parse_overrides

CONFIGS = sorted(
    p
    for p in (Path(__file__).resolve().parents[1] / "configs").rglob("*.yaml")
    if p.parent.name != "accelerate"
)  # configs/accelerate holds `accelerate launch` files, not vlrec configs


def test_there_are_configs():
    assert len(CONFIGS) >= 3


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(p.parents[1])))
def test_every_yaml_in_configs_loads(path):
    cfg = load_config(path)
    assert isinstance(cfg, VlrecConfig)


def test_yaml_values_reach_the_typed_config():
    cfg = load_config(Path(__file__).resolve().parents[1] / "configs/models/vision_lite2.yaml")
    assert cfg.vision.name == "efficientnet-lite2"
    assert cfg.vision.batch_size == 8
    assert cfg.lm.quantization == "nf4"  # untouched defaults fill the rest


def test_overrides_are_typed_and_win_over_the_file(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("vision:\n  batch_size: 4\n")
    cfg = load_config(f, ["vision.batch_size=32", "lm.quantization=none", "store.url=null", "demo.k=3"])
    assert cfg.vision.batch_size == 32
    assert cfg.lm.quantization == "none"
    assert cfg.store.url is None
    assert cfg.demo.k == 3


def test_override_parsing_nests_and_types():
    assert parse_overrides(["a.b=1", "a.c=true", "d=x y", "e=[1, 2]"]) == {
        "a": {"b": 1, "c": True},
        "d": "x y",
        "e": [1, 2],
    }


def test_unknown_key_names_the_key_and_the_allowed_ones(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("lm:\n  quantisation: nf4\n")
    with pytest.raises(ConfigError) as err:
        load_config(f)
    msg = str(err.value)
    assert "lm.quantisation" in msg and "quantization" in msg and str(f) in msg


def test_bad_choice_names_the_key_and_the_allowed_values():
    with pytest.raises(ConfigError) as err:
        load_config(None, ["lm.quantization=int3"])
    msg = str(err.value)
    assert "lm.quantization" in msg
    for allowed in ("'none'", "'nf4'", "'int8'"):
        assert allowed in msg


def test_bad_type_and_bad_range_fail_at_load():
    with pytest.raises(ConfigError, match=r"vision\.batch_size.*integer"):
        load_config(None, ["vision.batch_size=big"])
    with pytest.raises(ConfigError, match=r"vision\.batch_size.*>= 1"):
        load_config(None, ["vision.batch_size=0"])
    with pytest.raises(ConfigError, match=r"vision\.pretrained.*true or false"):
        load_config(None, ["vision.pretrained=yes please"])


def test_malformed_override_and_missing_file():
    with pytest.raises(ConfigError, match="key=value"):
        load_config(None, ["vision.batch_size"])
    with pytest.raises(ConfigError, match="does not exist"):
        load_config("/nonexistent/vlrec.yaml")


def _sections():
    """Every ``*Sections`` Protocol in the package: the typed views that loaders and recipes take."""
    import importlib
    import pkgutil
    import typing

    names = set()
    for root in ("vlrec", "vlrec.agent", "vlrec.adapters", "vlrec.retrieval"):  # the mapped folders too
        pkg = importlib.import_module(root)
        names |= {m.name for m in pkgutil.walk_packages(pkg.__path__, root + ".")}
    found = {}
    for name in sorted(names - {"vlrec.__main__"}):
        m = importlib.import_module(name)
        for name, obj in vars(m).items():
            if name.endswith("Sections") and isinstance(obj, type) and getattr(obj, "_is_protocol", False):
                found[f"{obj.__module__}.{name}"] = obj
    assert typing.Protocol not in found.values()
    return found


def test_the_root_config_satisfies_every_typed_section():
    """Each loader or recipe declares the config sections it reads as a Protocol; the root config
    must have each of them with the declared type (a nested Protocol: the attributes it names)."""
    import dataclasses
    import typing

    from vlrec.config import VlrecConfig, load_config

    sections = _sections()
    for expected in ("AgentSections", "VLMSections", "EmbedderSections", "CatalogueSections",
                     "VLMTrainSections", "HeadsSections", "IntentSections", "AlignSections", "RecSections"):  # fmt: skip
        assert any(k.endswith("." + expected) for k in sections), expected
    root = typing.get_type_hints(VlrecConfig)
    cfg = load_config(None, [])
    for qual, proto in sections.items():
        hints = {}
        for base in reversed(proto.__mro__):
            if getattr(base, "_is_protocol", False) and base is not typing.Protocol:
                hints.update(typing.get_type_hints(base))
        assert hints, qual
        for attr, want in hints.items():
            assert attr in root, f"{qual}.{attr}: the root config has no section {attr!r}"
            if getattr(want, "_is_protocol", False):
                for sub in typing.get_type_hints(want):
                    assert hasattr(getattr(cfg, attr), sub), f"{qual}.{attr}.{sub}"
            else:
                assert root[attr] is want, f"{qual}.{attr}: {want} but the root config has {root[attr]}"
    assert dataclasses.is_dataclass(cfg)


def test_a_missing_extra_is_named_with_its_install_command(monkeypatch, capsys, tmp_path):
    """Core installs need no extra; a command that needs one says which, before loading models."""
    import sys

    from vlrec.cli.main import main
    from vlrec.core.extras import MissingExtra, need

    for module in ("fastapi", "uvicorn", "pycocoevalcap", "matplotlib"):
        monkeypatch.setitem(sys.modules, module, None)  # as if not installed
    with pytest.raises(MissingExtra, match=r"pip install 'vlrec\[serve\]'"):
        need("fastapi", "serve", "vlrec serve")
    assert main(["serve", "--port", "8123"]) == 3
    assert "vlrec serve needs fastapi: pip install 'vlrec[serve]'" in capsys.readouterr().err
    from vlrec.core.metrics import caption_scores

    with pytest.raises(MissingExtra, match=r"vlrec\[eval\]"):
        caption_scores([["a dog runs"]], ["a dog"])
    from vlrec.adapters.train.checkpoints import plot_metrics

    (tmp_path / "m.jsonl").write_text('{"step": 1, "loss": 1.0}\n')
    plot_metrics(tmp_path / "m.jsonl", tmp_path / "m.png")  # training goes on without the plot
    assert not (tmp_path / "m.png").exists() and "vlrec[train]" in capsys.readouterr().err
