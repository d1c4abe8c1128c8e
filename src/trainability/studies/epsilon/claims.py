"""The epsilon study's claims, one function each.

Every accuracy is a final (last-epoch) test accuracy per seed, a diverged seed scored by
the report's one policy (``scoring.per_seed``: as a constant guess of the test set's larger
class, never dropped). All settings of a network share their seeds' initial weights and
batch order, so every comparison between two settings is paired by seed.

"The same" is an equivalence: the mean paired difference lies within ``SAME`` of zero.
Its check measures ``|mean difference|`` with the 95% interval of ``|mu|`` that the
bootstrap interval ``[lo, hi]`` of the mean difference implies: ``[lo, hi]`` if it lies
above 0, ``[-hi, -lo]`` if below, ``[0, max(-lo, hi)]`` if it straddles 0. The check passes
when the whole interval ``[lo, hi]`` lies within ``[-SAME, SAME]`` and fails when it lies
wholly outside it (the two one-sided tests in one check).

A shift of at least ``SHIFT`` can show only where there is room for it: a raise where the
network it starts from averages at most ``1 - SHIFT`` (an accuracy is at most 1), a fall
where that network has learned something (``scoring.Learns``). Elsewhere the shift is a
no-harm check (``Claim.guards``): it must not go the other way by more than ``SAME``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from trainability import scoring
from trainability.claims import (
    AT_LEAST,
    AT_MOST,
    Check,
    Claim,
    Sanity,
    bootstrap_mean,
    mean_check,
    number,
    paired,
    paired_check,
)
from trainability.data import load_dataset
from trainability.scoring import Guess, Learns
from trainability.studies.epsilon.spec import (
    LECTURE_EPS,
    LECTURE_OPTIMIZER,
    PREFIX,
)
from trainability.studies.epsilon.tables import network_label

SHIFT = 0.05  # "changes the test accuracy": by at least 0.05
SAME = 0.02  # "does not change it": the mean paired difference within 0.02 of zero
SIGMOID = "sigmoid"
MEASURE = "difference in test accuracy"
SAME_MEASURE = "|difference in test accuracy|"
FLOOR_MEASURE = "mean log10 of the layer-1 RMS gradient entry at init"


def has_eps(eps_list, value: float) -> bool:
    return any(math.isclose(e, value, rel_tol=1e-9) for e in eps_list)


def guess(spec) -> Guess:
    """A constant guess of the test set's larger class: what a diverged seed scores."""
    return Guess.of(load_dataset(spec.dataset).y_test)


def rows(runs: pd.DataFrame, network, optimizer: str, convention: str,
         eps: float) -> pd.DataFrame:
    """One network's models in one setting, in seed order."""
    activation, init, width = network
    sel = runs[(runs.activation == activation) & (runs["init"] == init)
               & (runs.width == width) & (runs.optimizer == optimizer)
               & (runs.eps_convention == convention)
               & np.isclose(runs.eps, eps, rtol=1e-9, atol=0)]
    return sel.sort_values("seed")


def per_seed(models: pd.DataFrame, guess: Guess, column: str = "test_acc") -> pd.Series:
    """``column`` per seed of ``models`` (one setting's), a diverged seed scored as
    ``guess``."""
    return scoring.per_seed(models, column, guess)


def _summary(name: str, models: pd.DataFrame, guess: Guess) -> str:
    return f"{name} " + scoring.summary(per_seed(models, guess),
                                        int((models.status != "ok").sum()))


def same_check(what: str, a: pd.DataFrame, b: pd.DataFrame, guess: Guess,
               tolerance: float = SAME, *, names=("a", "b")) -> Check:
    """``|mean(a - b)| <= tolerance`` over two settings' models, paired by seed (module
    docstring)."""
    d = paired(per_seed(a, guess), per_seed(b, guess))
    mean, lo, hi, n = bootstrap_mean(d)
    if lo >= 0 or hi <= 0:  # abs(): no "-0.000" for an end at zero
        abs_lo, abs_hi = sorted((abs(lo), abs(hi)))
    else:
        abs_lo, abs_hi = 0.0, max(-lo, hi)
    detail = (f"{names[0]} - {names[1]} {mean:+.3f} [{lo:+.3f}, {hi:+.3f}]; "
              f"{_summary(names[0], a, guess)}; {_summary(names[1], b, guess)}") if n else \
        "no pairs"
    return Check(what, abs(mean), abs_lo, abs_hi, n, tolerance, AT_MOST, SAME_MEASURE, detail)


def shift_check(what: str, a: pd.DataFrame, b: pd.DataFrame, guess: Guess, room: bool,
                names: tuple[str, str]) -> tuple[Check, bool]:
    """``a - b >= SHIFT`` paired by seed where ``room`` says the shift can show, else the
    no-harm check ``a - b >= -SAME``; and whether it is the informative one."""
    return paired_check(what, per_seed(a, guess), per_seed(b, guess),
                        SHIFT if room else -SAME, AT_LEAST, MEASURE,
                        detail=f"{_summary(names[0], a, guess)}; "
                        f"{_summary(names[1], b, guess)}"), room


def can_rise(models: pd.DataFrame, guess: Guess) -> bool:
    """Whether a raise of ``SHIFT`` can show from these models: they average at most
    1 - SHIFT."""
    return float(per_seed(models, guess).mean()) <= 1.0 - SHIFT


def can_fall(models: pd.DataFrame, guess: Guess, learns: Learns) -> bool:
    """Whether a fall of ``SHIFT`` can show from these models: they have learned something
    (a network that learned nothing has nothing to lose)."""
    return float(per_seed(models, guess).mean()) > learns.nothing(guess.accuracy)


def _add(claim: Claim, check: Check, informative: bool) -> None:
    (claim.checks if informative else claim.guards).append(check)


def _lecture_ready(spec, optimizer: str = LECTURE_OPTIMIZER) -> str:
    """Why the lecture's setting cannot be compared, or "" if it can."""
    if optimizer not in spec.optimizers:
        return f"{optimizer} is not among epsilon.optimizers"
    if not has_eps(spec.eps, LECTURE_EPS):
        return f"the lecture's eps {LECTURE_EPS:g} is not among epsilon.eps"
    if not {"keras", "pytorch"} <= set(spec.conventions):
        return "epsilon.conventions does not have both keras and pytorch"
    return ""


def _convention_checks(claim: Claim, runs, networks, guess: Guess, shift: bool,
                       optimizer: str = LECTURE_OPTIMIZER) -> None:
    """PyTorch's convention against Keras' at the lecture's eps, per network: a raise of
    ``SHIFT`` (``shift``; a no-harm check where Keras' leaves no room) or the same."""
    for net in networks:
        a, b = (rows(runs, net, optimizer, c, LECTURE_EPS) for c in ("pytorch", "keras"))
        if shift:
            _add(claim, *shift_check(network_label(*net), a, b, guess, can_rise(b, guess),
                                     ("pytorch", "keras")))
        else:
            claim.checks.append(same_check(network_label(*net), a, b, guess,
                                           names=("pytorch", "keras")))


def _no_room(claim: Claim, why: str) -> None:
    """The note of a claim whose every shift became a no-harm check."""
    if claim.guards and not claim.checks:
        claim.note = why


# ---------------------------------------------------------------- the claims


KERAS_UNKNOWN = ("where eps sits depends on the Keras version, which the lecture does not "
                 "name (inside the root in Keras 3 and tf.keras from 2.11, outside up to 2.10)")
NO_RISE = (f"Where Keras' convention already averages above {1 - SHIFT:.2f}, no raise of "
           f"{SHIFT} is possible: the check is then a no-harm one (PyTorch's convention "
           f"costs at most {SAME}).")


def sigmoid_shift(spec, runs, guess: Guess) -> Claim:
    claim = Claim(
        "", "convention-sigmoid",
        "With the optimizer we take for the lecture's (RMSprop, eps 1e-7), putting eps "
        "outside the square root (PyTorch) instead of inside (Keras 3) raises the running "
        f"example's sigmoid network's test accuracy by at least {SHIFT}.",
        f"not in the lecture, which trains with Keras: {KERAS_UNKNOWN}. It shows the sigmoid "
        "network creeping to about 0.7 training accuracy.",
        f"the sigmoid network of the running example ({spec.init}, width {spec.width}), "
        f"RMSprop with eps {LECTURE_EPS:g}: its test accuracy under PyTorch's convention "
        f"minus Keras', paired by seed, is at least {SHIFT}. {NO_RISE}",
    )
    nets = [n for n in spec.running() if n[0] == SIGMOID]
    claim.note = _lecture_ready(spec) or (
        "" if nets else "sigmoid is not among epsilon.activations")
    if not claim.note:
        _convention_checks(claim, runs, nets, guess, shift=True)
        _no_room(claim, f"under Keras' convention the sigmoid network already averages above "
                        f"{1 - SHIFT:.2f}: no raise of {SHIFT} is possible")
    return claim


def others_same(spec, runs, guess: Guess) -> Claim:
    claim = Claim(
        "", "convention-others",
        "With the same optimizer settings, the convention does not change the test accuracy "
        "of the networks of the other activations (relu, tanh, ...).",
        "not in the lecture (its relu and tanh networks reach about 0.99 with Keras).",
        f"one check per network of another activation than sigmoid (the running example's "
        f"and the further cells), RMSprop with eps {LECTURE_EPS:g}: the mean paired "
        f"difference PyTorch minus Keras lies within {SAME} of zero (both ends of its 95% "
        "interval).",
    )
    nets = [n for n in spec.networks() if n[0] != SIGMOID]
    claim.note = _lecture_ready(spec) or ("" if nets else "no network of another activation")
    if not claim.note:
        _convention_checks(claim, runs, nets, guess, shift=False)
    return claim


def cells_shift(spec, runs, guess: Guess) -> Claim:
    claim = Claim(
        "", "convention-cells",
        "In the further sigmoid cells (other initializers and widths), the convention changes "
        f"the test accuracy too: PyTorch's placement raises it by at least {SHIFT}.",
        "not in the lecture, which trains one network.",
        f"one check per sigmoid network of epsilon.cells (not the running example), RMSprop "
        f"with eps {LECTURE_EPS:g}: PyTorch minus Keras, paired by seed, is at least {SHIFT}. "
        f"{NO_RISE}",
    )
    running = set(spec.running())
    nets = [n for n in spec.networks() if n[0] == SIGMOID and n not in running]
    claim.note = _lecture_ready(spec) or ("" if nets else "no sigmoid cell in epsilon.cells")
    if not claim.note:
        _convention_checks(claim, runs, nets, guess, shift=True)
        _no_room(claim, f"under Keras' convention every sigmoid cell already averages above "
                        f"{1 - SHIFT:.2f}: no raise of {SHIFT} is possible")
    return claim


def layer1_gradients(gradients: pd.DataFrame, network) -> pd.Series:
    """Layer-1 RMS gradient entry at initialization per seed (one setting's rows: every
    setting starts from the same weights, which the sanity check confirms)."""
    activation, init, width = network
    rows = gradients[(gradients.activation == activation) & (gradients["init"] == init)
                     & (gradients.width == width) & (gradients.layer == 1)]
    first = rows[["optimizer", "eps_convention", "eps"]].iloc[:1]
    rows = rows.merge(first, on=["optimizer", "eps_convention", "eps"])
    return rows.set_index("seed").grad_rms.sort_index()


def gradients_floor(spec, gradients) -> Claim:
    floor = math.log10(math.sqrt(LECTURE_EPS))
    claim = Claim(
        "", "gradients-below-floor",
        f"At initialization, the sigmoid networks' layer-1 gradient entries are smaller than "
        f"sqrt(eps) = {math.sqrt(LECTURE_EPS):.1e} (eps {LECTURE_EPS:g}), the floor Keras' "
        "convention puts under RMSprop's denominator; the other networks' are larger.",
        "not in the lecture; its gradient figure shows the sigmoid network's first layers "
        "getting the smallest gradients.",
        "one check per network: the mean over seeds of log10 of the root mean square entry of "
        "the layer-1 weight gradient at initialization (full training set) is at most "
        f"log10 sqrt({LECTURE_EPS:g}) = {floor:.2f} for sigmoid networks and at least that "
        "for the others.",
    )
    for net in spec.networks():
        rms = layer1_gradients(gradients, net)
        side = AT_MOST if net[0] == SIGMOID else AT_LEAST
        # a gradient of exactly zero counts as the smallest one, not as missing
        logs = np.log10(np.maximum(rms.to_numpy(), np.finfo(float).tiny))
        claim.checks.append(mean_check(
            network_label(*net), logs, floor, side, FLOOR_MEASURE,
            detail=f"geometric mean {10 ** logs.mean():.1e} over {len(rms)} seeds",
            digits=2))
    claim.note = "no network"
    return claim


def larger_eps(spec) -> float | None:
    """The smallest eps of the study above the lecture's (None: there is none)."""
    return next((e for e in spec.eps if e > LECTURE_EPS * (1 + 1e-9)), None)


def keras_larger_eps(spec, runs, guess: Guess, learns: Learns) -> Claim:
    big = larger_eps(spec)
    shown = f"{big:g}" if big is not None else "a larger value"
    claim = Claim(
        "", "keras-larger-eps",
        f"Raising RMSprop's eps from {LECTURE_EPS:g} to {shown} lowers the sigmoid networks' "
        f"test accuracy by at least {SHIFT} under Keras' convention, and changes it by at "
        f"most {SAME} under PyTorch's.",
        "not in the lecture.",
        f"two checks per sigmoid network (RMSprop): its test accuracy at eps "
        f"{LECTURE_EPS:g} minus at {shown} under Keras' convention, paired by seed, is at "
        f"least {SHIFT}; under PyTorch's the mean paired difference lies within {SAME} of "
        f"zero. Where the network under Keras' convention at eps {LECTURE_EPS:g} has learned "
        f"nothing (a mean test accuracy at most {learns.chance_margin:g} above a constant "
        f"guess, {learns.nothing(guess.accuracy):.3f}), it has nothing to lose and the "
        f"contrast cannot show: its Keras check is then a no-harm one (the larger eps adds at "
        f"most {SAME}), and its PyTorch check is shown apart too (no support; a failure "
        f"counts against).",
    )
    nets = [n for n in spec.networks() if n[0] == SIGMOID]
    claim.note = (_lecture_ready(spec) or ("" if big is not None else
                  f"no eps above {LECTURE_EPS:g} in epsilon.eps")
                  or ("" if nets else "no sigmoid network"))
    if claim.note:
        return claim
    names = (f"eps {LECTURE_EPS:g}", f"eps {big:g}")
    for net in nets:
        label = network_label(*net)
        low, high = (rows(runs, net, LECTURE_OPTIMIZER, "keras", e) for e in (LECTURE_EPS, big))
        fall = can_fall(low, guess, learns)
        _add(claim, *shift_check(f"{label} keras", low, high, guess, fall, names))
        low, high = (rows(runs, net, LECTURE_OPTIMIZER, "pytorch", e)
                     for e in (LECTURE_EPS, big))
        # the claim is the contrast: without a fall to show, PyTorch's half is no support
        _add(claim, same_check(f"{label} pytorch", low, high, guess, names=names), fall)
    _no_room(claim, f"every sigmoid network has learned nothing under Keras' convention at "
                    f"eps {LECTURE_EPS:g}: no fall can show")
    return claim


def smaller_eps(spec) -> float | None:
    """The smallest eps of the study, if it is below the lecture's (None: none is)."""
    return spec.eps[0] if spec.eps and spec.eps[0] < LECTURE_EPS * (1 - 1e-9) else None


def keras_smaller_eps(spec, runs, guess: Guess) -> Claim:
    small = smaller_eps(spec)
    shown = f"{small:g}" if small is not None else "a smaller value"
    claim = Claim(
        "", "keras-smaller-eps",
        f"Under Keras' convention, lowering RMSprop's eps from {LECTURE_EPS:g} to {shown} "
        f"gives every network the test accuracy PyTorch's convention gives at "
        f"{LECTURE_EPS:g}.",
        "not in the lecture.",
        f"one check per network (RMSprop): the mean paired difference between Keras' "
        f"convention at eps {shown} and PyTorch's at {LECTURE_EPS:g} lies within {SAME} of "
        "zero.",
    )
    nets = spec.networks()
    claim.note = _lecture_ready(spec) or (
        "" if small is not None else f"no eps below {LECTURE_EPS:g} in epsilon.eps")
    if claim.note:
        return claim
    for net in nets:
        a = rows(runs, net, LECTURE_OPTIMIZER, "keras", small)
        b = rows(runs, net, LECTURE_OPTIMIZER, "pytorch", LECTURE_EPS)
        claim.checks.append(same_check(network_label(*net), a, b, guess,
                                       names=(f"keras {small:g}", f"pytorch {LECTURE_EPS:g}")))
    return claim


def adam_same(spec, runs, guess: Guess) -> Claim:
    claim = Claim(
        "", "adam-convention",
        "With Adam, where both libraries add eps outside the square root, the convention "
        "does not change any network's test accuracy.",
        "not in the lecture, which trains with RMSprop.",
        f"one check per network, Adam with eps {LECTURE_EPS:g}: the mean paired difference "
        f"PyTorch minus Keras lies within {SAME} of zero.",
    )
    claim.note = _lecture_ready(spec, "adam")
    if not claim.note:
        _convention_checks(claim, runs, spec.networks(), guess, shift=False, optimizer="adam")
    return claim


def evaluate(spec, tables) -> list[Claim]:
    runs, gradients = tables["runs"], tables["gradients"]
    test = guess(spec)
    claims = [sigmoid_shift(spec, runs, test), others_same(spec, runs, test),
              cells_shift(spec, runs, test), gradients_floor(spec, gradients),
              keras_larger_eps(spec, runs, test, Learns.of(spec)),
              keras_smaller_eps(spec, runs, test), adam_same(spec, runs, test)]
    return number(claims, PREFIX)


def sanity(spec, tables) -> list[Sanity]:
    """Every setting of a network starts from the same weights: its seeds' gradients at
    initialization are identical in every run file."""
    g = tables["gradients"]
    spread = g.groupby([*("activation", "init", "width", "seed", "layer")]).grad_rms.agg(
        lambda v: float(v.max() - v.min()))
    worst = float(spread.max()) if len(spread) else math.nan
    n_settings = len(spec.settings())
    return [Sanity(
        "same initial weights in every setting", worst, bool(len(spread)) and worst == 0.0,
        f"largest spread of a seed's per-layer gradient at initialization over the "
        f"{n_settings} settings: {worst:.1e}")]
