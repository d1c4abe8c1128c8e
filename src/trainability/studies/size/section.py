"""The size study's report section: the numbers, tables and readings its template words.

Every reading the template may print is chosen here from a computed result (a check's
verdict, a count), never assumed: the template only words it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from trainability.claims import FAILS, PASSES, Claim, Sanity, wilson
from trainability.markdown import caption, figure, table
from trainability.scoring import Learns
from trainability.studies.size import claims as size_claims
from trainability.studies.size import failures
from trainability.studies.size.born_dead import DRAWS
from trainability.studies.size.select import (
    MATCH_TOL,
    capable_width,
    dense_row,
    density_at,
    level_near,
    matching_level,
    needed_width,
    plateau_width,
    recommended_width,
)
from trainability.studies.size.spec import SUBSTUDIES

DATA = ("section.md.j2", "captions/*.rst")
HERE = Path(__file__).parent
ARM_NAMES = {
    "ticket": "winning ticket", "late": "ticket, late rewind", "oneshot": "one-shot ticket",
    "reinit": "random re-init", "random": "random pruning", "dense": "small dense",
}
REG_NAMES = {"none": "none", "l2": "L2", "group_lasso": "group lasso"}
STATEFUL = ("momentum", "nesterov", "rmsprop", "adam")  # optimizers with a state to reset


def _pct(x) -> str:
    return "n/a" if x is None or pd.isna(x) else f"{100 * x:.3g}%"


def _rate(successes, n) -> str:
    n = int(n)
    if n == 0:
        return "no models"
    lo, hi = wilson(int(successes), n)
    return f"{int(successes)}/{n} = {successes / n:.2f} [{lo:.2f}, {hi:.2f}]"


def _names(frame) -> list[str]:
    return sorted(frame.dataset.unique())


# ---------------------------------------------------------------- tables


def width_table(width: pd.DataFrame) -> str:
    names = _names(width)
    rows = []
    for w in sorted(width.width.unique()):
        row = [int(w), int(width[width.width == w].weights.iloc[0])]
        for name in names:
            r = width[(width.dataset == name) & (width.width == w)]
            if r.empty:
                row += ["", "", ""]
                continue
            r = r.iloc[0]
            ep = "n/a" if pd.isna(r.epochs_to_95_median) else f"{r.epochs_to_95_median:g}"
            row += [_rate(r.successes, r.n), f"{int(r.val_successes)}/{int(r.n)}",
                    f"{r.acc_median:.3f} [{r.acc_q25:.3f}, {r.acc_q75:.3f}]; {ep}"]
        rows.append(row)
    header = ["width", "weights"]
    for name in names:
        header += [f"{name}: test success (Wilson 95%)", f"{name}: validation success",
                   f"{name}: test acc median [IQR]; epochs to 95% train acc"]
    return table(rows, header)


def _small(x) -> str:
    return f"{x:.2g}"


def born_dead_table(summary: pd.DataFrame) -> str:
    """Per width: the one-point probability and, per dataset, the failed seeds by fate and
    the born-dead rate measured and predicted."""
    names = _names(summary)
    rows = []
    for w in sorted(summary.width.unique()):
        at = summary[summary.width == w]
        row = [int(w), _small(at.one_point.iloc[0])]
        for name in names:
            r = at[at.dataset == name]
            if r.empty:
                row += ["", "", ""]
                continue
            r = r.iloc[0]
            fates = " / ".join(str(int(r[f"failed_{f}"]))
                               for f in ("born_dead", "died", "alive", "diverged"))
            predicted = (f"{_small(r.predicted)} [{_small(r.predicted_low)}, "
                         f"{_small(r.predicted_high)}]" if pd.notna(r.predicted)
                         else f"at most {_small(r.one_point)}")
            row += [f"{int(r.failed)}/{int(r.n)}: {fates}", _rate(r.born_dead, r.n),
                    predicted]
        rows.append(row)
    header = ["width", "dead at one input point: 1 - (1 - 2^-N)^depth (upper bound)"]
    for name in names:
        header += [f"{name}: failed seeds: born dead / died in training / neither / diverged",
                   f"{name}: born dead, measured (Wilson 95%)",
                   f"{name}: born dead, predicted (Monte Carlo, 95%)"]
    return table(rows, header)


def dead_table(dead: pd.DataFrame, runs: pd.DataFrame) -> str:
    main = dead[dead.main_tau]
    at = runs[np.isclose(runs.tau, float(main.tau.iloc[0]))] if len(main) else runs
    rows = []
    for name in _names(main):
        for reg in REG_NAMES:
            d = main[(main.dataset == name) & (main.regularizer == reg)].sort_values("width")
            for _, r in d.iterrows():
                lives = ", ".join(f"{r[c]:g}" for c in sorted(r.index)
                                  if c.startswith("live_median_"))
                cut = size_claims.cut_widths(at[(at.dataset == name) & (at.regularizer == reg)
                                                & (at.width == r.width)]).median()
                rows.append([name, REG_NAMES[reg] + (f" {r.strength:g}" if r.strength else ""),
                             int(r.width), f"{r.act_dead:.2f}", f"{r.norm_dead:.2f}",
                             f"{r.dead:.2f}", lives, f"{r.k_eff_median:g}", f"{cut:g}",
                             f"{r.test_acc_median:.3f}", int(r.n)])
    return table(rows, ["dataset", "regularizer", "width", "activation-dead", "norm-dead",
                        "dead (either)", "live units per layer (median)",
                        "effective width k_eff (median)", "live part's width (median)",
                        "test acc (median)", "seeds"])


def splits_table(splits: pd.DataFrame) -> str:
    rows = [[r.dataset, r.split, int(r.n), f"{r.guess_acc:.3f}", f"{r.ceiling:.3f}"]
            for _, r in splits.iterrows()]
    return table(rows, ["dataset", "split", "points", "constant guess (larger class)",
                        "best possible classifier (Bayes)"])


def lottery_table(lot: pd.DataFrame) -> str:
    rows = []
    for name in _names(lot):
        d = lot[lot.dataset == name]
        total = dense_row(d).weights
        for arm in ARM_NAMES:
            a = d[(d.arm == arm) & (d.level > 0)].sort_values("level")
            if a.empty:
                continue
            dens = density_at(d, arm, matching_level(d, arm))
            picks = []
            for target in (0.2, 0.05, 0.02):
                gap = (np.log(a.density) - np.log(target)).abs()
                r = a.iloc[int(gap.argmin())]
                near = gap.min() <= np.log(1.5)
                picks.append(f"{r.acc_mean:.3f} ({_pct(r.density)})" if near else "—")
            last = a.iloc[-1]
            rows.append([name, ARM_NAMES[arm], _pct(dens), f"{dens * total:.0f}", *picks,
                         f"{last.acc_mean:.3f} ({_pct(last.density)})"])
    return table(rows, ["dataset", "arm", "matching density (on validation)",
                        "weights at it", "mean test acc near 20%", "near 5%", "near 2%",
                        "at the sparsest level"])


def structured_table(st: pd.DataFrame) -> str:
    fixed = st[st.target == "fixed"]
    rows = []
    for name in _names(fixed):
        d = fixed[fixed.dataset == name]
        for k in sorted(d.k.unique()):
            arms = d[d.k == k].set_index("arm")
            rows.append([name, int(k)] + [
                _rate(arms.loc[a].successes, arms.loc[a].n) if a in arms.index else ""
                for a in ("pruned", "finetune", "rewind", "scratch")])
    return table(rows, ["dataset", "k (units per layer)", "cut, not retrained",
                        "cut + fine-tuned", "cut + rewound to init", "from scratch"])


# ---------------------------------------------------------------- readings


def answer(width: pd.DataFrame, lot: pd.DataFrame | None, reliable: float) -> list[dict]:
    """Per dataset: the width chosen on validation and what the test split says of it."""
    out = []
    for name in _names(width):
        d = width[width.dataset == name].sort_values("width")
        need, widest = needed_width(d, reliable), d.iloc[-1]
        entry = {"name": name, "need": need, "widest": int(widest.width),
                 "widest_weights": int(widest.weights), "widest_median": widest.acc_median,
                 "widest_rate": _rate(widest.successes, widest.n),
                 "widest_val": f"{int(widest.val_successes)}/{int(widest.n)}", "lottery": None}
        if need is not None:
            pick = recommended_width(d, reliable)
            r = d[d.width == pick].iloc[0]
            entry |= {"pick": pick, "plateau": plateau_width(d), "weights": int(r.weights),
                      "rate": _rate(r.successes, r.n), "median": r.acc_median,
                      "narrower": [f"width {int(x.width)}: {int(x.successes)}/{int(x.n)}"
                                   for _, x in d[d.width < need].iterrows()]}
        if lot is not None and (lot.dataset == name).any():
            ld = lot[lot.dataset == name]
            total = dense_row(ld).weights
            entry["lottery"] = {
                "width": int(dense_row(ld).width),
                **{arm: density_at(ld, arm, matching_level(ld, arm)) * total
                   for arm in ("ticket", "dense")}}
        out.append(entry)
    return out


def big_readings(claim: Claim) -> list[dict]:
    """Per dataset: the verdict of its check."""
    return [{"name": c.what.split(":")[0], "verdict": c.verdict} for c in claim.checks]


def lottery_readings(claim: Claim) -> list[dict]:
    """Per dataset: the verdicts of its three lottery checks ("a", "b", "c")."""
    out = {}
    for c in claim.checks:
        tag, name = c.what[1], c.what.split(" ", 1)[1].split(" at ")[0]
        out.setdefault(name, {"name": name, "a": None, "b": None, "c": None})[tag] = c.verdict
    return list(out.values())


def censoring(runs: pd.DataFrame) -> dict:
    """How many early-stopping epochs of the tickets at the moderate levels and of the
    dense networks are censored (the validation loss still falling at the last epoch)."""
    n = censored = 0
    for name in _names(runs):
        r = runs[runs.dataset == name]
        levels = r.groupby(["arm", "level"]).density.mean().reset_index()
        picked = [lv for d in size_claims.MODERATE
                  if (lv := level_near(levels, d)) is not None]
        rows = r[(r.arm == "ticket") & r.level.isin([0, *picked])]
        n, censored = n + len(rows), censored + int(rows.censored.sum())
    return {"n": n, "censored": censored, "share": censored / n if n else 0.0}


def cut_readings(width, dead_runs, tau: float, reliable: float) -> list[dict]:
    """Per dataset: the width of the widest unregularized network's live part (median over
    seeds, ``claims.cut_widths``) against the narrowest width that trains reliably (chosen
    on validation)."""
    if width is None or dead_runs is None:
        return []
    main = dead_runs[np.isclose(dead_runs.tau, tau) & (dead_runs.regularizer == "none")]
    out = []
    for name in _names(main):
        d = main[main.dataset == name]
        top = d[d.width == d.width.max()]
        live = float(size_claims.cut_widths(top).median())
        need = needed_width(width[width.dataset == name], reliable)
        out.append({"name": name, "width": int(top.width.iloc[0]), "live": live,
                    "need": need, "wider": need is not None and live >= need})
    return out


def born_readings(claim: Claim, born: pd.DataFrame, width: pd.DataFrame) -> list[dict]:
    """Per dataset with a check of the born-dead claim: its verdict, the capable width and
    the fates of the seeds that failed there and wider."""
    out = []
    for c in claim.checks:
        name = c.what.split(":")[0]
        cap, failed = failures.capable_failures(born, width, name)
        f = failures.fates(failed)
        out.append({"name": name, "verdict": c.verdict, "cap": cap, "n": len(failed),
                    "born_dead": f["born dead"], "died": f["died in training"],
                    "alive": f["alive"], "diverged": f["diverged"]})
    return out


def prediction_readings(summary: pd.DataFrame) -> dict:
    """How the born-dead prediction compares with the one-point probability and with the
    measured rate, at the widths where networks were drawn."""
    drawn = summary[summary.predicted.notna()]
    below = drawn.predicted_high < drawn.one_point
    inside = drawn.predicted.between(drawn.born_dead_low, drawn.born_dead_high)
    narrow = drawn[drawn.width == drawn.width.min()]
    undrawn = summary.width[summary.predicted.isna()]
    return {
        "draws": DRAWS, "drawn": len(drawn), "below": int(below.sum()),
        "agree": int(inside.sum()),
        "not_below": [f"{r.dataset} width {int(r.width)}" for _, r in drawn[~below].iterrows()],
        "undrawn_from": int(undrawn.min()) if len(undrawn) else None,
        "examples": [{"name": r.dataset, "width": int(r.width), "one_point": _small(r.one_point),
                      "predicted": f"{_small(r.predicted)} [{_small(r.predicted_low)}, "
                                   f"{_small(r.predicted_high)}]",
                      "measured": _rate(r.born_dead, r.n)} for _, r in narrow.iterrows()],
    }


def structured_gain(claim: Claim) -> dict | None:
    """The check with the largest fine-tuned minus scratch difference."""
    if not claim.checks:
        return None
    best = max(claim.checks, key=lambda c: c.effect)
    return {"what": best.what, "shown": best.shown, "detail": best.detail}


def deviations(spec) -> dict:
    """What differs from Frankle & Carbin, from the spec."""
    r, t = spec.lottery["rates"], spec.train
    return {"first_rate": r["first"], "hidden_rate": r["hidden"], "output_rate": r["output"],
            "first_own_rate": r["first"] != r["hidden"],
            "first_weights": 2 * spec.lottery["width"],
            "stateful": t["optimizer"] in STATEFUL, "optimizer": t["optimizer"],
            "rewind_epoch": spec.lottery["rewind_epoch"], "epochs": t["epochs"]}


# ---------------------------------------------------------------- context and metrics


def figures(spec, rel: str) -> dict[str, str]:
    return {name: figure(rel, name, caption(HERE, kind)) for name, kind in spec.figures()}


def context(spec, tables, claims: list[Claim], sanity: list[Sanity], rel: str) -> dict:
    t = tables.get
    by_key = {c.key: c for c in claims}
    reliable = float(spec.width["reliable"])
    width, lot = t("width"), t("lottery")
    seeds = sorted(set(width.n.astype(int))) if width is not None else []
    capable = {n: capable_width(width[width.dataset == n])
               for n in _names(width)} if width is not None else {}
    splits = t("splits")
    return {
        "spec": spec, "claims": by_key, "sanity": sanity,
        "learns": Learns.of(spec), "room": size_claims.room(spec),
        "room_share": size_claims.ROOM,
        "ceilings": {n: splits[splits.dataset == n].set_index("split").ceiling.to_dict()
                     for n in _names(splits)} if splits is not None else {},
        "splits_table": splits_table(splits) if splits is not None else "",
        "figures": figures(spec, rel), "enabled": {s: spec.enabled(s) for s in SUBSTUDIES},
        "reliable": reliable, "seeds": seeds, "match_tol": MATCH_TOL,
        "beats": size_claims.BEATS, "gain": size_claims.GAIN, "passes": PASSES, "fails": FAILS,
        "many_dead": size_claims.MANY_DEAD,
        "capable": capable,
        "capable_list": ", ".join(f"{n} {w if w is not None else 'none'}"
                                  for n, w in capable.items()),
        "answer": answer(width, lot, reliable) if width is not None else [],
        "width_table": width_table(width) if width is not None else "",
        "dead_table": dead_table(t("dead"), t("dead_runs")) if t("dead") is not None else "",
        "lottery_table": lottery_table(lot) if lot is not None else "",
        "structured_table": structured_table(t("structured"))
        if t("structured") is not None else "",
        "big_readings": big_readings(by_key["big-trains"]),
        "lottery_readings": lottery_readings(by_key["lottery-tickets"]),
        "censoring": censoring(t("lottery_runs")) if lot is not None else None,
        "cut_readings": cut_readings(width, t("dead_runs"), float(spec.dead["tau"]),
                                     reliable),
        "structured_gain": structured_gain(by_key["cut-beats-scratch"]),
        "born_dead_table": born_dead_table(t("born_dead")) if t("born_dead") is not None
        else "",
        "born_readings": born_readings(by_key["born-dead"], t("born_dead_runs"), width)
        if t("born_dead_runs") is not None else [],
        "prediction": prediction_readings(t("born_dead")) if t("born_dead") is not None
        else None,
        "deviations": deviations(spec),
        "dense_weights": {n: int(dense_row(lot[lot.dataset == n]).weights)
                          for n in _names(lot)} if lot is not None else {},
    }


def _num(x):
    return None if x is None or pd.isna(x) else round(float(x), 6)


def metrics(spec, tables) -> dict:
    """Per dataset, the study's answer in numbers (choices made on validation)."""
    reliable = float(spec.width["reliable"])
    out: dict[str, dict] = {}
    width, dead, lot = tables.get("width"), tables.get("dead"), tables.get("lottery")
    if width is not None:
        for name in _names(width):
            d = width[width.dataset == name].sort_values("width")
            cap = capable_width(d)
            m = out.setdefault(name, {})
            m["capable_width"] = cap
            m["needed_width"] = needed_width(d, reliable)
            m["recommended_width"] = recommended_width(d, reliable)
            m["success_capable"] = _num(d[d.width == cap].success_rate.iloc[0]) \
                if cap is not None else None
            m["success_widest"] = _num(d.success_rate.iloc[-1])
            born = tables.get("born_dead_runs")
            if born is not None:
                _, failed = failures.capable_failures(born, width, name)
                m["born_dead_share_failed"] = _num(failed.born_dead.mean()) \
                    if len(failed) else None
    if dead is not None:
        main = dead[dead.main_tau & (dead.regularizer == "none")]
        for name in _names(main):
            top = main[main.dataset == name].sort_values("width").iloc[-1]
            out.setdefault(name, {})["dead_share_widest"] = _num(top.dead)
    if lot is not None:
        for name in _names(lot):
            d = lot[lot.dataset == name]
            m = out.setdefault(name, {})
            for arm in ("ticket", "reinit", "random", "dense"):
                m[f"matching_density_{arm}"] = _num(density_at(d, arm, matching_level(d, arm)))
    return out

