"""Cut the routing eval files (train.csv, dev.csv, test.csv) from BANKING77's training split.

`python evals/datasets/banking77/make_split.py /path/to/banking77/train.csv`, deterministic (seed 77).
77 intents: 62 become routes, 5 are held out for dev and 10 for test, labelled `unknown` there
(an intent the router was never given). Per route: 10 examples to build the router from,
8 dev and 20 test queries; 12 queries per held-out intent; out_of_domain.txt (written for this
repo, not from BANKING77) split 30 dev / 50 test, also `unknown`.
"""

import csv
import random
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).parent
SEED = 77
ROUTES, DEV_HELD_OUT = 62, 5
TRAIN_PER_ROUTE, DEV_PER_ROUTE, TEST_PER_ROUTE, PER_HELD_OUT = 10, 8, 20, 12
OOD_DEV = 30


def main(source: Path) -> None:
    by_intent: dict[str, list[str]] = defaultdict(list)
    with source.open(newline="") as f:
        for row in csv.DictReader(f):
            by_intent[row["category"]].append(row["text"].strip())
    rng = random.Random(SEED)
    intents = sorted(by_intent)
    rng.shuffle(intents)
    routes, dev_out, test_out = (
        intents[:ROUTES],
        intents[ROUTES : ROUTES + DEV_HELD_OUT],
        intents[ROUTES + DEV_HELD_OUT :],
    )
    train, dev, test = [], [], []
    for intent in sorted(routes):
        texts = rng.sample(by_intent[intent], TRAIN_PER_ROUTE + DEV_PER_ROUTE + TEST_PER_ROUTE)
        train += [(t, intent) for t in texts[:TRAIN_PER_ROUTE]]
        dev += [(t, intent) for t in texts[TRAIN_PER_ROUTE : TRAIN_PER_ROUTE + DEV_PER_ROUTE]]
        test += [(t, intent) for t in texts[TRAIN_PER_ROUTE + DEV_PER_ROUTE :]]
    for intent in sorted(dev_out):
        dev += [(t, "unknown") for t in rng.sample(by_intent[intent], PER_HELD_OUT)]
    for intent in sorted(test_out):
        test += [(t, "unknown") for t in rng.sample(by_intent[intent], PER_HELD_OUT)]
    ood = (HERE / "out_of_domain.txt").read_text().splitlines()
    dev += [(t, "unknown") for t in ood[:OOD_DEV]]
    test += [(t, "unknown") for t in ood[OOD_DEV:]]
    for name, rows in (("train", train), ("dev", dev), ("test", test)):
        with (HERE / f"{name}.csv").open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["text", "label"])
            writer.writerows(rows)
    print(f"routes {len(routes)}; held out for dev {sorted(dev_out)}; for test {sorted(test_out)}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
