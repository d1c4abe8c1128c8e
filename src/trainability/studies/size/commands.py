"""The size study's commands: ``trainability size-train | size-lottery | size-structured |
size-summarize | size-section``, and ``settings``, the effective ``size:`` parameters.

Sub-studies (each a set of Snakemake rules, see ``src/workflow/rules/size.smk``):

1. **width**: success rate (final test accuracy >= a threshold fixed in params.yaml) over
   many seeds vs the width of a 2-hidden-layer ReLU network, on several datasets;
2. **dead**: activation-dead and norm-dead units of the trained networks, without
   regularization, with L2 and with group lasso on units; the effective (live) width;
3. **lottery**: iterative magnitude pruning with rewinding (lottery tickets) against random
   re-initialization, random pruning, one-shot pruning, late rewinding and small dense
   networks with the same number of weights;
4. **structured**: a wide group-lasso network cut down to k units per layer, then
   fine-tuned, rewound to its initial weights or replaced by a width-k network from scratch.

Training commands import NumPy only; the summaries import pandas and matplotlib inside.
"""

from __future__ import annotations

import copy
import json
import time

import numpy as np

from trainability.argtypes import fraction, non_negative, positive_int, probability

ARMS = ("ticket", "reinit", "random", "oneshot", "late", "dense")
SUBSTUDIES = ("width", "dead", "lottery", "structured")
FIGURES = {  # the PNGs each sub-study's summary writes into results/figures/size/
    "width": ("width_success.png", "width_accuracy.png", "width_epochs.png"),
    "dead": ("dead_units.png", "dead_tau.png", "effective_width.png"),
    "lottery": ("lottery_accuracy.png", "lottery_early_stop.png", "lottery_weights.png"),
    "structured": ("structured.png",),
}
QUICK_WIDTH_MAX = 128  # quick: widths above this are left out of the width study
QUICK_DEAD_MAX = 64


def settings(size: dict) -> dict:
    """The ``size:`` section with ``quick: true`` applied (a deep copy).

    quick: widths above 128 are dropped from the width study and above 64 from the dead-
    unit study; seeds become 40 (narrow), 20 (medium), 10 (wide), 5 for the regularized and
    lottery runs and 20 for structured pruning; one re-initialization draw per ticket.
    """
    s = copy.deepcopy(size)
    if not s.get("quick"):
        return s
    w, d, lot, st = s["width"], s["dead"], s["lottery"], s["structured"]
    w["widths"] = [x for x in w["widths"] if x <= QUICK_WIDTH_MAX] or w["widths"][:1]
    w["seeds_narrow"] = min(w["seeds_narrow"], 40)
    w["seeds"] = min(w["seeds"], 20)
    w["seeds_wide"] = min(w["seeds_wide"], 10)
    d["widths"] = [x for x in d["widths"] if x <= QUICK_DEAD_MAX] or d["widths"][:1]
    d["seeds"] = min(d["seeds"], 5)
    lot["seeds"] = min(lot["seeds"], 5)
    lot["reinit_draws"] = 1
    st["seeds"] = min(st["seeds"], 20)
    return s


def check(size: dict) -> list[str]:
    """Problems the schema cannot see in the ``size:`` section, each naming its key."""
    problems = []
    names = [d["name"] for d in size["datasets"]]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        problems.append(f"size.datasets: {', '.join(twice)} listed more than once")
    data, train = size["data"], size["train"]
    n_test = int(round(data["n_samples"] * data["test_fraction"]))
    n_rest = data["n_samples"] - n_test
    n_val = int(round(n_rest * data["validation_fraction"]))
    n_fit = n_rest - n_val
    if min(n_test, n_val, n_fit) < 1:
        problems.append(
            f"size.data: {data['n_samples']} points leave {n_fit} to fit, {n_val} to validate "
            f"and {n_test} to test; each needs >= 1 (n_samples, test_fraction, "
            "validation_fraction)")
    elif train["batch_size"] > n_fit:
        problems.append(f"size.train.batch_size: {train['batch_size']} is larger than the "
                        f"{n_fit} points trained on; allowed: 1..{n_fit}")
    lot = size["lottery"]
    if lot["rewind_epoch"] >= train["epochs"]:
        problems.append(f"size.lottery.rewind_epoch: {lot['rewind_epoch']} must be below "
                        f"size.train.epochs ({train['epochs']})")
    if max(lot["rates"].values()) <= 0:
        problems.append("size.lottery.rates: at least one rate must be > 0")
    st = size["structured"]
    if not any(k < st["width"] for k in st["widths"]):
        problems.append(f"size.structured.widths: none is below size.structured.width "
                        f"({st['width']})")
    return problems


def width_seeds(width_settings: dict, width: int) -> list[int]:
    """Seeds of the width study at ``width``: more where the answer is noisy (narrow
    networks), fewer where training is expensive (wide ones)."""
    s = width_settings
    if width <= s["narrow_up_to"]:
        n = s["seeds_narrow"]
    elif width >= s["wide_from"]:
        n = s["seeds_wide"]
    else:
        n = s["seeds"]
    return list(range(n))


# ---------------------------------------------------------------- argument helpers






def _add_protocol(p) -> None:
    g = p.add_argument_group("training protocol (size.train)")
    g.add_argument("--depth", type=positive_int, default=2)
    g.add_argument("--init", default="he_normal")
    g.add_argument("--optimizer", default="adam")
    g.add_argument("--lr", type=float, default=0.01)
    g.add_argument("--batch-size", type=positive_int, default=32)
    g.add_argument("--epochs", type=positive_int, default=50)
    g.add_argument("--validation-fraction", type=fraction, default=0.25,
                   help="share of the training split held out for early stopping")
    g.add_argument("--seeds", type=int, nargs="+", required=True)
    g.add_argument("--data", required=True, help="dataset .npz (`trainability dataset`)")
    g.add_argument("--out", required=True, help="output .npz")


def _protocol(args, **overrides):
    from trainability.studies.size_runs import Protocol

    return Protocol(depth=args.depth, init=args.init, optimizer=args.optimizer, lr=args.lr,
                    batch_size=args.batch_size, epochs=args.epochs, **overrides)


def _split(args):
    from trainability.data import load_dataset
    from trainability.studies.size_runs import split_validation

    return split_validation(load_dataset(args.data), args.validation_fraction)


def _meta(args) -> np.ndarray:
    """The job's settings and dataset (no timings: same inputs, same bytes)."""
    from trainability.data import dataset_meta

    meta = {k: v for k, v in vars(args).items()
            if k not in ("func", "out", "data", "command", "ticket")}
    meta["dataset"] = dataset_meta(args.data)
    return np.asarray(json.dumps(meta, sort_keys=True))


def _check_seeds(seeds) -> None:
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"--seeds must be distinct, got {seeds}")


# ---------------------------------------------------------------- size-train


def _add_train(sub) -> None:
    p = sub.add_parser(
        "size-train",
        help="size study: train one width, all seeds batched; accuracies and unit statistics",
        description="Train a 2-hidden-layer (--depth) ReLU network of one width for every "
        "seed, optionally with L2 or group lasso on units, and write per model the final "
        "accuracies, epochs to 95%% training accuracy, and per hidden unit its active "
        "fraction on the fit points and its score ||(w_in, b)|| ||w_out||.",
    )
    _add_protocol(p)
    p.add_argument("--width", type=positive_int, required=True)
    p.add_argument("--l2", type=non_negative, default=0.0, help="L2 coefficient on weights")
    p.add_argument("--group-lasso", type=non_negative, default=0.0,
                   help="group-lasso strength on units")
    p.set_defaults(func=_run_train)


def _run_train(args) -> None:
    from trainability.io import save_npz
    from trainability.studies.size_runs import width_run

    _check_seeds(args.seeds)
    protocol = _protocol(args, l2=args.l2, group_lasso=args.group_lasso)
    split = _split(args)
    start = time.perf_counter()
    out = width_run(protocol, split, args.width, args.seeds)
    seconds = time.perf_counter() - start
    save_npz(args.out, meta=_meta(args), **out)
    print(f"size-train w{args.width}: {len(args.seeds)} seeds in {seconds:.1f} s, median test "
          f"accuracy {np.nanmedian(out['test_acc']):.3f}")


# ---------------------------------------------------------------- size-lottery


def _add_lottery(sub) -> None:
    p = sub.add_parser(
        "size-lottery",
        help="size study: one arm of the lottery-ticket experiment over all pruning levels",
        description="Iterative magnitude pruning per layer (rates --rates first hidden "
        "output per round, biases never pruned) down to below --target-density of the "
        "weights, and its controls. Arms: " + ", ".join(ARMS) + ". The reinit arm needs "
        "the ticket arm's output (--ticket).",
    )
    _add_protocol(p)
    p.add_argument("--arm", required=True, choices=ARMS)
    p.add_argument("--width", type=positive_int, required=True)
    p.add_argument("--rates", type=float, nargs=3, default=[0.1, 0.2, 0.1],
                   metavar=("FIRST", "HIDDEN", "OUTPUT"),
                   help="share of each layer's surviving weights pruned per round")
    p.add_argument("--target-density", type=fraction, default=0.01)
    p.add_argument("--draws", type=positive_int, default=3, help="reinit: draws per level")
    p.add_argument("--rewind-epoch", type=positive_int, default=1, help="late: rewind epoch")
    p.add_argument("--ticket", help="reinit: the ticket arm's .npz")
    p.set_defaults(func=_run_lottery)


def _run_lottery(args) -> None:
    from trainability.io import InputError, load_npz, save_npz
    from trainability.studies.size_runs import Pruning, lottery_arm

    _check_seeds(args.seeds)
    for name, rate in zip(("first", "hidden", "output"), args.rates, strict=True):
        if not 0 <= rate < 1:
            raise ValueError(f"--rates: the {name} rate must be in [0, 1), got {rate}")
    ticket = None
    if args.arm == "reinit":
        if not args.ticket:
            raise InputError("--ticket is required for the reinit arm")
        ticket = load_npz(args.ticket, ("masks", "theta0", "seed"))
        ticket_seeds = sorted(set(ticket["seed"].tolist()))
        if ticket_seeds != sorted(args.seeds):
            raise InputError(f"{args.ticket}: seeds {ticket_seeds} differ from --seeds")
    protocol = _protocol(args)
    pruning = Pruning(*args.rates, target_density=args.target_density)
    split = _split(args)
    start = time.perf_counter()
    out = lottery_arm(args.arm, protocol, split, args.width, args.seeds, pruning,
                      draws=args.draws, rewind_epoch=args.rewind_epoch, ticket=ticket)
    seconds = time.perf_counter() - start
    save_npz(args.out, meta=_meta(args), **out)
    last = out["level"] == out["level"].max()
    print(f"size-lottery {args.arm} w{args.width}: {out['level'].max() + 1} levels in "
          f"{seconds:.1f} s; at density {out['density'][last].mean():.4f} median test "
          f"accuracy {np.nanmedian(out['test_acc'][last]):.3f}")


# ---------------------------------------------------------------- size-structured


def _add_structured(sub) -> None:
    p = sub.add_parser(
        "size-structured",
        help="size study: cut a wide regularized network to fewer units; fine-tune, rewind "
        "or train the small width from scratch",
    )
    _add_protocol(p)
    p.add_argument("--width", type=positive_int, required=True, help="the wide network")
    p.add_argument("--group-lasso", type=non_negative, default=0.0,
                   help="group-lasso strength of the wide network's training")
    p.add_argument("--l2", type=non_negative, default=0.0)
    p.add_argument("--widths", type=positive_int, nargs="+", required=True,
                   help="target widths (units kept per hidden layer)")
    p.add_argument("--tau", type=fraction, default=0.01,
                   help="norm-dead: score below tau x the layer's largest")
    p.add_argument("--finetune-epochs", type=positive_int, default=20)
    p.set_defaults(func=_run_structured)


def _run_structured(args) -> None:
    from trainability.io import save_npz
    from trainability.studies.size_runs import structured_run

    _check_seeds(args.seeds)
    protocol = _protocol(args, l2=args.l2, group_lasso=args.group_lasso)
    split = _split(args)
    start = time.perf_counter()
    out = structured_run(protocol, split, args.width, args.seeds, args.widths, args.tau,
                         args.finetune_epochs)
    seconds = time.perf_counter() - start
    save_npz(args.out, meta=_meta(args), **out)
    live = out["source_live"].max(axis=1)
    print(f"size-structured w{args.width}: {len(args.seeds)} seeds in {seconds:.1f} s, live "
          f"units per layer (max over layers) median {np.median(live):.0f}")


# ---------------------------------------------------------------- summaries and section


def _add_summarize(sub) -> None:
    p = sub.add_parser(
        "size-summarize",
        help="size study: tables (CSV) and figures (PNG) of one sub-study from its run files",
    )
    p.add_argument("study", choices=SUBSTUDIES)
    p.add_argument("runs", nargs="+", help="run .npz files of the sub-study")
    p.add_argument("--thresholds", nargs="+", default=[], metavar="DATASET=ACC",
                   help="success: final test accuracy >= ACC on DATASET")
    p.add_argument("--taus", type=fraction, nargs="+", default=[0.001, 0.01, 0.1],
                   help="dead: norm-dead thresholds to sweep")
    p.add_argument("--tau", type=fraction, default=0.01, help="dead: tau of the live count")
    p.add_argument("--width-table", help="size_width.csv of the width study: reference "
                   "curves in the dead-unit and lottery figures")
    p.add_argument("--reliable", type=probability, default=0.95,
                   help="success rate a width needs to count as training reliably")
    p.add_argument("--tables-dir", required=True)
    p.add_argument("--figures-dir", required=True)
    p.set_defaults(func=_run_summarize)


def parse_thresholds(items) -> dict[str, float]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            acc = float(value)
        except ValueError:
            acc = float("nan")
        if not sep or not name or not 0 < acc <= 1:
            raise ValueError(f"--thresholds: expected DATASET=ACC with 0 < ACC <= 1, got {item!r}")
        out[name] = acc
    return out


def _run_summarize(args) -> None:
    from trainability.studies.size_figures import write_figures
    from trainability.studies.size_tables import summarize

    thresholds = parse_thresholds(args.thresholds)
    tables = summarize(args.study, args.runs, thresholds, args.taus, args.tau,
                       args.width_table, args.tables_dir)
    figures = write_figures(args.study, tables, args.figures_dir, args.reliable)
    print(f"size-summarize {args.study}: {len(tables)} tables, {len(figures)} figures")


def _add_section(sub) -> None:
    p = sub.add_parser(
        "size-section",
        help="size study: the report section (markdown) with claims, numbers and verdicts",
    )
    p.add_argument("--tables-dir", required=True, help="folder with the size_*.csv tables")
    p.add_argument("--studies", nargs="*", default=[],
                   choices=SUBSTUDIES, help="the sub-studies that ran")
    p.add_argument("--settings", required=True, help="the effective size: settings, JSON")
    p.add_argument("--figures-rel", default="figures/size",
                   help="the figures folder relative to the report")
    p.add_argument("--out", required=True, help="output .md")
    p.add_argument("--metrics", help="output .json: the headline numbers (dvc exp show)")
    p.set_defaults(func=_run_section)


def _run_section(args) -> None:
    from trainability.studies.size_section import write_section

    write_section(args.tables_dir, args.studies, args.settings, args.figures_rel, args.out,
                  args.metrics)
    print(f"wrote {args.out}")


def add_commands(sub) -> None:
    """Register the size study's subcommands on the ``trainability`` CLI."""
    _add_train(sub)
    _add_lottery(sub)
    _add_structured(sub)
    _add_summarize(sub)
    _add_section(sub)
