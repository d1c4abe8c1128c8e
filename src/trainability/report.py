"""The markdown report, assembled: each study's section in the order of ``study.STUDIES``,
the claims of all of them at a glance, the setup, a summary and the provenance.

Nothing is measured here. Each study's section job wrote its markdown and, as JSON, its
claims with their checks (``results/sections/<study>.{md,json}``); the summary counts the
verdicts from the JSON, and ``metrics.json`` (what ``dvc exp show`` reads) gathers every
study's headline numbers and claims.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from trainability.claims import METHOD, VERDICTS, claim_metrics, verdict_rule
from trainability.io import InputError, write_json, write_text
from trainability.learns import POLICY, Learns
from trainability.markdown import num, render, table, verdict_counts
from trainability.provenance import collect_provenance
from trainability.study import single_precision

DATA = ("report.md.j2",)
TEMPLATE = Path(__file__).with_name("report.md.j2")


def read_json(path) -> dict:
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    try:
        if str(path).endswith((".yaml", ".yml")):
            import yaml  # only for --params given as a YAML file

            return yaml.safe_load(text) or {}
        return json.loads(text)
    except Exception as e:  # json.JSONDecodeError, yaml.YAMLError
        raise InputError(f"{path}: not readable ({e})") from None


def load_study(sections_dir, study: str) -> dict:
    """A study's section (markdown) and results (JSON: title, claims, sanity, metrics)."""
    md = Path(sections_dir) / f"{study}.md"
    try:
        text = md.read_text()
    except FileNotFoundError:
        raise InputError(f"{md}: file not found") from None
    results = read_json(md.with_suffix(".json"))
    missing = [k for k in ("title", "claims", "sanity", "metrics") if k not in results]
    if missing:
        raise InputError(f"{md.with_suffix('.json')}: missing {', '.join(missing)}")
    return {"name": study, "text": text.strip(), **results}


def merged_metrics(studies: list[dict]) -> dict:
    """One key per study: its headline numbers and, per claim, verdict and intervals."""
    out = {}
    for s in studies:
        out[s["name"]] = {**s["metrics"], "claims": claim_metrics(s["claims"])}
    return out


def _get(params: dict, *keys, default=None):
    for key in keys:
        if not isinstance(params, dict) or key not in params:
            return default
        params = params[key]
    return params


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
    rows, total = [], dict.fromkeys(VERDICTS, 0)
    for s in studies:
        counts = verdict_counts(s["claims"])
        rows.append([s["title"], len(s["claims"]), *counts.values()])
        for v, n in counts.items():
            total[v] += n
    return {"table": table(rows, ["study", "claims", *VERDICTS]), "total": total,
            "n_claims": sum(len(s["claims"]) for s in studies)}


def at_a_glance(studies: list[dict]) -> str:
    """Every claim and its verdict; with the robustness study, under how many of its
    variants of the lecture's setting the verdict is the same."""
    robust = next((s["metrics"] for s in studies if s["name"] == "robustness"), None)
    rows = []
    for s in studies:
        for c in s["claims"]:
            row = [s["title"], c["id"], c["statement"], f"**{c['verdict']}**"]
            if robust is not None:
                r = robust.get(c["key"])
                mine = r is not None and r["study"] == s["name"]
                row.append(f"same under {r['same_verdict']} of {r['variants']} variants"
                           if mine else "")
            rows.append(row)
    header = ["study", "#", "claim", "verdict"]
    return table(rows, header + (["where it holds (robustness)"] if robust else []))


def broken_sanity(studies: list[dict]) -> list[dict]:
    """Every sanity check that fails, with its study's title: shown before any claim."""
    return [{"study": s["title"], **check} for s in studies for check in s.get("sanity", [])
            if not check["ok"]]


def render_report(params: dict, studies: list[dict], provenance: dict) -> str:
    if not studies:
        raise InputError("no study sections given")
    central = next((c for s in studies if s["name"] == "grid" for c in s["claims"]
                    if c.get("key") == "minor-choices"), None)
    return render(TEMPLATE, {
        "studies": studies,
        "glance": at_a_glance(studies),
        "broken": broken_sanity(studies),
        "rule": verdict_rule(),
        "method": f"{METHOD} {POLICY} Throughout, {Learns.from_params(params).sentence()}.",
        "setup": setup(params),
        "summary": summary(studies),
        "central": central,
        "provenance": provenance,
        "packages": table(list(provenance.get("packages", {}).items()), ["package", "version"]),
        "params_json": json.dumps(params, indent=2, sort_keys=True),
        "num": num,
    })


def write_report(params: dict, sections_dir, study_names, out, metrics_out) -> None:
    studies = [load_study(sections_dir, name) for name in study_names]
    write_text(out, render_report(params, studies, collect_provenance()))
    write_json(metrics_out, merged_metrics(studies))
