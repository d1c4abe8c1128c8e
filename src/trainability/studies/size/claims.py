"""The size study's report section: each claim about network size, our numbers, a verdict.

``render_section`` is pure (tables and settings in, markdown out); ``write_section`` reads
the tables and writes ``results/sections/size.md`` atomically. Claims, checks and verdicts
use the report's conventions (``trainability.legacy_claims.Claim``): a claim is **supported** if
all its checks pass, **partly** if some do, **not supported** if none does, and **not
tested** if its sub-study did not run. The thresholds of the checks:

- ``settings["width"]["reliable"]``: a width "trains reliably" if at least this share of its
  seeds succeeds (success: final test accuracy >= the dataset's threshold in params.yaml);
- ``MANY_DEAD``: "many units are dead" means at least this share of the hidden units;
- ``MATCH_TOL``: a pruned network "matches" the dense one if its mean test accuracy is at
  most this much lower; ``DENSITY_RATIO``: tickets must keep matching down to a density at
  least this many times lower than a control's;
- ``BEATS_TOL``: "beats" means a mean test accuracy at least this much higher.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from trainability.io import InputError, write_json, write_text
from trainability.legacy_claims import (
    NOT_SUPPORTED,
    NOT_TESTED,
    PARTLY,
    SUPPORTED,
    Check,
    Claim,
    render_claim,
)
from trainability.studies.size import FIGURES, SUBSTUDIES
from trainability.studies.size_tables import fmt_rate, needed_width, read_csv

MANY_DEAD = 0.10
MATCH_TOL = 0.01
DENSITY_RATIO = 1.5
BEATS_TOL = 0.01
MODERATE = (0.10, 0.50)  # "moderate sparsity": densities in this range (fractions kept)
TABLES = {
    "width": ("size_width",),
    "dead": ("size_dead",),
    "lottery": ("size_lottery",),
    "structured": ("size_structured", "size_structured_live"),
}
ARM_NAMES = {
    "ticket": "winning ticket", "late": "ticket, late rewind", "oneshot": "one-shot ticket",
    "reinit": "random re-init", "random": "random pruning", "dense": "small dense",
}
REG_NAMES = {"none": "none", "l2": "L2", "group_lasso": "group lasso"}


def markdown_table(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _fig(rel: str, name: str, alt: str, caption: str) -> str:
    return f"![{alt}]({rel}/{name})\n\n*Figure ({name}): {caption}*"


def _pct(x: float) -> str:
    return "n/a" if pd.isna(x) else f"{100 * x:.3g}%"


def _rate(row) -> str:
    return fmt_rate(int(row.successes), int(row.n))


def _datasets(frame: pd.DataFrame) -> list[str]:
    return sorted(frame.dataset.unique())


# ---------------------------------------------------------------- lottery helpers


def dense_reference(lot: pd.DataFrame) -> pd.Series:
    """The dense network: level 0 of the ticket arm."""
    return lot[(lot.arm == "ticket") & (lot.level == 0)].iloc[0]


def match_density(lot: pd.DataFrame, arm: str, tol: float = MATCH_TOL) -> tuple[float, int]:
    """``(density, level)`` of the sparsest level an arm reaches while every level so far
    has a mean test accuracy within ``tol`` of the dense network's (1.0, 0 if the first
    pruned level already falls short; NaN, -1 if the arm did not run)."""
    ref = dense_reference(lot).acc_mean
    rows = lot[(lot.arm == arm) & (lot.level > 0)].sort_values("level")
    if rows.empty:
        return float("nan"), -1
    density, level = 1.0, 0
    for _, r in rows.iterrows():
        if not r.acc_mean >= ref - tol:
            break
        density, level = float(r.density), int(r.level)
    return density, level


# ---------------------------------------------------------------- claims


def claim_big_trains(width: pd.DataFrame | None, reliable: float) -> Claim:
    claim = Claim(
        "big-trains",
        "At a fixed depth, a big network trains where a small one cannot.",
        "\"given a fixed number of layers, it is easier to train a big NN than a small one\".",
        "one check per dataset, comparing the narrowest and the widest width trained: passes "
        "if the narrowest width's success rate has a Wilson 95% interval entirely below the "
        f"widest's, and the widest succeeds for at least {reliable:.0%} of its seeds.",
        "widest minus narrowest success rate",
        signed=True,
    )
    if width is None:
        claim.note = "the width study did not run (size.width.enabled)"
        return claim
    for name in _datasets(width):
        d = width[width.dataset == name].sort_values("width")
        lo, hi = d.iloc[0], d.iloc[-1]
        passed = bool(lo.ci_high < hi.ci_low and hi.success_rate >= reliable)
        claim.checks.append(Check(
            name, f"w{int(lo.width)}: {_rate(lo)}; w{int(hi.width)}: {_rate(hi)}",
            float(hi.success_rate - lo.success_rate), passed))
    return claim


def claim_many_dead(dead: pd.DataFrame | None) -> Claim:
    claim = Claim(
        "many-dead",
        "Many units of a wide trained network are dead.",
        "\"many units turn out to be dead: near zero weights\" (after training an overly "
        "large network).",
        "one check per dataset, on the widest network trained without regularization: passes "
        f"if on average at least {MANY_DEAD:.0%} of its hidden units are dead, i.e. "
        "activation-dead (never active on the fit points) or norm-dead (score below tau x the "
        "layer's largest score, tau as in params).",
        "share of dead units",
    )
    if dead is None:
        claim.note = "the dead-unit study did not run (size.dead.enabled)"
        return claim
    main = dead[dead.main_tau & (dead.regularizer == "none")]
    for name in _datasets(main):
        d = main[main.dataset == name].sort_values("width").iloc[-1]
        layers = "; ".join(f"layer {c.split('_')[1]} {d[c]:.2f}" for c in sorted(d.index)
                           if c.startswith("dead_") and c[5:].isdigit())
        claim.checks.append(Check(
            f"{name}, width {int(d.width)}",
            f"activation-dead {d.act_dead:.2f}, norm-dead {d.norm_dead:.2f}, either "
            f"{d.dead:.2f} ({layers})",
            float(d.dead), bool(d.dead >= MANY_DEAD)))
    return claim


def claim_cut_cannot_train(dead: pd.DataFrame | None, width: pd.DataFrame | None,
                           st: pd.DataFrame | None, live: pd.DataFrame | None,
                           reliable: float) -> Claim:
    claim = Claim(
        "cut-cannot-train",
        "A network as narrow as the live part of a wide one cannot be trained from scratch.",
        "\"reduce the number of units: can't train!\"",
        "two kinds of check per dataset, both asking whether a network as narrow as the live "
        "part trains from scratch. (a) Structured-pruning study: every wide group-lasso "
        "network is cut to its own live units (k = the largest number of live units in any "
        "hidden layer); passes if networks of those widths trained from scratch succeed for "
        f"fewer than {reliable:.0%} of the seeds. (b) The widest network trained without "
        "regularization: passes if, in the width study, the widest width not above its median "
        f"live width succeeds for fewer than {reliable:.0%} of the seeds.",
        "from-scratch success rate at the live width",
    )
    if st is not None and live is not None:
        for name in _datasets(st):
            rows = st[(st.dataset == name) & (st.target == "live")]
            if rows.empty:
                continue
            by_arm = rows.groupby("arm")[["successes", "n"]].sum()
            lv = live[live.dataset == name].k_eff
            scratch = by_arm.loc["scratch"] if "scratch" in by_arm.index else None
            if scratch is None:
                continue
            rate = scratch.successes / scratch.n
            fine = by_arm.loc["finetune"] if "finetune" in by_arm.index else None
            measured = (f"live width median {lv.median():g} (IQR {lv.quantile(0.25):g}-"
                        f"{lv.quantile(0.75):g}); from scratch "
                        f"{fmt_rate(int(scratch.successes), int(scratch.n))}")
            if fine is not None:
                measured += f"; cut + fine-tuned {fmt_rate(int(fine.successes), int(fine.n))}"
            claim.checks.append(Check(f"(a) {name}", measured, float(rate),
                                      bool(rate < reliable)))
    if dead is not None and width is not None:
        main = dead[dead.main_tau & (dead.regularizer == "none")]
        for name in _datasets(main):
            d = main[main.dataset == name].sort_values("width").iloc[-1]
            k = float(d.k_eff_median)
            w = width[(width.dataset == name) & (width.width <= k)].sort_values("width")
            if w.empty:
                continue
            r = w.iloc[-1]
            layers = ", ".join(f"{d[c]:g}" for c in sorted(d.index)
                               if c.startswith("live_median_"))
            claim.checks.append(Check(
                f"(b) {name}, width {int(d.width)}",
                f"median live width {k:g} (per layer {layers}); width {int(r.width)} from "
                f"scratch {_rate(r)}", float(r.success_rate),
                bool(r.success_rate < reliable)))
    if not claim.checks:
        claim.note = "needs the structured-pruning study, or the width and dead-unit studies"
    return claim


def claim_tickets(lot: pd.DataFrame | None) -> Claim:
    claim = Claim(
        "lottery-tickets",
        "A big network hides a small subnetwork (a winning ticket: its largest weights, reset "
        "to their initial values) that still trains to the dense accuracy where the same mask "
        "with new weights, or a random mask, does not.",
        "cites the Lottery Ticket Hypothesis (Frankle & Carbin, arXiv 1803.03635).",
        "two checks per dataset. The matching density of an arm is the sparsest pruning level "
        f"it reaches with every level's mean test accuracy within {MATCH_TOL} of the dense "
        "network's. (a) Passes if the ticket's matching density is at least "
        f"{DENSITY_RATIO}x lower than with random re-initialization of the same mask, "
        "(b) the same against random pruning at the same per-layer density.",
        "control's matching density / ticket's",
    )
    if lot is None:
        claim.note = "the lottery study did not run (size.lottery.enabled)"
        return claim
    for name in _datasets(lot):
        d = lot[lot.dataset == name]
        t, _ = match_density(d, "ticket")
        for arm in ("reinit", "random"):
            c, _ = match_density(d, arm)
            if np.isnan(c):
                continue
            ratio = c / t
            claim.checks.append(Check(
                f"({'a' if arm == 'reinit' else 'b'}) {name}: ticket vs {ARM_NAMES[arm]}",
                f"matching density ticket {_pct(t)}, {ARM_NAMES[arm]} {_pct(c)}: ratio "
                f"{ratio:.2f}", float(ratio), bool(ratio >= DENSITY_RATIO)))
    return claim


def claim_tickets_faster(lot: pd.DataFrame | None) -> Claim:
    claim = Claim(
        "tickets-faster",
        "Winning tickets learn faster than the dense network they come from.",
        "not in the lecture; Frankle & Carbin report earlier early stopping at moderate "
        "sparsity.",
        "one check per dataset: passes if at moderate sparsity "
        f"({_pct(MODERATE[0])} to {_pct(MODERATE[1])} of the weights left) the ticket's "
        "early-stopping epoch (minimum validation loss; median over seeds, then over those "
        "levels) is no later than the dense network's.",
        "ticket minus dense early-stopping epoch",
        signed=True,
    )
    if lot is None:
        claim.note = "the lottery study did not run (size.lottery.enabled)"
        return claim
    for name in _datasets(lot):
        d = lot[lot.dataset == name]
        ref = dense_reference(d)
        mod = d[(d.arm == "ticket") & (d.level > 0) & d.density.between(*MODERATE)]
        if len(mod):
            es = float(mod.early_stop_median.median())
            claim.checks.append(Check(
                name, f"ticket median {es:g} (over {len(mod)} levels), dense "
                f"{ref.early_stop_median:g}", es - float(ref.early_stop_median),
                bool(es <= ref.early_stop_median)))
    if lot is not None and not claim.checks:
        claim.note = "no pruning level at moderate sparsity"
    return claim


def claim_ticket_beats_small_dense(lot: pd.DataFrame | None) -> Claim:
    claim = Claim(
        "ticket-vs-small-dense",
        "At the same number of weights, a winning ticket is more accurate than a small dense "
        "network trained from scratch.",
        "implied by \"somewhere in this big mess must be something valuable\"; Liu et al. "
        "(arXiv 1810.05270) found small dense networks from scratch as good.",
        "two checks per dataset, comparing mean test accuracies at the same pruning level "
        "(the small dense network has the width whose weight count is closest): at the "
        "ticket's sparsest matching level and at the sparsest level. Passes if the ticket is "
        f"at least {BEATS_TOL} more accurate.",
        "ticket minus small dense",
        signed=True,
    )
    if lot is None:
        claim.note = "the lottery study did not run (size.lottery.enabled)"
        return claim
    for name in _datasets(lot):
        d = lot[lot.dataset == name]
        _, level = match_density(d, "ticket")
        last = int(d[d.arm == "ticket"].level.max())
        for what, lv in (("sparsest matching level", max(level, 1)), ("sparsest level", last)):
            t = d[(d.arm == "ticket") & (d.level == lv)]
            s = d[(d.arm == "dense") & (d.level == lv)]
            if t.empty or s.empty:
                continue
            t, s = t.iloc[0], s.iloc[0]
            diff = float(t.acc_mean - s.acc_mean)
            claim.checks.append(Check(
                f"{name}, {what} ({_pct(t.density)})",
                f"ticket {t.acc_mean:.3f} ({t.weights:.0f} weights), dense width "
                f"{int(s.width)} {s.acc_mean:.3f} ({s.weights:.0f} weights)",
                diff, bool(diff >= BEATS_TOL)))
    return claim


def claim_structured(st: pd.DataFrame | None, reliable: float) -> Claim:
    claim = Claim(
        "cut-beats-scratch",
        "A wide network cut down to k units and fine-tuned succeeds where a k-unit network "
        "trained from scratch does not.",
        "\"use bigger than necessary NNs with regularization to prune\".",
        "one check per dataset and k where the k-unit network from scratch succeeds for "
        f"fewer than {reliable:.0%} of its seeds: passes if the cut and fine-tuned network's "
        "success rate has a Wilson 95% interval entirely above the from-scratch one's.",
        "fine-tuned minus scratch success rate",
        signed=True,
    )
    if st is None:
        claim.note = "the structured-pruning study did not run (size.structured.enabled)"
        return claim
    fixed = st[st.target == "fixed"]
    for name in _datasets(fixed):
        d = fixed[fixed.dataset == name]
        for k in sorted(d.k.unique()):
            arms = d[d.k == k].set_index("arm")
            if not {"scratch", "finetune"} <= set(arms.index):
                continue
            sc, ft = arms.loc["scratch"], arms.loc["finetune"]
            if sc.success_rate >= reliable:
                continue
            claim.checks.append(Check(
                f"{name}, k = {int(k)}", f"fine-tuned {_rate(ft)}; scratch {_rate(sc)}",
                float(ft.success_rate - sc.success_rate), bool(ft.ci_low > sc.ci_high)))
    if not claim.checks:
        claim.note = (f"every k-unit network from scratch succeeded for >= {reliable:.0%} of "
                      "its seeds: nothing for pruning to rescue")
    return claim


# ---------------------------------------------------------------- tables


def width_table(width: pd.DataFrame) -> str:
    names = _datasets(width)
    rows = []
    for w in sorted(width.width.unique()):
        row = [str(int(w)), str(int(width[width.width == w].weights.iloc[0]))]
        for name in names:
            r = width[(width.dataset == name) & (width.width == w)]
            if r.empty:
                row += ["", ""]
                continue
            r = r.iloc[0]
            ep = "n/a" if pd.isna(r.epochs_to_95_median) else f"{r.epochs_to_95_median:g}"
            row += [_rate(r), f"{r.acc_median:.3f} [{r.acc_q25:.3f}, {r.acc_q75:.3f}]; {ep}"]
        rows.append(row)
    header = ["width", "weights"]
    for name in names:
        header += [f"{name}: success (Wilson 95%)",
                   f"{name}: test acc median [IQR]; epochs to 95% train acc"]
    return markdown_table(header, rows)


def dead_table(dead: pd.DataFrame) -> str:
    main = dead[dead.main_tau]
    rows = []
    for name in _datasets(main):
        for reg in REG_NAMES:
            d = main[(main.dataset == name) & (main.regularizer == reg)]
            for _, r in d.sort_values("width").iterrows():
                if r.width < 16 and reg == "none" and len(d) > 4:
                    continue
                lives = ", ".join(f"{r[c]:g}" for c in sorted(r.index)
                                  if c.startswith("live_median_"))
                rows.append([name, REG_NAMES[reg] + (f" {r.strength:g}" if r.strength else ""),
                             int(r.width), f"{r.act_dead:.2f}", f"{r.norm_dead:.2f}",
                             f"{r.dead:.2f}", lives, f"{r.k_eff_median:g}",
                             f"{r.test_acc_median:.3f}", int(r.n)])
    return markdown_table(["dataset", "regularizer", "width", "activation-dead", "norm-dead",
                   "dead (either)", "live units per layer (median)", "effective width k_eff",
                   "test acc (median)", "seeds"], rows)


def lottery_table(lot: pd.DataFrame) -> str:
    rows = []
    for name in _datasets(lot):
        d = lot[lot.dataset == name]
        ref = dense_reference(d)
        total = ref.weights
        for arm in ARM_NAMES:
            if not (d.arm == arm).any():
                continue
            dens, level = match_density(d, arm)
            a = d[(d.arm == arm) & (d.level > 0)].sort_values("level")
            picks = []
            for target in (0.2, 0.05, 0.02):
                gap = (np.log(a.density) - np.log(target)).abs()
                r = a.iloc[int(gap.argmin())]
                near = gap.min() <= np.log(1.5)
                picks.append(f"{r.acc_mean:.3f} ({_pct(r.density)})" if near else "—")
            last = a.iloc[-1]
            rows.append([name, ARM_NAMES[arm], _pct(dens),
                         f"{dens * total:.0f}" if not np.isnan(dens) else "n/a", *picks,
                         f"{last.acc_mean:.3f} ({_pct(last.density)})"])
    return markdown_table(["dataset", "arm", "matching density", "weights at matching density",
                   "mean test acc near 20%", "near 5%", "near 2%", "at the sparsest level"],
                  rows)


def structured_table(st: pd.DataFrame) -> str:
    fixed = st[st.target == "fixed"]
    rows = []
    for name in _datasets(fixed):
        d = fixed[fixed.dataset == name]
        for k in sorted(d.k.unique()):
            arms = d[d.k == k].set_index("arm")
            row = [name, int(k)]
            for arm in ("pruned", "finetune", "rewind", "scratch"):
                row.append(_rate(arms.loc[arm]) if arm in arms.index else "")
            rows.append(row)
    header = ["dataset", "k (units per layer)", "cut, not retrained", "cut + fine-tuned",
              "cut + rewound to init", "from scratch"]
    return markdown_table(header, rows)


# ---------------------------------------------------------------- the answer


def plateau_width(width: pd.DataFrame, tol: float = MATCH_TOL) -> int:
    """The narrowest width from which every wider width's median test accuracy is within
    ``tol`` of the best median. ``width``: one dataset's rows."""
    d = width.sort_values("width")
    ok = (d.acc_median >= d.acc_median.max() - tol).to_numpy()
    i = len(ok) - 1
    while i > 0 and ok[i - 1]:
        i -= 1
    return int(d.width.iloc[i])


def recommended_width(width: pd.DataFrame, reliable: float) -> int | None:
    """The narrowest width that both trains reliably and sits on the accuracy plateau."""
    need = needed_width(width, reliable)
    return None if need is None else max(need, plateau_width(width))


def answer(width: pd.DataFrame | None, lot: pd.DataFrame | None, reliable: float) -> list[str]:
    """The measured answer to "how big should my network be?", one bullet per dataset and
    a last one over all datasets."""
    if width is None:
        return ["The width study did not run, so this section cannot say how wide a network "
                "must be."]
    out, picks = [], []
    for name in _datasets(width):
        d = width[width.dataset == name].sort_values("width")
        need = needed_width(d, reliable)
        widest = d.iloc[-1]
        if need is None:
            out.append(f"**{name}**: no width trained reliably (>= {reliable:.0%} of seeds); "
                       f"the widest, {int(widest.width)}, succeeded in {_rate(widest)}.")
            continue
        plateau = plateau_width(d)
        pick = max(need, plateau)
        picks.append(pick)
        r = d[d.width == pick].iloc[0]
        narrow = d[d.width < need]
        lottery = "; ".join(f"width {int(x.width)}: {int(x.successes)}/{int(x.n)}"
                            for _, x in narrow.iterrows())
        text = (f"**{name}**: use at least **{pick} units** per hidden layer ({int(r.weights)} "
                f"weights). From width {need} on every width succeeds for at least "
                f"{reliable:.0%} of its seeds, and from width {plateau} on the median test "
                f"accuracy is within {MATCH_TOL} of the best median ({d.acc_median.max():.3f}).")
        if lottery:
            text += f" Narrower networks train only for some seeds ({lottery})."
        text += (f" Width {int(widest.width)} ({int(widest.weights)} weights, "
                 f"{widest.weights / r.weights:.0f}x as many) is no better: median "
                 f"{widest.acc_median:.3f} against {r.acc_median:.3f}.")
        if lot is not None and (lot.dataset == name).any():
            ld = lot[lot.dataset == name]
            ref = dense_reference(ld)
            t, _ = match_density(ld, "ticket")
            s_, _ = match_density(ld, "dense")
            text += (f" Pruning a width-{int(ref.width)} network keeps its accuracy down to "
                     f"about {t * ref.weights:.0f} weights as a winning ticket; dense networks "
                     f"from scratch match it down to about {s_ * ref.weights:.0f} weights.")
        out.append(text)
    if picks:
        out.append(f"**In short**: for these problems two hidden layers of **{max(picks)} "
                   "units** are big enough: narrower networks fail for some seeds, wider ones "
                   "cost more arithmetic for no accuracy.")
    return out


# ---------------------------------------------------------------- the section


def _protocol_text(settings: dict) -> str:
    t = settings["train"]
    sets = ", ".join(f"{d['name']} (noise {d['noise']}, success: test accuracy >= "
                     f"{d['success']})" for d in settings["datasets"])
    data = settings["data"]
    return (
        f"Networks: {t['depth']} hidden ReLU layers of equal width, {t['init']} initial "
        f"weights, {t['optimizer']} (learning rate {t['lr']}), batch size {t['batch_size']}, "
        f"{t['epochs']} epochs, binary cross-entropy. Data: {sets}; {data['n_samples']} "
        f"points each, {data['test_fraction']:.0%} held out for testing, and "
        f"{data['validation_fraction']:.0%} of the rest for validation (early stopping). "
        "All accuracies are final test accuracies; success thresholds were fixed in "
        "params.yaml before the runs." + (" **Quick setting** (`size.quick: true`): fewer "
                                          "widths and seeds than the default."
                                          if settings.get("quick") else "")
    )


def render_section(tables: dict[str, pd.DataFrame], studies: Sequence[str], settings: dict,
                   rel: str = "figures/size") -> str:
    width = tables.get("size_width")
    dead = tables.get("size_dead")
    lot = tables.get("size_lottery")
    st = tables.get("size_structured")
    live = tables.get("size_structured_live")
    reliable = float(settings["width"]["reliable"])
    tau = float(settings["dead"]["tau"])
    claims = [
        claim_big_trains(width, reliable),
        claim_many_dead(dead),
        claim_cut_cannot_train(dead, width, st, live, reliable),
        claim_tickets(lot),
        claim_tickets_faster(lot),
        claim_ticket_beats_small_dense(lot),
        claim_structured(st, reliable),
    ]
    number = {c.key: i for i, c in enumerate(claims, 1)}
    by_key = {c.key: c for c in claims}

    out = [
        "## How big should the network be?",
        "",
        "The lecture closes with a paradox: a big network trains where a small one cannot; "
        "many units of the big network end up dead; yet cut them away and the small network "
        "can't train. The Lottery Ticket Hypothesis says the big network hides a small "
        "trainable one. Here each step is measured over many seeds, with the controls the "
        "pruning literature uses, and each claim gets a verdict by a rule stated next to it "
        "(supported: every check passes; partly: some pass; not supported: none passes; not "
        "tested: its sub-study did not run).",
        "",
        _protocol_text(settings),
        "",
        markdown_table(["#", "claim", "verdict", "evidence"],
               [[str(number[c.key]), c.statement, f"**{c.verdict}**",
                 f"{c.headline} ({c.tally})" if c.checks else c.tally] for c in claims]),
        "",
        "### The answer for this problem",
        "",
        *[f"- {line}" for line in answer(width, lot, reliable)],
        "",
    ]

    out += ["### Width: does a big network train where a small one cannot?", ""]
    if width is not None:
        n = sorted(set(width.n.astype(int)))
        seeds = f"{n[0]} seeds" if len(n) == 1 else f"{n[0]} to {n[-1]} seeds"
        out += [
            f"Every width is trained from {seeds} (more where the outcome is noisy, fewer "
            "where training is expensive); all seeds of a width train together in one batched "
            "job.",
            "",
            _fig(rel, "width_success.png", "success rate vs width",
                 "share of seeds whose final test accuracy reaches the threshold, with Wilson "
                 "95% intervals. Look for: the width where the curve reaches 1 and stays."),
            "",
            _fig(rel, "width_accuracy.png", "test accuracy vs width",
                 "every seed's final test accuracy (grey), median and interquartile range. "
                 "Look for: how far the failures of narrow networks fall, and whether wide "
                 "networks lose anything."),
            "",
            _fig(rel, "width_epochs.png", "epochs to 95% training accuracy vs width",
                 "epochs until 95% of the training points are classified right; seeds that "
                 "never get there are counted in red."),
            "",
            width_table(width),
            "",
        ]
    out += [render_claim(number["big-trains"], by_key["big-trains"]), ""]

    out += ["### Dead units: how much of a wide network is used?", ""]
    if dead is not None:
        d = settings["dead"]
        out += [
            "A unit is *activation-dead* if its ReLU is inactive on every fit point, "
            "*norm-dead* if its score ||incoming weights, bias|| x ||outgoing weights|| is "
            f"below tau x the largest score of its layer (tau = {tau:g}; the score is "
            "invariant to the rescaling a ReLU unit allows). Its *live* units are the rest; "
            "the effective width k_eff is the largest number of live units of any hidden "
            "layer (the narrowest equal-width network that holds them). Networks are trained "
            f"without regularization, with L2 ({d['l2']:g}) and with group lasso on units "
            f"(strength {d['group_lasso']:g}: a proximal step after every optimizer step "
            "shrinks each unit's incoming and outgoing weight groups).",
            "",
            _fig(rel, "dead_units.png", "dead units vs width",
                 "share of hidden units that are activation-dead (left) and norm-dead (right), "
                 "mean over seeds and layers, per regularizer."),
            "",
            _fig(rel, "dead_tau.png", "norm-dead share vs tau",
                 "how the norm-dead share depends on the threshold tau, at the widest width."),
            "",
            _fig(rel, "effective_width.png", "live units vs width",
                 "live units per hidden layer against width, with the narrowest width that "
                 "trains reliably from scratch. Look for: live units below that line (a "
                 "network that narrow would not train from scratch)."),
            "",
            dead_table(dead),
            "",
        ]
    out += [render_claim(number["many-dead"], by_key["many-dead"]), "",
            render_claim(number["cut-cannot-train"], by_key["cut-cannot-train"]), ""]

    out += ["### Lottery tickets: prune, rewind, retrain", ""]
    if lot is not None:
        lo = settings["lottery"]
        ref = dense_reference(lot)
        out += [
            f"Iterative magnitude pruning of a width-{lo['width']} network "
            f"({int(ref.weights)} weights), layer by layer: each round removes "
            f"{lo['rates']['hidden']:.0%} of the surviving weights between hidden layers and "
            f"{lo['rates']['first']:.0%} / {lo['rates']['output']:.0%} of the first and "
            "output layers' (biases are never pruned), then resets the survivors to their "
            f"initial values and retrains, until fewer than {_pct(lo['target_density'])} of "
            f"the weights remain; {lo['seeds']} seeds. Controls at every level: the same "
            f"mask with fresh random weights ({lo['reinit_draws']} draws), random masks with "
            "the same number of weights per layer (original initial weights), one-shot "
            "pruning of the trained dense network, rewinding to epoch "
            f"{lo['rewind_epoch']} instead of 0, and a dense network whose width gives the "
            "closest number of weights. Pruned weights are checked to be exactly zero after "
            "every training.",
            "",
            _fig(rel, "lottery_accuracy.png", "lottery ticket accuracy vs density",
                 "final test accuracy as pruning proceeds (log axis, dense on the left), "
                 "median and interquartile range over seeds, for every arm; dashed: the "
                 "dense network."),
            "",
            _fig(rel, "lottery_early_stop.png", "early-stopping epoch vs density",
                 "the epoch of minimum validation loss; earlier means faster learning."),
            "",
            _fig(rel, "lottery_weights.png", "accuracy vs number of weights",
                 "the same accuracies against the absolute number of weights, with dense "
                 "networks of every width from the width study (black). Look for: whether "
                 "sparse tickets sit above the dense curve at equal weight count."),
            "",
            lottery_table(lot),
            "",
        ]
    out += [render_claim(number["lottery-tickets"], by_key["lottery-tickets"]), "",
            render_claim(number["tickets-faster"], by_key["tickets-faster"]), "",
            render_claim(number["ticket-vs-small-dense"], by_key["ticket-vs-small-dense"]),
            ""]

    out += ["### Structured pruning: cut units, then fine-tune, rewind or start afresh", ""]
    if st is not None:
        s = settings["structured"]
        out += [
            f"A width-{s['width']} network trained with group lasso (strength "
            f"{s['group_lasso']:g}) is cut to its k highest-scoring live units per hidden "
            f"layer; then it is fine-tuned ({s['finetune_epochs']} epochs), or its kept "
            "units are reset to their initial weights and retrained, or a fresh width-k "
            f"network is trained from scratch; {s['seeds']} seeds, retraining without "
            "regularization.",
            "",
            _fig(rel, "structured.png", "structured pruning success vs k",
                 "success rate per arm against the number of units kept, with Wilson 95% "
                 "intervals; shaded: where the wide networks' live widths lie."),
            "",
            structured_table(st),
            "",
        ]
    out += [render_claim(number["cut-beats-scratch"], by_key["cut-beats-scratch"]), ""]

    out += ["### Where our numbers differ from the lecture and the paper", ""]
    out += differences(claims, tables, settings)
    text = "\n".join(out).rstrip() + "\n"
    for study in studies:
        for name in FIGURES[study]:
            assert f"({rel}/{name})" in text, f"figure {name} not linked"
    return text


def _explain_cut(dead, width, st, live, reliable) -> str:
    parts = []
    if dead is not None and width is not None:
        main = dead[dead.main_tau]
        for name in _datasets(main):
            d = main[main.dataset == name]
            need = needed_width(width[width.dataset == name], reliable)
            none = d[d.regularizer == "none"].sort_values("width")
            if none.empty or need is None:
                continue
            top = none.iloc[-1]
            layers = [f"{top[c]:g}" for c in sorted(top.index) if c.startswith("live_median_")]
            parts.append(f"without regularization the width-{int(top.width)} {name} networks "
                         f"keep {' and '.join(layers)} live units in their hidden layers, far "
                         f"more than the {need} that train reliably")
    if live is not None and len(live):
        layer_cols = sorted(c for c in live.columns if c.startswith("live_"))
        per_layer = " and ".join(f"{live[c].median():g}" for c in layer_cols)
        parts.append(f"even group lasso leaves a median of {per_layer} live units per layer in "
                     "the wide networks of the structured-pruning study, and networks of their "
                     "live width train from scratch")
    text = "Dead units are real, but what stays alive is still wide: " + "; ".join(parts)
    return text + (". The lecture's \"can't train\" holds only for networks cut below the "
                   "narrowest reliable width, whatever they were cut from (see the "
                   "structured-pruning table).")


def _explain_tickets(lot) -> str:
    out = []
    for name in _datasets(lot):
        d = lot[lot.dataset == name]
        t, r, p = (match_density(d, a)[0] for a in ("ticket", "reinit", "random"))
        out.append(f"{name}: ticket {_pct(t)}, random re-init {_pct(r)}, random pruning "
                   f"{_pct(p)}")
    return ("Tickets keep the dense accuracy far longer than random pruning, but re-"
            "initializing the ticket's mask with fresh weights comes close (matching "
            f"densities: {'; '.join(out)}): here the mask carries most of the ticket's "
            "advantage, not the initial values (Zhou et al., arXiv 1905.01067, likewise found "
            "the mask and the signs of the initial weights to matter most).")


def _explain_structured(st, reliable) -> str:
    fixed = st[st.target == "fixed"]
    best = None
    for (name, k), g in fixed.groupby(["dataset", "k"]):
        arms = g.set_index("arm")
        if not {"finetune", "scratch", "rewind"} <= set(arms.index):
            continue
        diff = arms.loc["finetune"].success_rate - arms.loc["scratch"].success_rate
        if best is None or diff > best[0]:
            best = (diff, name, int(k), arms)
    if best is None:
        return ""
    _, name, k, arms = best
    return (f"Cutting a wide network and fine-tuning it helps at most at the edge of "
            f"trainability (largest gain: {name}, k = {k}: fine-tuned "
            f"{_rate(arms.loc['finetune'])}, rewound {_rate(arms.loc['rewind'])}, from "
            f"scratch {_rate(arms.loc['scratch'])}); where no k-unit network trains, cutting "
            "does not rescue it, and where they all train there is nothing to rescue. Rewinding "
            "the kept units to their initial weights does about as well as a fresh start. Liu "
            "et al. found training the small architecture from scratch as good as fine-tuning "
            "for structured pruning; here fine-tuning keeps an edge only where training is "
            "marginal.")


def differences(claims: Sequence[Claim], tables: dict[str, pd.DataFrame], settings: dict
                ) -> list[str]:
    """One bullet per claim whose verdict is not "supported": the claim, our numbers, and
    (for the size claims that usually fail) what the numbers show instead."""
    reliable = float(settings["width"]["reliable"])
    width, dead = tables.get("size_width"), tables.get("size_dead")
    lot, st, live = (tables.get(k) for k in ("size_lottery", "size_structured",
                                              "size_structured_live"))
    lines = []
    for c in claims:
        if c.verdict in (SUPPORTED, NOT_TESTED):
            continue
        word = "only partly" if c.verdict == PARTLY else "not"
        lines.append(f"- *{c.statement}* This is {word} supported here ({c.tally}).")
        if c.key == "cut-cannot-train":
            lines.append("  " + _explain_cut(dead, width, st, live, reliable))
        elif c.key == "lottery-tickets" and lot is not None:
            lines.append("  " + _explain_tickets(lot))
        elif c.key == "tickets-faster" and lot is not None:
            es = lot[(lot.arm == "ticket") & (lot.level > 0)].early_stop_median.median()
            lines.append(
                "  The validation loss of almost every arm still falls late in training "
                f"(median early-stopping epoch of the tickets {es:g} of "
                f"{settings['train']['epochs']}), so on this problem the early-stopping epoch "
                "separates the arms little.")
        elif c.key == "ticket-vs-small-dense" and c.verdict == NOT_SUPPORTED:
            lines.append("  This agrees with Liu et al. (arXiv 1810.05270): at equal weight "
                         "count a small dense network trained from scratch does as well, so "
                         "what pruning finds here is a sparse network, not a better one.")
        elif c.key == "cut-beats-scratch" and st is not None:
            lines.append("  " + _explain_structured(st, reliable))
        else:
            lines.append(f"  Measured: {c.headline}.")
    if not lines:
        lines.append("- Every tested claim is supported by our runs.")
    return lines + [""]


def _num(x) -> float | None:
    return None if x is None or pd.isna(x) else round(float(x), 6)


def headline_metrics(tables: dict[str, pd.DataFrame], settings: dict) -> dict:
    """The study's answer in numbers, per dataset, for ``dvc exp show``."""
    reliable = float(settings["width"]["reliable"])
    out: dict[str, dict] = {}
    width, dead, lot = (tables.get(k) for k in ("size_width", "size_dead", "size_lottery"))
    if width is not None:
        for name in _datasets(width):
            d = width[width.dataset == name].sort_values("width")
            m = out.setdefault(name, {})
            m["needed_width"] = needed_width(d, reliable)
            m["recommended_width"] = recommended_width(d, reliable)
            m["success_narrowest"] = _num(d.success_rate.iloc[0])
            m["success_widest"] = _num(d.success_rate.iloc[-1])
    if dead is not None:
        main = dead[dead.main_tau & (dead.regularizer == "none")]
        for name in _datasets(main):
            top = main[main.dataset == name].sort_values("width").iloc[-1]
            out.setdefault(name, {})["dead_share_widest"] = _num(top.dead)
    if lot is not None:
        for name in _datasets(lot):
            d = lot[lot.dataset == name]
            m = out.setdefault(name, {})
            for arm in ("ticket", "reinit", "random", "dense"):
                m[f"matching_density_{arm}"] = _num(match_density(d, arm)[0])
    return {"size": out}


def write_section(tables_dir, studies: Sequence[str], settings_json: str, rel: str, out,
                  metrics=None) -> None:
    try:
        settings = json.loads(settings_json)
    except json.JSONDecodeError as e:
        raise InputError(f"--settings: not valid JSON ({e})") from None
    unknown = sorted(set(studies) - set(SUBSTUDIES))
    if unknown:
        raise InputError(f"unknown sub-studies {unknown}; known: {', '.join(SUBSTUDIES)}")
    tables = {}
    for study in studies:
        for name in TABLES[study]:
            tables[name] = read_csv(Path(tables_dir) / f"{name}.csv")
    write_text(out, render_section(tables, studies, settings, rel))
    if metrics:
        write_json(metrics, headline_metrics(tables, settings))
