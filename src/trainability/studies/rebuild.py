"""Workflow helpers the studies' rule files share: where a job's figures go, and how a lost
file gets rebuilt.

Snakemake does not remake a missing file that nothing out of date needs, so a deleted table
or figure would stay deleted while the section and the report that read it are up to date.
A study's rules therefore check, when the workflow is loaded, that its products exist and
that the run files its tables were built from (listed in a manifest under results/logs) are
intact, and remove what reads a lost file so that it reruns and asks for it. The manifests
are not versioned by DVC, so a DVC temp or queued experiment, or a fresh clone, rebuilds
the tables from the run files the current params name.
"""

from __future__ import annotations

import os


def output_dir(wildcards, output) -> str:
    """The folder of a job's first output (its figures folder)."""
    return os.path.dirname(output[0])


def rebuild_if_broken(intermediates, consumer) -> list[str]:
    """Remove ``consumer`` when one of the .npz ``intermediates`` is missing or corrupt (a
    truncated file, which is deleted), so the job that reads them reruns and asks for them;
    return the broken ones if that removed it (else ``[]``)."""
    from trainability.io import npz_intact

    broken = []
    for path in intermediates:
        if os.path.exists(path) and not npz_intact(path):
            os.remove(path)
            broken.append(f"{path} (corrupt)")
        elif not os.path.exists(path):
            broken.append(path)
    if broken and os.path.exists(consumer):
        os.remove(consumer)
        return broken
    return []


def rebuild_if_missing(outputs, consumers) -> list[str]:
    """Remove every existing file of ``consumers`` when one of ``outputs`` is missing;
    return the missing ones if that removed anything (else ``[]``)."""
    missing = [path for path in outputs if not os.path.exists(path)]
    removed = [path for path in consumers if missing and os.path.exists(path)]
    for path in removed:
        os.remove(path)
    return missing if removed else []


def rebuild_if_lost(manifest) -> list[str]:
    """The input files ``manifest`` lists (the ones the tables were built from) that are
    gone or corrupt (a truncated .npz is deleted): if any, remove ``manifest`` so the
    tables are rebuilt, and return them. Files the current parameters need but the tables
    never read are left to Snakemake (their jobs rerun the tables anyway), so a dry run
    with new parameters changes nothing."""
    from trainability.io import npz_intact

    try:
        with open(manifest) as f:
            listed = [line.strip() for line in f if line.strip()]
    except FileNotFoundError:
        return []
    lost = []
    for path in listed:
        if not os.path.exists(path):
            lost.append(path)
        elif path.endswith(".npz") and not npz_intact(path):
            os.remove(path)
            lost.append(f"{path} (corrupt)")
    if lost:
        os.remove(manifest)
    return lost
