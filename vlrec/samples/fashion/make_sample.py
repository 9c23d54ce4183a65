"""Rebuild this sample from the full catalogue: python vlrec/samples/fashion/make_sample.py [SRC_DIR].

Takes up to 6 items of each article type (in file order, seeded shuffle) until
300 items, plus 4 query photos of items that are not in the sample, then appends the
demo's companions: for each kind the demo shows (its photos' kinds and the kinds its
shoppers ask for), more items up to 16 of that kind, first up to 6 in each colour the demo shows
(the first 300 rows stay as they were; tests take their items from the front).
"""

import json
import random
import shutil
import sys
from collections import defaultdict
from pathlib import Path

src = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/fashion")
out = Path(__file__).parent
rows = [json.loads(line) for line in (src / "catalog.jsonl").open()]
random.Random(0).shuffle(rows)
by_type = defaultdict(list)
for row in rows:
    by_type[row["articleType"]].append(row)
chosen = []
for rank in range(6):
    for kind in sorted(by_type):
        if rank < len(by_type[kind]) and len(chosen) < 300:
            chosen.append(by_type[kind][rank])
ids = {r["id"] for r in chosen}
queries = out / "queries"
queries.mkdir(exist_ok=True)
wanted = {"Casual Shoes": "black", "Handbags": "brown", "Tshirts": "red", "Watches": "silver"}
for kind, colour in wanted.items():
    row = next(
        r
        for r in rows
        if r["id"] not in ids and r["articleType"] == kind and r["baseColour"].lower() == colour
    )
    ids.add(row["id"])  # a query photo's item never joins the sample
    name = f"{kind.lower().replace(' ', '_')}_{colour}_{row['id']}.jpg"
    shutil.copy(src / row["image"], queries / name)
shown = {kind: [colour] for kind, colour in wanted.items()}
shown["Tshirts"].append("black")  # the demo's photo conversation then asks for it "in black"
asked = ["Gloves", "Duffel Bag", "Sunglasses", "Sweatshirts", "Sandals"]  # the demo shoppers' kinds
for kind in [*wanted, *asked]:
    free = [r for r in by_type[kind] if r["id"] not in ids]
    extra = []
    for colour in shown.get(kind, []):
        extra += [r for r in free if r["baseColour"].lower() == colour][:6]
    room = max(0, 16 - sum(r["articleType"] == kind for r in chosen) - len(extra))
    extra += [r for r in free if r not in extra][:room]
    chosen += extra
    ids.update(r["id"] for r in extra)
(out / "images").mkdir(exist_ok=True)
with (out / "catalog.jsonl").open("w") as handle:
    for row in chosen:
        shutil.copy(src / row["image"], out / "images" / Path(row["image"]).name)
        handle.write(json.dumps(row) + "\n")
print(f"{len(chosen)} items, {len(wanted)} queries -> {out}")
