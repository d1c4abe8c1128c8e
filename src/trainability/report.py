"""The markdown report: the lecture's argument, each claim with our numbers and a verdict.

``render_report`` is a pure function (tables, metrics and params in, markdown out);
``write_report`` reads the files, gathers provenance and writes the report atomically.

Every claim is a list of *checks* (one per cell or comparison), each a threshold rule on
the final test accuracy (mean over the seeds that did not diverge) written below and
quoted in the report. A claim's verdict follows from its checks:

- **supported**: every check passes;
- **partly**: some checks pass, some fail;
- **not supported**: no check passes;
- **not tested**: the configuration has none of the cells the claim needs.

Nothing measured is written here: all numbers come from ``runs.csv``; the lecture's own
values (read off its figures, one training run each) are quoted as context only.
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import pandas as pd

from trainability.figures import (
    RUNS_COLUMNS,
    activation_order,
    figure_names,
    init_order,
    read_table,
)
from trainability.io import InputError, write_text
from trainability.legacy_claims import (
    NOT_SUPPORTED,
    NOT_TESTED,
    PARTLY,
    SUPPORTED,
    VERDICT_RULE,
    Check,
    Claim,
    markdown_figure,
    markdown_table,
    passes,
    render_claim,
)

# ---- the thresholds of the rules (fractions of test points classified correctly)
COIN_FLIP = 0.5
CHANCE_TOL = 0.05  # "no better than a coin flip": mean test accuracy <= 0.55
LN2 = math.log(2)  # the loss of predicting p = 0.5 for every point
LN2_TOL = 0.01  # "the loss stays at ln 2": |mean final train loss - ln 2| <= 0.01
LEARNED = 0.95  # "learns the data": mean test accuracy >= 0.95
SIGMOID_GAP = 0.10  # "sigmoid lags far behind": at least 0.10 below the other
BEATS = 0.05  # "notably better": at least 0.05 higher
SCALED_SLACK = 0.02  # "at least as good": no more than 0.02 lower
WIDER_GAIN = 0.05  # a cell that had not learned at the narrowest width gains >= 0.05
WIDER_SLACK = 0.02  # a cell that had learned loses no more than 0.02
BN_GAIN = 0.10  # batch norm lifts sigmoid by at least 0.10

SCALED_INITS = ("glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "lecun_normal",
                "lecun_uniform")
PACKAGES = ("numpy", "pandas", "matplotlib", "seaborn", "scikit-learn", "snakemake", "dvc")
METRICS = ("test_acc", "train_acc", "train_loss", "test_loss")


# ---------------------------------------------------------------- cells and numbers


def cell_stats(runs: pd.DataFrame) -> pd.DataFrame:
    """Per activation x init x width: mean final metrics over the seeds that did not
    diverge, the sample sd (ddof 1) of the test accuracy, and the model counts."""
    ok = runs.status == "ok"
    frame = runs.assign(
        **{m: runs[m].where(ok) for m in METRICS},
        n_ok=ok.astype(int),
        n_diverged=(runs.status == "diverged").astype(int),
    )
    g = frame.groupby(["activation", "init", "width"])
    stats = g[list(METRICS)].mean()
    stats["test_acc_sd"] = g.test_acc.std(ddof=1)
    stats["n_ok"] = g.n_ok.sum()
    stats["n_diverged"] = g.n_diverged.sum()
    stats["n"] = g.size()
    return stats


def split_batch_norm(runs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(main, other)``: the grid's runs (no batch norm if there are such) and the rest."""
    if "batch_norm" not in runs or runs.batch_norm.nunique() <= 1:
        return runs, runs.iloc[:0]
    values = runs.batch_norm.astype(str)
    main = "none" if (values == "none").any() else values.mode().iloc[0]
    return runs[values == main], runs[values != main]


def fmt_acc(cell: pd.Series) -> str:
    """``0.984 ± 0.002 (n = 5)``: mean ± sd over the non-diverged seeds, and the counts."""
    n_ok, n_div = int(cell.n_ok), int(cell.n_diverged)
    if n_ok == 0:
        return f"all {n_div} diverged" if n_div else "no models"
    text = f"{cell.test_acc:.3f}"
    if n_ok > 1:
        text += f" ± {cell.test_acc_sd:.3f}"
    return text + f" (n = {n_ok}" + (f"; {n_div} diverged)" if n_div else ")")


def _cell(cells: pd.DataFrame, activation: str, init: str, width: int) -> pd.Series | None:
    key = (activation, init, width)
    return cells.loc[key] if key in cells.index else None




# ---------------------------------------------------------------- claims


def _acc_check(what: str, cell: pd.Series, ok) -> Check:
    return Check(what, fmt_acc(cell), cell.test_acc, passes(cell.test_acc, ok))


def _diff_check(what: str, measured: str, diff: float, ok) -> Check:
    return Check(what, f"{measured}: {diff:+.3f}" if pd.notna(diff) else f"{measured}: n/a",
                 diff, passes(diff, ok))


def claim_relu_tanh_learn(cells: pd.DataFrame, width: int) -> Claim:
    claim = Claim(
        "relu-tanh-learn",
        "With random-normal weights, the ReLU and the tanh network learn the circles almost "
        "perfectly.",
        "both reach about 0.99 training accuracy within 100 epochs.",
        f"one check per activation (relu, tanh) with a random_normal cell at width {width}: "
        f"passes if its mean test accuracy is at least {LEARNED}.",
        "mean test accuracy",
    )
    for act in ("relu", "tanh"):
        cell = _cell(cells, act, "random_normal", width)
        if cell is not None:
            claim.checks.append(_acc_check(f"{act}/random_normal", cell, lambda v: v >= LEARNED))
    if not claim.checks:
        claim.note = f"no relu or tanh network with random_normal init at width {width}"
    return claim


def claim_sigmoid_lags(cells: pd.DataFrame, width: int) -> Claim:
    claim = Claim(
        "sigmoid-lags",
        "With the same weights, the sigmoid network learns far less than ReLU and tanh.",
        "sigmoid creeps to about 0.7 training accuracy with the loss still near 0.64.",
        f"one check per comparison network (relu, tanh; random_normal init, width {width}): "
        f"passes if sigmoid's mean test accuracy is at least {SIGMOID_GAP} below it.",
        "gap to sigmoid",
        signed=True,
    )
    sig = _cell(cells, "sigmoid", "random_normal", width)
    if sig is None:
        claim.note = f"no sigmoid network with random_normal init at width {width}"
        return claim
    for other in ("relu", "tanh"):
        cell = _cell(cells, other, "random_normal", width)
        if cell is not None:
            claim.checks.append(_diff_check(
                f"{other} - sigmoid", f"{other} {fmt_acc(cell)}, sigmoid {fmt_acc(sig)}",
                cell.test_acc - sig.test_acc, lambda v: v >= SIGMOID_GAP))
    if not claim.checks:
        claim.note = f"no relu or tanh network with random_normal init at width {width}"
    return claim


def claim_zeros_coin_flip(cells: pd.DataFrame, width: int) -> Claim:
    claim = Claim(
        "zeros-coin-flip",
        "With all weights initialized to zero no network learns, whatever its activation: "
        "the loss stays at ln 2 and the accuracy at a coin flip.",
        "flat loss at ln 2 = 0.693 and accuracy around 0.5 for relu, sigmoid and tanh.",
        f"one check per activation with a zeros cell at width {width}: passes if its mean "
        f"test accuracy is at most {COIN_FLIP + CHANCE_TOL:.2f} (no better than a coin flip, "
        f"{COIN_FLIP} + {CHANCE_TOL}) and its mean final training loss is within {LN2_TOL} of "
        f"ln 2 = {LN2:.4f}.",
        "mean test accuracy",
    )
    for act in activation_order(cells.index.get_level_values("activation")):
        cell = _cell(cells, act, "zeros", width)
        if cell is None:
            continue
        ok = passes(cell.test_acc, lambda v: v <= COIN_FLIP + CHANCE_TOL) and passes(
            cell.train_loss, lambda v: abs(v - LN2) <= LN2_TOL
        )
        loss = "n/a" if pd.isna(cell.train_loss) else f"{cell.train_loss:.4f}"
        claim.checks.append(Check(f"{act}/zeros",
                                  f"test accuracy {fmt_acc(cell)}; train loss {loss}",
                                  cell.test_acc, ok))
    if not claim.checks:
        claim.note = f"no network with zeros init at width {width}"
    return claim


def claim_normal_beats_zeros(cells: pd.DataFrame, width: int) -> Claim:
    claim = Claim(
        "normal-beats-zeros",
        "Random-normal initialization does notably better than all-zero initialization, for "
        "every activation.",
        "every zero-initialized network is clearly worse than its random-normal twin.",
        f"one check per activation with both a random_normal and a zeros cell at width "
        f"{width}: passes if random_normal's mean test accuracy exceeds zeros' by at least "
        f"{BEATS}.",
        "random_normal minus zeros",
        signed=True,
    )
    for act in activation_order(cells.index.get_level_values("activation")):
        rn, z = _cell(cells, act, "random_normal", width), _cell(cells, act, "zeros", width)
        if rn is not None and z is not None:
            claim.checks.append(_diff_check(
                act, f"random_normal {fmt_acc(rn)}, zeros {fmt_acc(z)}",
                rn.test_acc - z.test_acc, lambda v: v >= BEATS))
    if not claim.checks:
        claim.note = (f"no activation has both random_normal and zeros cells at "
                      f"width {width}")
    return claim


def claim_scaled_inits(cells: pd.DataFrame, width: int) -> Claim:
    claim = Claim(
        "scaled-inits",
        "Variance-scaled initializers (Glorot, He, LeCun) train at least as well as "
        "random-normal weights.",
        "not measured in this lecture; it defers initializer scaling to its follow-up on "
        "scaling and initialization.",
        f"one check per activation and scaled initializer ({', '.join(SCALED_INITS)}) with a "
        f"random_normal cell of the same activation at width {width}: passes if its mean test "
        f"accuracy is at most {SCALED_SLACK} below random_normal's.",
        "scaled minus random_normal",
        signed=True,
    )
    inits = [i for i in init_order(cells.index.get_level_values("init")) if i in SCALED_INITS]
    for act in activation_order(cells.index.get_level_values("activation")):
        rn = _cell(cells, act, "random_normal", width)
        for init in inits if rn is not None else ():
            cell = _cell(cells, act, init, width)
            if cell is not None:
                claim.checks.append(_diff_check(
                    f"{act}/{init}", f"{fmt_acc(cell)} vs random_normal {rn.test_acc:.3f}",
                    cell.test_acc - rn.test_acc, lambda v: v >= -SCALED_SLACK))
    if not claim.checks:
        claim.note = f"no scaled initializer next to random_normal at width {width}"
    return claim


def claim_bn_sigmoid(main: pd.DataFrame, other: pd.DataFrame, width: int) -> Claim:
    claim = Claim(
        "bn-sigmoid",
        "A batch-normalization layer lets the sigmoid network learn.",
        "with batch normalization between hidden layers 3 and 4, sigmoid reaches about 0.93.",
        f"one check per batch-norm setting with a sigmoid/random_normal cell at width {width}, "
        f"compared with the same cell of the grid's main setting: passes if batch norm lifts "
        f"the mean test accuracy by at least {BN_GAIN}.",
        "gain from batch norm",
        signed=True,
    )
    setting = str(main.batch_norm.iloc[0]) if "batch_norm" in main and len(main) else "none"
    if other.empty:
        where = "without" if setting == "none" else f"with batch norm after layer(s) {setting}"
        claim.note = (f"every network of this grid is trained {where} it, so there "
                      "is nothing to compare")
        return claim
    base = _cell(cell_stats(main), "sigmoid", "random_normal", width)
    for bn, runs in other.groupby("batch_norm"):
        cell = _cell(cell_stats(runs), "sigmoid", "random_normal", width)
        if base is not None and cell is not None:
            claim.checks.append(_diff_check(
                f"batch norm after layer(s) {bn} vs {setting}",
                f"{fmt_acc(cell)} vs {fmt_acc(base)}", cell.test_acc - base.test_acc,
                lambda v: v >= BN_GAIN))
    if not claim.checks:
        claim.note = (f"no sigmoid/random_normal pair with and without batch norm "
                      f"at width {width}")
    return claim


def claim_minor_choices(cells: pd.DataFrame, width: int) -> Claim:
    claim = Claim(
        "minor-choices",
        "Choices that look minor (activation, initialization) decide whether the same network "
        "on the same data learns at all.",
        "the same architecture goes from about 0.99 accuracy to a coin flip by changing only "
        "the activation or the initialization.",
        f"two checks over the activation x init cells at width {width}: the best cell's mean "
        f"test accuracy is at least {LEARNED}, and the worst cell's is at most "
        f"{COIN_FLIP + CHANCE_TOL:.2f} (no better than a coin flip).",
        "mean test accuracy",
    )
    widths = cells.index.get_level_values("width")
    at = cells.xs(width, level="width") if width in widths else cells.iloc[:0]
    ranked = at[at.test_acc.notna()].sort_values("test_acc", kind="stable")
    if len(ranked) < 2:
        claim.note = f"fewer than two trained cells at width {width}"
        return claim
    (w_act, w_init), worst = ranked.index[0], ranked.iloc[0]
    (b_act, b_init), best = ranked.index[-1], ranked.iloc[-1]
    claim.checks = [
        _acc_check(f"best: {b_act}/{b_init}", best, lambda v: v >= LEARNED),
        _acc_check(f"worst: {w_act}/{w_init}", worst, lambda v: v <= COIN_FLIP + CHANCE_TOL),
    ]
    return claim


def claim_wider_easier(cells: pd.DataFrame) -> Claim:
    widths = sorted(cells.index.get_level_values("width").unique())
    claim = Claim(
        "wider-easier",
        "At a fixed depth, a wider network is easier to train than a narrow one.",
        "its section on network size: a big network trains where a small one cannot.",
        f"one check per activation and non-zero initializer trained at two or more widths, "
        f"comparing its narrowest and widest width: if the narrow network's mean test accuracy "
        f"is below {LEARNED}, passes when the wide one's is at least {WIDER_GAIN} higher; "
        f"otherwise passes when the wide one's is at most {WIDER_SLACK} lower. Zero "
        f"initialization is left out: its hidden units stay identical, so width cannot matter.",
        "widest minus narrowest",
        signed=True,
    )
    if len(widths) < 2:
        claim.note = f"only one width ({widths[0] if widths else 'none'}) trained"
        return claim
    acts = activation_order(cells.index.get_level_values("activation"))
    inits = init_order(cells.index.get_level_values("init"))
    for act in acts:
        for init in inits:
            if init == "zeros" or (act, init) not in cells.index.droplevel("width"):
                continue
            group = cells.loc[(act, init)].sort_index()
            if len(group) < 2:
                continue
            lo_w, hi_w = group.index[0], group.index[-1]
            narrow, wide = group.loc[lo_w], group.loc[hi_w]
            learned = pd.notna(narrow.test_acc) and narrow.test_acc >= LEARNED
            claim.checks.append(_diff_check(
                f"{act}/{init}", f"w{lo_w} {fmt_acc(narrow)} -> w{hi_w} {fmt_acc(wide)}",
                wide.test_acc - narrow.test_acc,
                (lambda v: v >= -WIDER_SLACK) if learned else (lambda v: v >= WIDER_GAIN)))
    if not claim.checks:
        claim.note = "no non-zero initializer was trained at two or more widths"
    return claim


WIDTH_CLAIMS = (claim_relu_tanh_learn, claim_sigmoid_lags, claim_zeros_coin_flip,
                claim_normal_beats_zeros, claim_scaled_inits, claim_minor_choices)


def evaluate_claims(runs: pd.DataFrame, width: int) -> dict[str, Claim]:
    """Every claim in the report's order, keyed by ``Claim.key``, at the running width
    (the size claim compares all widths)."""
    main, other = split_batch_norm(runs)
    cells = cell_stats(main)
    claims = [f(cells, width) for f in WIDTH_CLAIMS[:5]]
    claims += [claim_bn_sigmoid(main, other, width), claim_minor_choices(cells, width),
               claim_wider_easier(cells)]
    return {c.key: c for c in claims}


# ---------------------------------------------------------------- markdown pieces


def section_verdicts(section: str) -> tuple[str, list[str]]:
    """A study section's title and the verdicts of its claims, in order: every section
    renders its claims with ``claims.render_claim`` ("Verdict: **...**")."""
    title = next((line[3:].strip() for line in section.splitlines()
                  if line.startswith("## ")), "(untitled section)")
    return title, re.findall(r"^Verdict: \*\*(.+?)\*\*", section, flags=re.M)


def studies_summary(sections: Sequence[str]) -> str:
    """One row per study section: how many of its claims got each verdict."""
    kinds = (SUPPORTED, PARTLY, NOT_SUPPORTED, NOT_TESTED)
    rows = []
    for section in sections:
        title, verdicts = section_verdicts(section)
        rows.append([title, len(verdicts), *(verdicts.count(v) for v in kinds)])
    return markdown_table(["study", "claims", *kinds], rows)


def accuracy_table(cells: pd.DataFrame, width: int) -> str:
    """Activation (rows) x init (columns): mean ± sd of the final test accuracy."""
    at = cells.xs(width, level="width")
    acts = activation_order(at.index.get_level_values("activation"))
    inits = init_order(at.index.get_level_values("init"))
    rows = []
    for act in acts:
        row = [act]
        for init in inits:
            row.append(fmt_acc(at.loc[(act, init)]) if (act, init) in at.index else "not run")
        rows.append(row)
    return markdown_table(["activation \\ init", *inits], rows)


def activation_table(cells: pd.DataFrame, init: str, width: int) -> str:
    at = cells.xs((init, width), level=("init", "width"))
    rows = []
    for act in activation_order(at.index):
        c = at.loc[act]
        rows.append([act, _num(c.train_loss), _num(c.train_acc), fmt_acc(c),
                     f"{int(c.n_diverged)} of {int(c.n)}"])
    return markdown_table(["activation", "final train loss (nats)", "final train accuracy",
                   "final test accuracy (mean ± sd)", "diverged"], rows)


def _num(value: float, digits: int = 3) -> str:
    return "n/a" if pd.isna(value) else f"{value:.{digits}f}"


def diverged_section(runs: pd.DataFrame) -> str:
    div = runs[runs.status == "diverged"]
    if div.empty:
        return f"No model diverged (0 of {len(runs)}): every loss stayed finite."
    rows = []
    for (act, init, w), g in div.groupby(["activation", "init", "width"]):
        n = int(((runs.activation == act) & (runs.init == init) & (runs.width == w)).sum())
        epochs = ", ".join(str(int(e)) for e in g.diverged_epoch.dropna().sort_values())
        rows.append([f"{act}/{init}", str(w), f"{len(g)} of {n}",
                     ", ".join(map(str, sorted(g.seed))), epochs or "n/a"])
    return (
        f"{len(div)} of {len(runs)} models diverged (training loss no longer finite). They "
        "are excluded from every mean and sd above and counted next to them:\n\n"
        + markdown_table(["cell", "width", "diverged", "seeds", "epoch of divergence"], rows)
    )


def _get(params: dict, *keys, default=None):
    for key in keys:
        if not isinstance(params, dict) or key not in params:
            return default
        params = params[key]
    return params


def _first(runs: pd.DataFrame, column: str, default="n/a"):
    if column not in runs or runs[column].dropna().empty:
        return default
    values = runs[column].dropna().unique()
    return values[0] if len(values) == 1 else ", ".join(map(str, sorted(values)))


def setup_section(runs: pd.DataFrame, params: dict, width: int, rel_dir: str) -> str:
    data = _get(params, "data", default={}) or {}
    name = data.get("name", _first(runs, "dataset"))
    n_samples, test_fraction = data.get("n_samples"), data.get("test_fraction")
    if n_samples is not None and test_fraction is not None:
        n_test = int(round(n_samples * test_fraction))
        split = (f"{n_samples} points, {n_samples - n_test} for training and {n_test} held out "
                 f"for testing (one test point = {1 / n_test:.3f} of test accuracy)")
    else:
        split = "train/test split as recorded in the run files"
    details = ", ".join(f"{k} {data[k]}" for k in ("noise", "factor", "scale", "seed")
                        if k in data)
    standardize = " standardized with the training statistics;" if data.get("standardize") else ""
    depth = _first(runs, "depth")
    bn = _first(runs, "batch_norm", "none")
    bn_text = ("no batch normalization" if str(bn) == "none"
               else f"batch normalization after hidden layer(s) {bn}")
    acts = activation_order(runs.activation)
    inits = init_order(runs.init)
    widths = sorted(int(w) for w in runs.width.unique())
    seeds = runs.groupby(["activation", "init", "width"]).seed.nunique()
    seeds_text = (f"{seeds.iloc[0]}" if seeds.nunique() == 1 else f"{seeds.min()} to {seeds.max()}")
    train = _get(params, "train", default={}) or {}
    optimizer = _first(runs, "optimizer")
    lr = _first(runs, "lr")
    l2 = _first(runs, "l2")
    schedule = _first(runs, "schedule")
    extra = [] if str(l2) in ("0", "0.0", "n/a") else [f"L2 weight decay {l2}"]
    if "momentum" in train and optimizer in ("momentum", "nesterov", "sgd"):
        extra.append(f"momentum {train['momentum']}")
    if str(schedule) not in ("constant", "n/a"):
        extra.append(f"{schedule} learning-rate schedule")
    init_scale = _first(runs, "init_scale")
    lines = [
        "## Setup",
        "",
        f"- **Data**: `{name}`, {split}" + (f"; {details}" if details else "") + "."
        + standardize,
        f"- **Network**: 2 inputs -> {depth} hidden dense layers of `width` units with the "
        f"activation under test -> one dense unit with a sigmoid (the classifier); {bn_text}. "
        f"The running example (the lecture's network) has width {width}.",
        f"- **Initialization**: every weight matrix from the initializer under test "
        f"(random_normal and random_uniform with std {init_scale}), biases zero.",
        f"- **Training**: {optimizer}, learning rate {lr}"
        + (", " + ", ".join(extra) if extra else "")
        + f", batch size {_first(runs, 'batch_size')}, {_first(runs, 'epochs')} epochs, binary "
        "cross-entropy loss.",
        f"- **Grid**: {len(acts)} activations ({', '.join(acts)}) x {len(inits)} initializers "
        f"({', '.join(inits)}) x {len(widths)} widths ({', '.join(map(str, widths))}) = "
        f"{len(seeds)} cells, {seeds_text} seeds each (each seed draws its own weights and "
        f"batch order): {len(runs)} models.",
        "- **Statistics**: a cell's number is the mean final test accuracy over its seeds, "
        "± the sample standard deviation (ddof 1), with n the number of seeds that did not "
        "diverge.",
        "",
        markdown_figure(rel_dir, "data.png", "the dataset",
                "the training and test points, coloured by class. Look for: a problem no "
                "straight line can solve, which a network has to bend its boundary around."),
    ]
    return "\n".join(lines)


def verdicts_by_width(runs: pd.DataFrame) -> str:
    main, _ = split_batch_norm(runs)
    cells = cell_stats(main)
    widths = sorted(int(w) for w in main.width.unique())
    rows = []
    for f in WIDTH_CLAIMS:
        claims = [f(cells, w) for w in widths]
        rows.append([claims[0].key] + [f"{c.verdict} ({c.tally})" if c.checks else c.verdict
                                       for c in claims])
    return markdown_table(["claim", *[f"width {w}" for w in widths]], rows)


def _versions_table(versions: dict) -> str:
    return markdown_table(["package", "version"], [[k, v] for k, v in versions.items()])


def provenance_section(params: dict, provenance: dict, runs: pd.DataFrame,
                       metrics: dict) -> str:
    git = provenance.get("git", {})
    if git.get("revision"):
        state = "dirty: uncommitted changes to tracked files" if git.get("dirty") else "clean"
        git_text = f"`{git['revision']}` ({state})"
    else:
        git_text = f"unknown ({git.get('error', 'not a git repository')})"
    cells = runs.groupby(["activation", "init", "width"]).ngroups
    compute = f"{len(runs)} models in {cells} cells of the grid"
    if provenance.get("wall_seconds") is not None:
        compute += (f"; this pipeline run started {provenance['run_started']} and this report "
                    f"was written {provenance['wall_seconds']:.0f} s later (wall time, from "
                    "Snakemake's log; an incremental run only redoes what changed)")
    grid = metrics.get("grid", {}) if isinstance(metrics, dict) else {}
    lines = [
        "## Provenance",
        "",
        f"- Written: {provenance.get('written', 'unknown')}",
        f"- Git revision: {git_text}",
        f"- Python: {provenance.get('python', 'unknown')} ({provenance.get('platform', '')})",
        f"- Compute: {compute}",
        "",
        _versions_table(provenance.get("packages", {})),
    ]
    if grid:
        lines += ["", "Headline metrics (`metrics.json`, as `dvc exp show` lists them):", "",
                  markdown_table(["metric", "value"], [[k, grid[k]] for k in sorted(grid)])]
    lines += ["", "Parameters:", "", "```json", json.dumps(params, indent=2, sort_keys=True),
              "```"]
    return "\n".join(lines)


# ---------------------------------------------------------------- the report


def render_report(
    runs: pd.DataFrame,
    metrics: dict,
    params: dict,
    width: int,
    figures_rel: str = "figures",
    provenance: dict | None = None,
    sections: Sequence[str] = (),
) -> str:
    """The whole report as markdown. ``figures_rel``: the figures folder relative to the
    report; ``provenance``: what ``collect_provenance`` returns; ``sections``: markdown of
    the other studies (each starting with a ``##`` heading), placed before the summary."""
    if runs.empty:
        raise InputError("the runs table is empty")
    main, _ = split_batch_norm(runs)
    cells = cell_stats(main)
    if width not in cells.index.get_level_values("width"):
        raise InputError(f"no runs at the running width {width}")
    claims = evaluate_claims(runs, width)
    numbers = {key: i for i, key in enumerate(claims, 1)}
    inits = init_order(main.init)
    widths = sorted(int(w) for w in main.width.unique())
    names = figure_names(inits, widths)
    acts = activation_order(main.activation)
    n_seeds = int(main.groupby(["activation", "init", "width"]).seed.nunique().max())

    def claim(key: str) -> str:
        return render_claim(numbers[key], claims[key])

    out = [
        "# Small choices, big consequences: activation functions and weight initialization",
        "",
        "*Written by `trainability report` from the tables of the grid and of each study. "
        "Every number is computed from them; every verdict by a rule stated next to it.*",
        "",
        "## The question",
        "",
        "Training a network looks like a solved recipe: compute the gradients by "
        "backpropagation and follow them downhill. The lecture we reproduce argues that it is "
        "not: on one small network and a two-dimensional toy problem, two choices that look "
        "like details (the activation function of the hidden layers and how the weights start "
        "out) decide whether the network learns at all. The lecture shows one training run per "
        "setting. We retrain its running example with "
        f"{n_seeds} seeds per setting, judge every network on held-out test points, and widen "
        f"the comparison to {len(acts)} activations x {len(inits)} initializers x "
        f"{len(widths)} widths, so that each claim becomes a measurement with a spread."
        + (" The sections after the grid ask why, one study each:\n\n"
           + "\n".join(f"- {section_verdicts(sec)[0]}" for sec in sections)
           if sections else ""),
        "",
        "## The claims at a glance",
        "",
        markdown_table(
            ["#", "claim (in our words)", "verdict", "evidence"],
            [[str(numbers[k]), c.statement, f"**{c.verdict}**",
              f"{c.headline} ({c.tally})" if c.checks else c.tally]
             for k, c in claims.items()],
        ),
        "",
        VERDICT_RULE + f" Every claim but the size claim (claim {numbers['wider-easier']}) "
        f"is judged at the running width {width}; the size claim compares widths. Each "
        "claim's rule and checks are given in its section.",
        "",
        setup_section(main, params, width, figures_rel),
        "",
    ]

    lecture_init = "random_normal" if "random_normal" in inits else next(
        (i for i in inits if i != "zeros"), inits[0])
    out += [
        "## 1. The activation function",
        "",
        "Keep the architecture, the data, the optimizer and the initial weight distribution; "
        "change only the nonlinearity of the hidden layers (the classifier keeps its sigmoid, "
        "as a probability output must).",
        "",
        markdown_figure(
            figures_rel, f"lecture_{lecture_init}.png", f"loss and accuracy, {lecture_init}",
            f"loss (top) and accuracy (bottom) per epoch at width {width}, {lecture_init} "
            "init, one column per activation; train solid, test dashed; line = mean over "
            "seeds, band = min to max over seeds. Look for: which columns climb to an "
            "accuracy near 1 and which stall near the dotted coin-flip line, and note that "
            "every panel has its own vertical scale."),
        "",
        f"Final numbers at width {width}, {lecture_init} init:",
        "",
        activation_table(cells, lecture_init, width),
        "",
        claim("relu-tanh-learn"),
        "",
        claim("sigmoid-lags"),
        "",
    ]

    others = [i for i in inits if i not in (lecture_init, "zeros")]
    out += [
        "## 2. The weight initialization",
        "",
        "Gradient descent only refines a starting point, so the starting point might matter. "
        "The lecture compares weights drawn from a unit normal with weights that are all zero. "
        "With zero weights every unit of a layer computes the same function and receives the "
        "same gradient, so the units can never become different.",
        "",
    ]
    if "zeros" in inits:
        out += [
            markdown_figure(figures_rel, "lecture_zeros.png", "loss and accuracy, zeros",
                    f"the same panels with all-zero initial weights (width {width}). Look for: "
                    "flat loss curves on the dotted ln 2 line and accuracy on the coin-flip "
                    "line in every column."),
            "",
        ]
    out += [
        "A network whose output is the same for every point scores the share of one class "
        "in the test set, which need not be exactly 0.5.",
        "",
        claim("zeros-coin-flip"),
        "",
        claim("normal-beats-zeros"),
        "",
        f"Final test accuracy at width {width}, every activation x initializer (mean ± sd over "
        "seeds; n = non-diverged seeds):",
        "",
        accuracy_table(cells, width),
        "",
        "Beyond the lecture's two choices, the grid includes initializers whose variance is "
        "scaled by the layer's fan-in and fan-out (Glorot, He, LeCun), the remedy the lecture "
        "points to in its follow-up on scaling and initialization.",
        "",
        claim("scaled-inits"),
        "",
        claim("bn-sigmoid"),
        "",
    ]
    if others:
        out += [f"The lecture's figure for the other initializers (width {width}):", ""]
        for init in others:
            out += [
                markdown_figure(figures_rel, f"lecture_{init}.png", f"loss and accuracy, {init}",
                        f"loss and accuracy per epoch with {init} init. Look for: whether "
                        "this initializer changes which activations learn, and how fast."),
                "",
            ]

    out += [
        "## 3. The whole grid",
        "",
        "The lecture's claims concern one width. The heatmaps show every activation x "
        "initializer cell at every width; the width plot shows how each cell changes as the "
        "layers get wider.",
        "",
    ]
    for w in widths:
        out += [
            markdown_figure(figures_rel, f"heatmap_w{w}.png", f"test accuracy heatmap, width {w}",
                    f"final test accuracy at width {w}, mean ± sd over seeds per cell; "
                    "diverged models are counted in the cell. Look for: the zeros column, "
                    "rows that stay dark across initializers, and cells whose sd is large "
                    "(some seeds learn, others do not)."),
            "",
        ]
    out += [
        markdown_figure(figures_rel, "accuracy_vs_width.png", "test accuracy vs width",
                "final test accuracy against width (log2 axis), one panel per initializer, "
                "error bars ±1 sd over seeds. Look for: lines that rise with width (a network "
                "too narrow to train reliably) and lines that stay at the coin flip whatever "
                "the width."),
        "",
        claim("minor-choices"),
        "",
        claim("wider-easier"),
        "",
        "Do the width-specific verdicts hold at the other widths? The same rules, applied at "
        "every width:",
        "",
        verdicts_by_width(runs),
        "",
        "### Diverged models",
        "",
        diverged_section(runs),
        "",
        "## 4. What each network learned",
        "",
        "Accuracy is one number; the decision boundary shows what a network actually does "
        "with the plane. Each panel is the first seed of one cell.",
        "",
    ]
    for w in widths:
        out += [
            markdown_figure(figures_rel, f"boundaries_w{w}.png", f"decision boundaries, width {w}",
                    f"predicted probability of class 1 over the plane at width {w} (rows: "
                    "activations, columns: initializers), black line at 0.5, test points on "
                    "top. Look for: a closed curve around the inner ring (learned), a flat "
                    "colour (a constant guess) or a straight cut (a network that has not "
                    "bent its boundary yet)."),
            "",
        ]

    for section in sections:
        out += [section.strip(), ""]

    verdicts = {v: [str(numbers[k]) for k, c in claims.items() if c.verdict == v]
                for v in (SUPPORTED, PARTLY, NOT_SUPPORTED, NOT_TESTED)}
    summary = "; ".join(f"{v}: claim{'s' if len(ks) > 1 else ''} {', '.join(ks)}"
                        for v, ks in verdicts.items() if ks)
    out += [
        "## Summary",
        "",
        f"Of {len(claims)} claims, {len(verdicts[SUPPORTED])} are supported by our runs, "
        f"{len(verdicts[PARTLY])} partly, {len(verdicts[NOT_SUPPORTED])} not supported, and "
        f"{len(verdicts[NOT_TESTED])} not tested ({summary}). The lecture's central point is "
        f"claim {numbers['minor-choices']}: **{claims['minor-choices'].verdict}** here.",
        "",
    ]
    if sections:
        out += [
            "The studies' own claims, each judged in its section by the rule stated there:",
            "",
            studies_summary(sections),
            "",
        ]
    out += [
        provenance_section(params, provenance or {}, runs, metrics),
        "",
    ]
    text = "\n".join(out)
    unlinked = [name for name in names if f"/{name})" not in text and f"({name})" not in text]
    assert not unlinked, f"figures not linked: {unlinked}"
    return text


# ---------------------------------------------------------------- provenance and files


def _git(args: list[str], cwd) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=20)
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip().splitlines()[-1] if result.stderr.strip()
                           else f"git {' '.join(args)} failed")
    return result.stdout.strip()


def git_state(cwd=None) -> dict:
    """``{"revision", "dirty"}`` of the repository at ``cwd``, or ``{"error"}``."""
    try:
        revision = _git(["rev-parse", "HEAD"], cwd)
        changed = _git(["status", "--porcelain", "--untracked-files=no"], cwd)
    except FileNotFoundError:
        return {"error": "git is not installed"}
    except (RuntimeError, subprocess.TimeoutExpired, OSError) as e:
        return {"error": str(e) or "not a git repository"}
    return {"revision": revision, "dirty": bool(changed)}


def package_versions(names=PACKAGES) -> dict[str, str]:
    versions = {}
    for name in ("trainability", *names):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def report_time() -> str:
    """Now in UTC, or ``SOURCE_DATE_EPOCH`` when set (reproducible builds)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    now = (datetime.fromtimestamp(int(epoch), UTC) if epoch and epoch.isdigit()
           else datetime.now(UTC))
    return now.strftime("%Y-%m-%d %H:%M:%S UTC")


def run_start(cwd=None) -> datetime | None:
    """Start of the newest Snakemake run here (its log is named by its local start time)."""
    logs = sorted(Path(cwd or ".").glob(".snakemake/log/*.snakemake.log"))
    if not logs:
        return None
    try:
        return datetime.strptime(logs[-1].name.split(".snakemake")[0], "%Y-%m-%dT%H%M%S.%f")
    except ValueError:
        return None


def collect_provenance(cwd=None) -> dict:
    started = run_start(cwd)
    return {
        "run_started": started.strftime("%Y-%m-%d %H:%M:%S") if started else None,
        "wall_seconds": (datetime.now() - started).total_seconds() if started else None,
        "git": git_state(cwd),
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
        "packages": package_versions(),
        "written": report_time(),
    }


def read_json(path) -> dict:
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    try:
        if str(path).endswith((".yaml", ".yml")):
            import yaml

            return yaml.safe_load(text) or {}
        return json.loads(text)
    except Exception as e:  # json.JSONDecodeError, yaml.YAMLError
        raise InputError(f"{path}: not readable ({e})") from None


def write_report(
    tables_dir, metrics_path, figures_dir, params: dict, width: int, out, section_paths=()
) -> list[str]:
    """Write the report to ``out``; return the names of expected figures not found.

    ``section_paths``: markdown files of the other studies, in report order; their links
    are relative to the report's folder."""
    runs = read_table(Path(tables_dir) / "runs.csv", RUNS_COLUMNS)
    metrics = read_json(metrics_path)
    sections = []
    for path in section_paths:
        try:
            sections.append(Path(path).read_text())
        except FileNotFoundError:
            raise InputError(f"{path}: file not found") from None
    rel = Path(os.path.relpath(Path(figures_dir).resolve(), Path(out).resolve().parent))
    text = render_report(
        runs, metrics, params, width, rel.as_posix(), collect_provenance(), sections
    )
    main, _ = split_batch_norm(runs)
    names = figure_names(main.init, main.width)
    missing = [n for n in names if not (Path(figures_dir) / n).is_file()]
    write_text(out, text)
    return missing
