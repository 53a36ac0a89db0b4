"""How much each conv layer changes when the pretrained course network is fine-tuned (lesson 05, section 6).

One run: the course network, a new head, every layer trained briefly on a target domain (strategy (c) of
lesson 03, the lesson's settings), then per conv layer the relative weight change and the activation
similarity (``tlcourse.viz.compare``). Over seeds and the two targets this is the evidence for "fine-tuning
changes conv1 least and conv3 most" and "a different target (photos) changes conv3 more than a similar one
(handwritten)". The rows are stored in ``data/results/lesson05-layer-change.json``; regenerate them with

    python -m tlcourse.viz.layer_change --seeds 0 1 2 3 4 5 6 7 8 9
"""
from __future__ import annotations

import argparse

import torch

from tlcourse.viz.compare import activation_similarity, weight_change

NAME = "lesson05-layer-change"
TARGETS = ("handwritten", "photos")
SETTINGS = dict(n_per_class=100, epochs=2, lr=1e-3, batch_size=64)   # the lesson's defaults


def measure(target: str, seed: int, show_progress: bool = False) -> list[dict]:
    """Fine-tune the pretrained course network on ``target`` with ``seed``; one row per conv layer."""
    from tlcourse import domains, zoo
    from tlcourse.runtime import seed_everything
    from tlcourse.surgery import replace_head
    from tlcourse.train import fit

    net = zoo.load_pretrained()
    train = domains.load(target, "train", n_per_class=SETTINGS["n_per_class"], seed=seed)
    val = domains.load(target, "val")
    seed_everything(seed)
    tuned = replace_head(net, len(train.classes))
    history = fit(tuned, train, val, epochs=SETTINGS["epochs"], lr=SETTINGS["lr"],
                  batch_size=SETTINGS["batch_size"], seed=seed, show_progress=show_progress)
    change, similarity = weight_change(net, tuned), activation_similarity(net, tuned, val)
    return [{"target": target, "seed": seed, "layer": layer, "similarity": round(similarity[layer], 6),
             "weight_change": round(change[layer], 6), "val_acc": round(float(history.best["val_acc"]), 6)}
            for layer in similarity]


def paired(rows: list[dict], layer: str = "conv3") -> dict[int, tuple[float, float]]:
    """Seed -> (similarity on handwritten, similarity on photos) of ``layer``, for seeds that have both."""
    similar, different = TARGETS
    by = {(r["target"], r["seed"]): r["similarity"] for r in rows if r["layer"] == layer}
    seeds = sorted(s for t, s in by if t == similar and (different, s) in by)
    return {s: (by[similar, s], by[different, s]) for s in seeds}


def main(argv: list[str] | None = None) -> None:
    from tlcourse import stored

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--targets", nargs="+", default=list(TARGETS), choices=TARGETS)
    args = parser.parse_args(argv)
    rows = []
    for target in args.targets:
        for seed in args.seeds:
            rows += measure(target, seed)
            print(f"{target} seed {seed}: " + ", ".join(f"{r['layer']} {r['similarity']:.3f}" for r in rows[-3:]),
                  flush=True)
    command = "python -m tlcourse.viz.layer_change --seeds " + " ".join(map(str, args.seeds))
    if list(args.targets) != list(TARGETS):
        command += " --targets " + " ".join(args.targets)
    print("stored in", stored.save(NAME, rows, command=command, settings=SETTINGS, seeds=args.seeds,
                                   threads=torch.get_num_threads()))


if __name__ == "__main__":
    main()
