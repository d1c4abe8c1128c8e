"""Provenance of a report: git revision, package versions, when the pipeline ran."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

PACKAGES = ("numpy", "scipy", "pandas", "matplotlib", "seaborn", "scikit-learn", "jinja2",
            "snakemake", "dvc")


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
