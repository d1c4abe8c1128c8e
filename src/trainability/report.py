"""The markdown report, assembled: the answers to the lecture's questions first, the claims
at a glance, each study's section in the order of ``study.STUDIES``, and the appendices.

Nothing is measured here. Each study's section job wrote its main text, its appendix and,
as JSON, its claims with their checks and the facts the answers read
(``results/sections/<study>.{md,json}``, ``results/appendix/<study>.md``). Every sentence
of the answers is chosen in ``report.md.j2`` by those results; ``metrics.json`` (what
``dvc exp show`` reads) keeps each claim's verdict and headline under its stable name.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import yaml

from trainability.anchors import Slugger, slug
from trainability.claims import (
    METHOD,
    NOT_SUPPORTED,
    SUPPORTED,
    VERDICTS,
    Check,
    claim_metrics,
    verdict_rule,
)
from trainability.io import InputError, write_json, write_text
from trainability.learns import POLICY, Learns
from trainability.markdown import (
    ROBUSTNESS_MARK,
    dedupe_captions,
    num,
    render,
    table,
    verdict_counts,
)
from trainability.provenance import collect_provenance
from trainability.study import single_precision

DATA = ("report.md.j2", "method.md.j2")
TEMPLATE = Path(__file__).with_name("report.md.j2")
METHOD_TEMPLATE = Path(__file__).with_name("method.md.j2")


def read_json(path) -> dict:
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    try:
        if str(path).endswith((".yaml", ".yml")):
            return yaml.safe_load(text) or {}
        return json.loads(text)
    except Exception as e:  # json.JSONDecodeError, yaml.YAMLError
        raise InputError(f"{path}: not readable ({e})") from None


def load_study(sections_dir, study: str) -> dict:
    """A study's section (markdown) and results (JSON: title, claims, sanity, metrics,
    facts)."""
    md = Path(sections_dir) / f"{study}.md"
    try:
        text = md.read_text()
    except FileNotFoundError:
        raise InputError(f"{md}: file not found") from None
    results = read_json(md.with_suffix(".json"))
    missing = [k for k in ("title", "claims", "sanity", "metrics") if k not in results]
    if missing:
        raise InputError(f"{md.with_suffix('.json')}: missing {', '.join(missing)}")
    heading = next((line[3:] for line in text.splitlines() if line.startswith("## ")),
                   results["title"])
    return {"name": study, "text": text.strip(), "facts": {}, "anchor": slug(heading),
            **results}


def as_check(d: dict | None) -> Check | None:
    """A check as a section's JSON holds it, back as a ``Check`` (its formatting)."""
    if d is None:
        return None
    values = {k: math.nan if d[k] is None else d[k] for k in ("effect", "lo", "hi", "threshold")}
    return Check(d["what"], values["effect"], values["lo"], values["hi"], d["n"],
                 values["threshold"], d["side"], d["measure"], d.get("detail", ""),
                 d.get("digits", 3), d.get("signed", False))


class Found:
    """The studies' results, by study and claim name, for the answers: a missing study or
    claim is None, so a sentence about it is left out."""

    def __init__(self, studies: list[dict]):
        self.studies = {s["name"]: s for s in studies}

    def claim(self, study: str, key: str) -> dict | None:
        s = self.studies.get(study)
        found = next((c for c in s["claims"] if c["key"] == key), None) if s else None
        if found is None:
            return None
        checks = [as_check(c) for c in found["checks"]]
        weakest = min(checks, key=lambda c: c.margin) if checks else None
        return {**found, "study": study, "href": f"#{s['anchor']}", "weakest": weakest,
                "by_what": {c.what: c for c in checks}}

    def facts(self, study: str) -> dict:
        s = self.studies.get(study)
        return s.get("facts", {}) if s else {}


def answers(studies: list[dict]) -> dict:
    """What the first screen words: per question, the claims and facts it reads."""
    found = Found(studies)
    grid, robust = found.facts("grid"), found.facts("robustness")
    accuracy = {k: as_check(v) for k, v in grid.get("accuracy", {}).items()}
    init, width = grid.get("init"), grid.get("width")

    def acc(activation, i=None, w=None):
        return accuracy.get(f"{activation}/{i or init}/w{w or width}")

    where = robust.get("where", {})
    ablation = [as_check(c) for c in robust.get("ablation", [])]
    by_width = grid.get("verdicts_by_width", {})
    return {
        "found": found, "init": init, "width": width, "acc": acc,
        "href": {s["name"]: f"#{s['anchor']}" for s in studies},
        "widths": grid.get("widths", []),
        "lags_by_width": {int(w): v["sigmoid-lags"]
                          for w, v in sorted(by_width.items(), key=lambda wv: int(wv[0]))
                          if "sigmoid-lags" in v},
        "where": where, "variants": robust.get("variants", 0),
        "ceiling": robust.get("ceiling"),
        "changes": robust.get("changes", {}),
        "lifts": [c for c in ablation if c.passed],
        "no_lift": [c for c in ablation if c.failed],
        "undecided": [c for c in ablation if not (c.passed or c.failed)],
        "saturation": as_check(robust.get("saturation")),
        "signal_weak": next((as_check(c) for c in robust.get("signal", {}).get("weak", [])),
                            None),
        "signal_grows": [as_check(c) for c in robust.get("signal", {}).get("grows", [])
                         if c["lo"] is not None and as_check(c).passed],
        "vanishing_yet_learns": robust.get("vanishing_yet_learns", []),
        "floorless": robust.get("floorless", []),
        "grid_sanity": next((s for s in studies if s["name"] == "grid"), {}).get("sanity", []),
    }


def robustness_sentence(where: dict, variants: int) -> str:
    """Under how many one-factor variants a claim keeps its verdict, and which change it."""
    if not where or not variants:
        return ""
    breaks = where["breaks"]
    if not breaks:
        return (f"Robustness: the same verdict under all {variants} one-factor variants of "
                "the lecture's setting.")
    changed = ", ".join(f"{b['variant']} ({b['verdict']})" for b in breaks)
    return (f"Robustness: the same verdict under {len(where['same'])} of {variants} "
            f"one-factor variants of the lecture's setting; another under {changed}.")


def with_robustness(studies: list[dict]) -> list[dict]:
    """Each claim the robustness study judges gets its robustness sentence in its own
    section's summary (the mark the summary leaves); other marks are removed."""
    robust = Found(studies).facts("robustness")
    where, variants = robust.get("where", {}), robust.get("variants", 0)
    out = []
    for s in studies:
        text = s["text"]
        for c in s["claims"]:
            mark = ROBUSTNESS_MARK.format(c["key"])
            w = where.get(c["key"])
            mine = w is not None and w["study"] == s["name"]
            text = text.replace(mark, robustness_sentence(w, variants) if mine else "")
        out.append({**s, "text": text})
    return out


def merged_metrics(studies: list[dict]) -> dict:
    """For ``dvc exp show``: per study, each claim's verdict and headline under its stable
    name; and a few headline numbers (the running example's test accuracies)."""
    out = {"claims": {s["name"]: claim_metrics(s["claims"]) for s in studies}}
    a = answers(studies)["acc"]
    headline = {}
    for activation in ("relu", "sigmoid", "tanh"):
        check = a(activation)
        if check is not None:
            headline[f"{activation}_test_acc"] = round(check.effect, 6)
    bn = Found(studies).claim("batchnorm", "bn-rescues-sigmoid")
    if bn and bn["checks"] and bn["checks"][0]["effect"] is not None:
        headline["sigmoid_bn_test_acc"] = round(bn["checks"][0]["effect"], 6)
    grid = next((s["metrics"] for s in studies if s["name"] == "grid"), {})
    if "mean_test_acc" in grid:  # over every cell: moves with any parameter
        headline["grid_mean_test_acc"] = grid["mean_test_acc"]
    headline["claims_supported"] = sum(c["verdict"] == SUPPORTED for s in studies
                                       for c in s["claims"])
    lecture = next((s["metrics"] for s in studies if s["name"] == "lecture"), {})
    if "outside" in lecture:  # the lecture's read-off values beyond every seed of ours
        headline["lecture_values_outside"] = lecture["outside"]
    out["headline"] = headline
    return out


def setup(params: dict) -> dict:
    """The running example's settings, for the Setup section."""
    data, model, train = params["data"], params["model"], params["train"]
    grid = params.get("grid", {})
    n_test = int(round(data["n_samples"] * data["test_fraction"]))
    n_train = data["n_samples"] - n_test
    return {
        "data": data, "model": model, "train": train,
        "n_train": n_train, "n_test": n_test, "test_point": 1 / n_test,
        "steps_per_epoch": math.ceil(n_train / train["batch_size"]),
        "grid": grid,
        "float32_widths": sorted(w for w in set(grid.get("widths", [])) | {model["width"]}
                                 if single_precision(w, grid.get("float32_from"))),
    }


def summary(studies: list[dict]) -> dict:
    """How many claims got each verdict, over every study."""
    total = dict.fromkeys(VERDICTS, 0)
    for s in studies:
        for v, n in verdict_counts(s["claims"]).items():
            total[v] += n
    return {"total": total, "n_claims": sum(len(s["claims"]) for s in studies)}


def at_a_glance(studies: list[dict]) -> str:
    """Every claim: what the lecture says, the verdict at the lecture's setting, the
    headline (weakest check) with its interval, where it holds (the robustness study's
    variants) and a link to its section."""
    found = Found(studies)
    robust = found.facts("robustness")
    where, variants = robust.get("where", {}), robust.get("variants", 0)
    rows = []
    for s in studies:
        for c in s["claims"]:
            claim = found.claim(s["name"], c["key"])
            head = claim["weakest"]
            w = where.get(c["key"])
            holds = (f"same under {len(w['same'])} of {variants}"
                     if w is not None and w["study"] == s["name"] and variants else "")
            rows.append([f"[{c['id']}](#{s['anchor']})", c["statement"], c["source"],
                         f"**{c['verdict']}**",
                         f"{head.what}: {head.shown}" if head else "no check", holds])
    header = ["#", "claim", "the lecture says", "verdict", "headline: weakest check [95%]"]
    if where:
        header.append("where it holds (one-factor variants)")
    else:
        rows = [r[:-1] for r in rows]
    return table(rows, header)


def broken_sanity(studies: list[dict]) -> list[dict]:
    """Every sanity check that fails, with its study's title: shown before any claim."""
    return [{"study": s["title"], **check} for s in studies for check in s.get("sanity", [])
            if not check["ok"]]


def context(params: dict, studies: list[dict], provenance: dict) -> dict:
    if not studies:
        raise InputError("no study sections given")
    studies = with_robustness(studies)
    return {
        "studies": studies,
        "answers": answers(studies),
        "glance": at_a_glance(studies),
        "broken": broken_sanity(studies),
        "rule": verdict_rule(),
        "method": f"{METHOD} {POLICY} Throughout, {Learns.from_params(params).sentence()}.",
        "setup": setup(params),
        "summary": summary(studies),
        "provenance": provenance,
        "packages": table(list(provenance.get("packages", {}).items()), ["package", "version"]),
        "num": num, "SUPPORTED": SUPPORTED, "NOT_SUPPORTED": NOT_SUPPORTED,
    }


LOCAL_LINK = re.compile(r"\[([^\]]+)\]\(#([^)\s]+)\)")


def without_dangling_links(text: str) -> str:
    """A link to a heading this text does not have (a section of a study switched off in
    params.yaml) becomes its plain words."""
    slugger = Slugger()
    headings = {slugger.slug(line.lstrip("#").strip()) for line in text.splitlines()
                if line.startswith("#")}
    return LOCAL_LINK.sub(lambda m: m[0] if m[2] in headings else m[1], text)


def render_report(params: dict, studies: list[dict], provenance: dict) -> tuple[str, str]:
    """The report's main text and its method appendix (``appendix/method.md``)."""
    ctx = context(params, studies, provenance)
    main = without_dangling_links(dedupe_captions(render(TEMPLATE, ctx)))
    return main, render(METHOD_TEMPLATE, ctx)


def write_report(params: dict, sections_dir, study_names, out, metrics_out) -> None:
    studies = [load_study(sections_dir, name) for name in study_names]
    main, method = render_report(params, studies, collect_provenance())
    write_text(Path(out).parent / "appendix" / "method.md", method)
    write_text(out, main)
    write_json(metrics_out, merged_metrics(studies))
