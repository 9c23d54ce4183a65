import json
import os
import subprocess
import sys

from vlrec.cli.main import build_parser, main


def test_help_lists_every_subcommand_and_imports_nothing_heavy():
    code = (
        "import sys, contextlib, io\n"
        "from vlrec.cli.main import main\n"
        "buf = io.StringIO()\n"
        "with contextlib.redirect_stdout(buf):\n"
        "    try:\n"
        "        main(['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = [m for m in ('torch', 'transformers', 'chromadb', 'bitsandbytes', 'numpy') if m in sys.modules]\n"
        "print(repr(heavy)); print(buf.getvalue())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[0] == "[]"
    commands = build_parser()._subparsers._group_actions[0].choices
    for name in commands:
        assert name in out
    assert {"demo", "config", "generate", "prepare", "train", "index", "search", "eval"} <= set(commands)


def test_config_command_prints_resolved_yaml(capsys):
    assert main(["config", "vision.name=efficientnet-lite2"]) == 0
    out = capsys.readouterr().out
    assert "name: efficientnet-lite2" in out


def test_bad_override_is_a_clear_error_with_exit_code_2(capsys):
    assert main(["config", "vision.nme=x"]) == 2
    err = capsys.readouterr().err
    assert "vision.nme" in err and "Traceback" not in err


def test_generate_on_a_tiny_model(tiny_lm_dir, capsys):
    rc = main(
        [
            "generate",
            "the cat",
            "--json",
            "--max-new-tokens",
            "3",
            f"lm.path={tiny_lm_dir}",
            "lm.quantization=none",
        ]
    )
    assert rc == 0
    result = json.loads(capsys.readouterr().out)
    assert result["prompt"] == "the cat"
    from vlrec.models.lm import LMConfig, generate_text, load_lm

    lm = load_lm(LMConfig(path=str(tiny_lm_dir), quantization="none"))
    assert result["completion"] == generate_text(lm, ["the cat"], max_new_tokens=3, stop=[])[0]


def test_quiet_default_and_verbose_set_how_loud_libraries_are(monkeypatch, capsys):
    import logging

    from vlrec.core.logs import configure

    for var in ("TRANSFORMERS_VERBOSITY", "HF_HUB_DISABLE_PROGRESS_BARS", "TQDM_DISABLE"):
        monkeypatch.delenv(var, raising=False)
    configure(0)
    assert logging.getLogger("bitsandbytes").level == logging.ERROR  # its optional-kernel notice
    assert logging.getLogger("bm25s").level == logging.ERROR
    assert os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] == "1" and "TQDM_DISABLE" not in os.environ
    configure(-1)
    assert os.environ["TQDM_DISABLE"] == "1"
    # in a fresh process: -q config prints the YAML and nothing on stderr; -q and -v exclude each other
    run = subprocess.run([sys.executable, "-m", "vlrec", "-q", "config"], capture_output=True, text=True)
    assert run.returncode == 0 and "runtime:" in run.stdout and run.stderr == ""
    both = subprocess.run(
        [sys.executable, "-m", "vlrec", "-q", "-v", "config"], capture_output=True, text=True
    )
    assert both.returncode == 2 and "not allowed with" in both.stderr


def test_quiet_silences_libraries_that_raise_their_own_log_level_and_every_bar():
    script = (
        "import logging; from vlrec.core.logs import configure; configure({v});"
        "logging.getLogger('bm25s').setLevel(logging.DEBUG); logging.getLogger('bm25s').debug('noise');"
        "from tqdm import tqdm; [x for x in tqdm(range(3), disable=False)]"
    )
    quiet = subprocess.run([sys.executable, "-c", script.format(v=-1)], capture_output=True, text=True)
    assert quiet.returncode == 0 and quiet.stderr == ""
    default = subprocess.run([sys.executable, "-c", script.format(v=0)], capture_output=True, text=True)
    assert "noise" not in default.stderr and "3/3" in default.stderr  # progress stays by default
