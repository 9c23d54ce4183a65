"""Run one RecBole model on vlrec's split files and print its test metrics as JSON.

Runs inside the benchmark-only virtual environment (.venv-recbole), never inside vlrec's:
    .venv-recbole/bin/python benchmarks/recbole_driver.py MODEL DATA_PATH DATASET [EPOCHS] [SCORES.npz]

With SCORES.npz, the best model's full-ranking test scores are written there too (``users``:
user tokens, ``items``: item tokens, ``scores``: [users, items] float32, history masked by
RecBole), so that vlrec's evaluator can rank them with its own protocol and cold-start slice.
"""

import json
import sys

import torch

# RecBole 1.2 saves and reloads its own checkpoints with torch.load; torch >= 2.6 defaults to
# weights_only=True, which cannot read them.
_load = torch.load
torch.load = lambda *a, **k: _load(*a, **{**k, "weights_only": False})

from recbole.config import Config  # noqa: E402
from recbole.data import create_dataset, data_preparation  # noqa: E402
from recbole.utils import get_model, get_trainer, init_logger, init_seed  # noqa: E402

model, data_path, dataset = sys.argv[1:4]
epochs = int(sys.argv[4]) if len(sys.argv) > 4 else 100
scores_path = sys.argv[5] if len(sys.argv) > 5 else None
SEQUENTIAL = model in ("SASRec", "GRU4Rec")


def write_sequence_files(data_path: str, dataset: str, max_len: int = 50) -> str:
    """RecBole's sequential models read benchmark files as (user, item_id_list, item_id) rows.

    Built from the same split: every training interaction after a user's first is a target with
    its training prefix; the validation item's prefix is the whole training history; the test
    item's prefix is training + validation. Nothing else changes.
    """
    from collections import defaultdict
    from pathlib import Path

    parts = {}
    for part in ("train", "valid", "test"):
        rows = []
        with open(Path(data_path) / dataset / f"{dataset}.{part}.inter") as handle:
            next(handle)
            for line in handle:
                u, i, t = line.rstrip("\n").split("\t")
                rows.append((u, i, float(t)))
        parts[part] = sorted(rows, key=lambda r: (r[0], r[2]))
    seq_name = f"{dataset}-seq"
    out = Path(data_path) / seq_name
    out.mkdir(exist_ok=True)
    history = defaultdict(list)
    for part in ("train", "valid", "test"):
        with open(out / f"{seq_name}.{part}.inter", "w") as handle:
            handle.write("user_id:token\titem_id_list:token_seq\titem_id:token\n")
            for u, i, _ in parts[part]:
                if history[u]:
                    handle.write(f"{u}\t{' '.join(history[u][-max_len:])}\t{i}\n")
                history[u].append(i)
    return seq_name


config = {
    "data_path": data_path,
    "dataset": dataset,
    "benchmark_filename": ["train", "valid", "test"],
    "USER_ID_FIELD": "user_id",
    "ITEM_ID_FIELD": "item_id",
    "TIME_FIELD": "timestamp",
    "load_col": {"inter": ["user_id", "item_id", "timestamp"]},
    "eval_args": {"mode": "full", "order": "TO"},
    "metrics": ["Hit", "NDCG", "Recall", "MRR"],
    "topk": [10],
    "valid_metric": "NDCG@10",
    "epochs": epochs,
    "stopping_step": 10,
    "train_batch_size": 2048,
    "eval_batch_size": 4096,
    "device": "cpu",
    "use_gpu": False,
    "seed": 0,
    "reproducibility": True,
    "show_progress": False,
    "checkpoint_dir": f"{data_path}/saved",
    "log_wandb": False,
}
if SEQUENTIAL:
    config.update(
        {
            "dataset": write_sequence_files(data_path, dataset),
            "load_col": {"inter": ["user_id", "item_id_list", "item_id"]},
            "train_neg_sample_args": None,
            "loss_type": "CE",
            "MAX_ITEM_LIST_LENGTH": 50,
            "eval_args": {"mode": "full", "order": "TO"},
        }
    )
# What run_recbole does, keeping the trained model to read its test scores afterwards.
config = Config(model=model, config_dict=config)
init_seed(config["seed"], config["reproducibility"])
init_logger(config)
dataset = create_dataset(config)
train_data, valid_data, test_data = data_preparation(config, dataset)
init_seed(config["seed"] + config["local_rank"], config["reproducibility"])
net = get_model(config["model"])(config, train_data._dataset).to(config["device"])
trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, net)
trainer.fit(train_data, valid_data, saved=True, show_progress=False)
test = trainer.evaluate(test_data, load_best_model=True, show_progress=False)
if scores_path:
    import numpy as np

    trainer.model.eval()
    uid_field = dataset.uid_field
    seen, users, rows = set(), [], []
    with torch.no_grad():
        for batch in test_data:
            interaction, scores, _, _ = trainer._full_sort_batch_eval(batch)
            for u, row in zip(interaction[uid_field].tolist(), scores.float().numpy()):
                if u not in seen:  # sequential loaders may hold several rows per user: keep the first
                    seen.add(u)
                    users.append(dataset.id2token(uid_field, u))
                    rows.append(row)
    np.savez(
        scores_path,
        users=np.array(users),
        items=np.array(dataset.field2id_token[dataset.iid_field]),
        scores=np.stack(rows).astype(np.float32),
    )
print("RESULT " + json.dumps({k: float(v) for k, v in test.items()}))
