"""The tweaks study's report section: the numbers and tables its template words."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from trainability.claims import Claim, Sanity
from trainability.data import load_dataset, split_validation
from trainability.markdown import caption, figure, table
from trainability.order import activation_order
from trainability.studies.tweaks.selection import chosen, label
from trainability.studies.tweaks.spec import BASE, LECTURE
from trainability.studies.tweaks.tables import chance_levels

DATA = ("section.md.j2", "captions/*.rst")
HERE = Path(__file__).parent
LECTURE_SIGMOID = 0.7  # the lecture's sigmoid network: about 0.7 training accuracy


def _interval(row) -> str:
    """``0.985 [0.976, 0.990]`` of a choices row."""
    if row is None or not math.isfinite(row.test_acc_mean):
        return "n/a"
    if not (math.isfinite(row.test_acc_lo) and math.isfinite(row.test_acc_hi)):
        return f"{row.test_acc_mean:.3f} (no interval)"
    return f"{row.test_acc_mean:.3f} [{row.test_acc_lo:.3f}, {row.test_acc_hi:.3f}]"


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
            cells.append(f"{which}: {_interval(row)}")
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
            cells.append(f"**{text}**" if is_best else text)
        rows.append(cells)
    return table(rows, ["configuration \\ learning rate", *[f"{lr:g}" for lr in spec.lrs]])


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
        "claim_list": claims,
        "sanity": sanity,
        "figures": {name: figure(rel, name, caption(HERE, kind))
                    for name, kind in spec.figures()},
        "target": spec.target,
        "lecture": {**LECTURE, "sigmoid": LECTURE_SIGMOID},
        "one_setting": label(*one.iloc[0][["optimizer", "variant", "lr"]]) if len(one) else "",
        "base": spec.variant_settings(BASE),
        "chance": chance_levels(spec),
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
