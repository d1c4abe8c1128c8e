"""The tweaks study's claims, one function each.

Every number a check judges is a final test accuracy per seed of a setting chosen on the
validation points (``choices.csv``), a diverged seed scoring a constant guess of the test
set's larger class: it counts as a network that learned nothing, not as a missing value.
"""

from __future__ import annotations

from trainability.claims import AT_LEAST, Claim, Sanity, mean_check, number
from trainability.studies.tweaks.selection import LEARNED, chosen, label
from trainability.studies.tweaks.spec import BASE, LECTURE, PREFIX
from trainability.studies.tweaks.tables import seed_scores

MEASURE = "mean test accuracy"


def _diverged(runs, activation, optimizer, variant, lr) -> str:
    status = seed_scores(runs, activation, optimizer, variant, lr, "status")
    n = int((status != "ok").sum())
    return f", {n} diverged (scored as chance)" if n else ""


def _check(runs, row, what: str):
    values = seed_scores(runs, row.activation, row.optimizer, row.variant, row.lr)
    detail = (f"validation {row.val_acc_mean:.3f}; {len(values)} seeds"
              + _diverged(runs, row.activation, row.optimizer, row.variant, row.lr))
    return mean_check(what, values.to_numpy(), LEARNED, AT_LEAST, MEASURE, detail=detail)


def every_optimizer(spec, runs, choices) -> Claim:
    target, lrs = spec.target, ", ".join(f"{r:g}" for r in spec.lrs)
    claim = Claim(
        "", "every-optimizer",
        f"Every optimizer lets the {target} network learn, at a suitable learning rate.",
        "it leaves the remedies to a follow-up on improving trainability and shows no numbers "
        f"for them; its own runs all use {LECTURE['optimizer']} at learning rate "
        f"{LECTURE['lr']:g}.",
        f"one check per optimizer: the learning rate (of {lrs}) with the highest mean "
        f"validation accuracy of the {target} network is chosen, and its mean test "
        f"accuracy over seeds is at least {LEARNED}; the claim is about every "
        "optimizer.",
        share=1.0,
    )
    for optimizer in spec.optimizers:
        row = chosen(choices, "best_lr", target, optimizer, BASE)
        if row is not None:
            claim.checks.append(_check(runs, row, label(optimizer, BASE, row.lr)))
    claim.note = f"no {target} network in the sweep"
    return claim


def variants_at_lecture_rate(spec, runs, choices) -> Claim:
    target, vo, lr = spec.target, spec.variant_optimizer, LECTURE["lr"]
    claim = Claim(
        "", "variant-at-lecture-lr",
        f"Each schedule, warm-up or L2 variant lets the {target} network learn with {vo} at "
        f"the lecture's learning rate ({lr:g}).",
        "not measured: the lecture's runs use a constant learning rate and no penalty.",
        f"one check per variant of {vo} (no choice involved): its mean test accuracy at "
        f"learning rate {lr:g} is at least {LEARNED}; the claim is about each "
        "variant.",
        share=1.0,
    )
    for variant in spec.variants:
        values = seed_scores(runs, target, vo, variant, lr)
        if len(values):
            base = seed_scores(runs, target, vo, BASE, lr)
            claim.checks.append(mean_check(
                label(vo, variant, lr), values.to_numpy(), LEARNED, AT_LEAST, MEASURE,
                detail=f"{vo} alone {base.mean():.3f}; {len(values)} seeds"
                + _diverged(runs, target, vo, variant, lr)))
    at_lecture = any(abs(r - lr) <= 1e-9 * lr for r in spec.lrs)
    claim.note = ("no variants configured" if at_lecture
                  else f"the learning rates do not include the lecture's {lr:g}")
    return claim


def one_setting(spec, runs, choices) -> Claim:
    acts = ", ".join(spec.activations)
    claim = Claim(
        "", "one-setting",
        f"One setting of optimizer, schedule and learning rate trains every activation "
        f"({acts}).",
        f"not shown: the lecture trains every activation with {LECTURE['optimizer']} at "
        f"learning rate {LECTURE['lr']:g}, where its sigmoid network reaches about 0.7 "
        "training accuracy.",
        "the setting (optimizer, variant, learning rate) whose lowest mean validation "
        "accuracy over the activations is highest is chosen; one check per activation: its "
        f"mean test accuracy with that setting is at least {LEARNED}; the claim is "
        "about every activation.",
        share=1.0,
    )
    for act in spec.activations:
        row = chosen(choices, "one_setting", act)
        if row is not None:
            what = f"{act}: {label(row.optimizer, row.variant, row.lr)}"
            claim.checks.append(_check(runs, row, what))
    claim.note = "no setting was run for every activation"
    return claim


def evaluate(spec, tables) -> list[Claim]:
    runs, choices = tables["runs"], tables["choices"]
    claims = [every_optimizer(spec, runs, choices),
              variants_at_lecture_rate(spec, runs, choices), one_setting(spec, runs, choices)]
    return number(claims, PREFIX)


def sanity(spec, tables) -> list[Sanity]:
    """Every configuration of an activation starts a seed from the same weights (what makes
    the comparisons paired by seed)."""
    starts = tables["starts"]
    out = []
    for act, g in starts.groupby("activation", sort=False):
        worst = float(g.max_abs_diff.max())
        out.append(Sanity(
            f"{act}: same initial weights per seed in every configuration", worst, worst == 0.0,
            f"{int(g.models.iloc[0])} models per seed; largest difference {worst:.1e}"))
    return out
