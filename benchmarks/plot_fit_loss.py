"""The base's training loss per epoch, as ``bench_quality.py`` records it (``per_seed.<row>.<seed>.fit_loss``,
the shared trainer's mean loss of each epoch), one line per seed and row, the epoch where ``train.plateau``
stopped a run marked (issue 25: "loss curves that reach a plateau"; docs/quality.md §17).

    python benchmarks/plot_fit_loss.py benchmarks/results/experiments/ipad_vad_epochs18_plateau.json \
        [--rows ipad_vad] --out docs/quality/fit_loss_epochs.png

A second panel shows each epoch's drop against the best epoch before it, the quantity the plateau rule
reads (``train/loop.plateaued``), with the rule's ``min_drop`` drawn where the run set one.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from ipad_vad.io_utils import atomic_path  # noqa: E402


def drops(losses: list[float]) -> list[float]:
    """Each epoch's relative drop below the best epoch before it (the first has none)."""
    return [1 - loss / min(losses[:i]) for i, loss in enumerate(losses) if i]


def min_drop_of(result: dict) -> float:
    """The ``train.plateau.min_drop`` a run was given on its command line (0: the default, off)."""
    for o in result.get("overrides") or []:
        if o.startswith("train.plateau.min_drop="):
            return float(o.split("=", 1)[1])
    return 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="+", type=Path, help="bench_quality JSON files")
    ap.add_argument("--rows", default="", help="comma-separated rows (default: every row with a loss curve)")
    ap.add_argument("--out", type=Path, required=True, help="the PNG to write")
    args = ap.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in args.rows.split(",") if r]
    fig, (ax, ax_drop) = plt.subplots(1, 2, figsize=(11, 4))
    curves = 0
    for path in args.results:
        result = json.loads(path.read_text())
        for row, seeds in result["per_seed"].items():
            if rows and row not in rows:
                continue
            for seed, r in seeds.items():
                losses = r.get("fit_loss") or []
                if not losses:
                    continue
                label = f"{row}, seed {seed}" + (f" ({path.stem})" if len(args.results) > 1 else "")
                epochs = range(1, len(losses) + 1)
                (line,) = ax.plot(epochs, losses, marker=".", label=label)
                ax_drop.plot(list(epochs)[1:], [100 * d for d in drops(losses)], marker=".", color=line.get_color())
                curves += 1
        if min_drop_of(result):
            ax_drop.axhline(100 * min_drop_of(result), ls="--", color="grey", lw=1, label="plateau.min_drop")
    if not curves:
        raise SystemExit(f"no loss curves (per_seed.<row>.<seed>.fit_loss) in {', '.join(map(str, args.results))}")
    ax.set(xlabel="epoch", ylabel="mean training loss", yscale="log", title="the base's training loss")
    ax_drop.set(xlabel="epoch", ylabel="% below the best epoch before", title="what the plateau rule reads")
    ax.legend(fontsize=7)
    ax_drop.legend(fontsize=7, handles=[h for h in ax_drop.get_lines() if h.get_label() == "plateau.min_drop"][:1])
    for a in (ax, ax_drop):
        a.grid(alpha=0.3)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(args.out) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    print(f"wrote {args.out} ({curves} curves)")


if __name__ == "__main__":
    main()
