"""The tweaks study's report section: the numbers and tables its template words."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from trainability.claims import Claim, Sanity
from trainability.data import load_dataset, split_validation
from trainability.markdown import caption, figure, table
from trainability.order import activation_order
from trainability.studies.tweaks.claims import estimate
from trainability.studies.tweaks.selection import chosen, edge, label
from trainability.studies.tweaks.spec import BASE, LECTURE
from trainability.studies.tweaks.tables import guesses

DATA = ("section.md.j2", "captions/*.rst")
HERE = Path(__file__).parent
LECTURE_SIGMOID = 0.7  # the lecture's sigmoid network: about 0.7 training accuracy


EDGE = " (edge)"  # marks a rate chosen at an edge of the sweep


def setting_rows(spec) -> list[tuple[str, str, str | None, str | None]]:
    """(row label, choice, optimizer, variant) of the chosen-settings table."""
    rows = [(f"the lecture's setting ({label(LECTURE['optimizer'], BASE, LECTURE['lr'])})",
             "lecture", None, None)]
    rows += [(f"{o}, rate chosen", "best_lr", o, BASE) for o in spec.optimizers]
    vo = spec.variant_optimizer
    if spec.variants and vo not in spec.optimizers:
        rows.append((f"{vo}, rate chosen", "best_lr", vo, BASE))
    rows += [(f"{vo} + {v}, rate chosen", "best_lr", vo, v) for v in spec.variants]
    if spec.variants:
        rows.append(("the variant chosen", "best_variant", None, None))
    return rows + [("one setting for all (chosen)", "one_setting", None, None)]


def chosen_table(spec, choices: pd.DataFrame) -> str:
    """Rows: the settings; columns: activations; cells: the setting (its learning rate) and
    the mean test accuracy with its 95% interval."""
    acts = activation_order(spec.activations)
    rows = []
    for text, kind, o, v in setting_rows(spec):
        cells = []
        for act in acts:
            row = chosen(choices, kind, act, o, v)
            if row is None:
                cells.append("not run")
                continue
            which = (f"lr {row.lr:g}" if kind in ("best_lr", "lecture")
                     else label(row.optimizer, row.variant, row.lr))
            if kind != "lecture" and edge(spec.lrs, row.lr):
                which += EDGE
            cells.append(f"{which}: {estimate(row).shown}")
        rows.append([text, *cells])
    return table(rows, ["setting", *[f"{a}: test accuracy [95% interval]" for a in acts]])


def sweep_table(spec, summary: pd.DataFrame, choices: pd.DataFrame, activation: str) -> str:
    """Rows: configurations; columns: learning rates; cells: mean ± sd of the final
    validation accuracy, the chosen rate of each row in bold."""
    rows = []
    for o, v in spec.configurations():
        best = chosen(choices, "best_lr", activation, o, v)
        cells = [o if v == BASE else f"{o} + {v}"]
        for lr in spec.lrs:
            sel = summary[(summary.activation == activation) & (summary.optimizer == o)
                          & (summary.variant == v) & ((summary.lr - lr).abs() <= 1e-9 * lr)]
            if sel.empty:
                cells.append("")
                continue
            r = sel.iloc[0]
            text = f"{r.val_acc_mean:.3f} ± {r.val_acc_sd:.3f}"
            text += f" ({int(r.n_diverged)} div.)" if r.n_diverged else ""
            is_best = best is not None and abs(best.lr - lr) <= 1e-9 * lr
            if is_best:
                text = f"**{text}**" + (EDGE if edge(spec.lrs, lr) else "")
            cells.append(text)
        rows.append(cells)
    return table(rows, ["configuration \\ learning rate", *[f"{lr:g}" for lr in spec.lrs]])


def edges(spec, choices: pd.DataFrame) -> list[str]:
    """Every rate chosen on validation at an edge of the sweep, in words: each optimizer's
    and variant's per activation, and the one setting's."""
    out = []
    for act in activation_order(spec.activations):
        for o, v in spec.configurations():
            row = chosen(choices, "best_lr", act, o, v)
            if row is not None and edge(spec.lrs, row.lr):
                out.append(f"{act}: {label(o, v, row.lr)} ({edge(spec.lrs, row.lr)})")
    one = choices[choices.choice == "one_setting"]
    if len(one) and edge(spec.lrs, one.iloc[0].lr):
        row = one.iloc[0]
        out.append(f"the one setting for all, {label(row.optimizer, row.variant, row.lr)} "
                   f"({edge(spec.lrs, row.lr)})")
    return out


def split_sizes(spec) -> dict[str, int]:
    data = load_dataset(spec.dataset)
    fit = split_validation(data, spec.validation_fraction)
    return {"train": len(data.y_train), "fit": len(fit.y_train), "val": len(fit.y_test),
            "test": len(data.y_test)}


def mechanism(spec) -> dict:
    """The numbers of the update rules' asymptotics under the trainer's eps convention."""
    eps, convention = spec.train["eps"], spec.train["eps_convention"]
    threshold = math.sqrt(eps) if convention == "keras" else eps
    return {"convention": convention, "eps": eps, "threshold": threshold,
            "gain": 1.0 / threshold}


def context(spec, tables, claims: list[Claim], sanity: list[Sanity], rel: str) -> dict:
    runs, summary, choices = tables["runs"], tables["summary"], tables["choices"]
    one = choices[choices.choice == "one_setting"]
    return {
        "spec": spec,
        "claims": {c.key: c for c in claims},
        "sanity": sanity,
        "figures": {name: figure(rel, name, caption(HERE, kind))
                    for name, kind in spec.figures()},
        "target": spec.target,
        "lecture": {**LECTURE, "sigmoid": LECTURE_SIGMOID},
        "one_setting": label(*one.iloc[0][["optimizer", "variant", "lr"]]) if len(one) else "",
        "base": spec.variant_settings(BASE),
        "chance": {split: g.accuracy for split, g in guesses(spec).items()},
        "rates": [f"{r:g}" for r in spec.lrs],
        "edges": edges(spec, choices),
        "lecture_rows": {act: estimate(row).shown for act in spec.activations
                         if (row := chosen(choices, "lecture", act)) is not None},
        "grid": {**spec.grid, "lecture": (spec.grid["optimizer"] == LECTURE["optimizer"]
                                          and math.isclose(spec.grid["lr"], LECTURE["lr"]))},
        "sizes": split_sizes(spec),
        "mechanism": mechanism(spec),
        "n_models": len(runs),
        "n_configs": len(summary),
        "sweep_table": sweep_table(spec, summary, choices, spec.target),
        "chosen_table": chosen_table(spec, choices),
    }


def metrics(spec, tables) -> dict:
    """Headline numbers for ``dvc exp show``: per activation, the test accuracy of the
    lecture's setting and of the one setting chosen for all, and the one setting."""
    choices = tables["choices"]
    out = {"models": int(len(tables["runs"])),
           "diverged": int((tables["runs"].status != "ok").sum())}
    for act in spec.activations:
        for kind in ("lecture", "one_setting"):
            row = chosen(choices, kind, act)
            if row is not None:
                out.setdefault(act, {})[kind] = {"test_acc": _round(row.test_acc_mean),
                                                 "lo": _round(row.test_acc_lo),
                                                 "hi": _round(row.test_acc_hi)}
    one = choices[choices.choice == "one_setting"]
    if len(one):
        out["one_setting"] = label(*one.iloc[0][["optimizer", "variant", "lr"]])
    return out


def _round(x):
    return None if pd.isna(x) else round(float(x), 6)
