"""Command line: ``trainability <command> ...``; ``trainability <command> --help`` documents each.

Commands import only what they need, so a training job starts with NumPy alone.
Expected failures (bad arguments, missing or corrupt files, running out of memory) print
one line naming the problem and exit with status 2; outputs are written atomically, so a
failed job leaves none.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import re
import sys

from trainability import cost
from trainability.argtypes import optimizer_setting, positive_float, positive_int
from trainability.budget import human_bytes
from trainability.jobusage import USAGE_VARIABLE, usage_line
from trainability.study import STUDIES
from trainability.study import run as run_stage


def _add_dataset(sub):
    p = sub.add_parser("dataset", help="generate a train/test dataset (.npz)")
    p.add_argument("--name", default="circles", help="circles, moons, xor or spirals")
    p.add_argument("--n-samples", type=positive_int, default=1000)
    p.add_argument("--noise", type=float, default=0.1)
    p.add_argument("--factor", type=float, default=0.5, help="circles: inner/outer radius")
    p.add_argument("--test-fraction", type=float, default=0.2)
    p.add_argument("--scale", type=positive_float, default=1.0, help="multiply raw features")
    p.add_argument("--standardize", action="store_true", help="mean 0, std 1 (train stats)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="output .npz")
    p.set_defaults(func=_run_dataset)


def _run_dataset(args):
    from trainability.data import dataset_job  # NumPy (scikit-learn): only when it runs

    print(dataset_job(
        args.out, name=args.name, n_samples=args.n_samples, noise=args.noise,
        factor=args.factor, test_fraction=args.test_fraction, scale=args.scale,
        standardize=args.standardize, seed=args.seed,
    ))


def _add_train(sub):
    p = sub.add_parser(
        "train",
        help="train one batch of models: every initializer x seed of one architecture",
        description="Train one model per initializer and seed on a dataset written by "
        "`trainability dataset`, all in one batch, and write every per-epoch history, the "
        "initial and final parameters and the settings to one .npz (atomically).",
    )
    p.add_argument("--data", required=True, help="dataset .npz")
    p.add_argument("--out", required=True, help="output .npz")
    p.add_argument("--activation", default="relu")
    p.add_argument("--init", nargs="+", default=["random_normal"],
                   help="one or more initializers (models: init-major, then seeds)")
    p.add_argument("--init-scale", type=positive_float, default=1.0,
                   help="std of random_normal (and random_uniform's std)")
    p.add_argument("--classifier-init", help="the classifier's initializer (default: --init)")
    p.add_argument("--width", type=positive_int, default=5)
    p.add_argument("--depth", type=positive_int, default=4)
    p.add_argument("--batch-norm", type=positive_int, nargs="*", default=[],
                   help="hidden layers (1-based) followed by batch normalization")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--optimizer", default="rmsprop", help="sgd, momentum, nesterov, rmsprop, adam")
    p.add_argument("--lr", type=positive_float, nargs="+", default=[0.001],
                   help="one or more learning rates (models: init-major, then rate, then seed)")
    p.add_argument("--settings", type=optimizer_setting, nargs="+", default=[],
                   metavar="JSON", help='optimizer settings that replace the options\' for '
                   'some models, e.g. \'{"name": "adam", "eps": 1e-10}\': every initializer '
                   "trains under each (models: init-major, then setting, then rate, then seed)")
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--eps", type=positive_float, default=1e-7,
                   help="rmsprop and adam: the denominator's epsilon")
    p.add_argument("--eps-convention", default="keras",
                   help="rmsprop and adam: keras (sqrt(s + eps)) or pytorch (sqrt(s) + eps)")
    p.add_argument("--l2", type=float, default=0.0)
    p.add_argument("--schedule", default="constant", help="constant, step or cosine")
    p.add_argument("--warmup-epochs", type=int, default=0)
    p.add_argument("--batch-size", type=positive_int, default=32)
    p.add_argument("--epochs", type=positive_int, default=100)
    diagnostics = p.add_mutually_exclusive_group()
    diagnostics.add_argument("--no-diagnostics", dest="diagnostics", action="store_false",
                             help="record losses and accuracies only")
    diagnostics.add_argument("--diagnostic-epochs", type=int, nargs="+", metavar="EPOCH",
                             help="record per-layer statistics at these epochs only")
    p.add_argument("--train-metrics-epochs", type=int, nargs="+", metavar="EPOCH",
                   help="evaluate the whole training set at these epochs only (0 and the "
                   "last always; Keras-style running values are recorded every epoch)")
    p.add_argument("--checkpoint-every", type=int, default=0, metavar="N",
                   help="keep the first seed's parameters every N epochs, per initializer")
    p.add_argument("--validation-fraction", type=float, default=0.0, metavar="F",
                   help="hold out this share of the training points for validation "
                   "(history val_*); the test set is then evaluated after training only")
    p.add_argument("--float32", action="store_true", help="train in single precision")
    p.set_defaults(func=_run_train, calls=lambda args: [_train_kwargs(args)])


def _train_kwargs(args) -> dict:
    """``jobs.train_job``'s keyword arguments from parsed ``trainability train`` arguments."""
    lr = args.lr[0] if len(args.lr) == 1 else args.lr
    optimizer = dict(name=args.optimizer, lr=lr, momentum=args.momentum, eps=args.eps,
                     eps_convention=args.eps_convention, l2=args.l2, schedule=args.schedule,
                     warmup_epochs=args.warmup_epochs)
    diagnostics = args.diagnostics if args.diagnostic_epochs is None else args.diagnostic_epochs
    return dict(
        activation=args.activation, inits=args.init, width=args.width,
        depth=args.depth, seeds=args.seeds, init_scale=args.init_scale,
        classifier_init=args.classifier_init,
        batch_norm=args.batch_norm, optimizer=optimizer, settings=args.settings,
        epochs=args.epochs,
        batch_size=args.batch_size, diagnostics=diagnostics,
        train_metrics=True if args.train_metrics_epochs is None else args.train_metrics_epochs,
        checkpoint_every=args.checkpoint_every,
        validation_fraction=args.validation_fraction, float32=args.float32,
    )


def _run_train(args):
    from trainability.jobs import train_job  # the trainer (NumPy): only when it runs

    print(train_job(args.data, args.out, **_train_kwargs(args)))


class _Refusal(argparse.ArgumentParser):
    def error(self, message):
        raise ValueError(message)


def train_kwargs(argv) -> dict:
    """``jobs.train_job``'s keyword arguments from the arguments of ``trainability train``
    but ``--data`` and ``--out`` (what a rule's ``params`` pass), as the command would call
    it: what the cost model (``cost.train_cost``) reads. Bad arguments: ValueError."""
    return job_calls(["train", *argv])[0]


def job_calls(argv) -> list[dict]:
    """The trainer calls ``trainability <argv>`` makes, each as ``jobs.train_job``'s keyword
    arguments (``cost.calls_cost`` reads them); the paths it reads and writes may be left
    out. A command that trains nothing: []. Bad arguments, or a command the cost model
    does not know: ValueError."""
    argv = [str(a) for a in argv]
    parser, commands = _parser(_Refusal)
    if not argv or argv[0] not in commands.choices:
        raise ValueError(f"not a trainability command: {' '.join(argv[:1])!r}")
    given = set(argv)
    for action in commands.choices[argv[0]]._actions:  # paths are not part of the cost
        if action.required and action.option_strings and not given & set(action.option_strings):
            argv += [action.option_strings[0], "-"]
    args = parser.parse_args(argv)
    if not hasattr(args, "calls"):
        raise ValueError(f"trainability {argv[0]}: no cost model for this command")
    return args.calls(args)


def _add_study(sub, study):
    p = sub.add_parser(study, help=f"the {study} study's stages: tables, figures, section")
    stages = p.add_subparsers(dest="stage", required=True)
    for stage, text in (
        ("tables", "tidy tables from the run files its spec names"),
        ("figures", "figures (PNG) from its tables"),
        ("section", "its report section (markdown) and claims (JSON) from its tables"),
    ):
        q = stages.add_parser(stage, help=text)
        q.add_argument("--spec", required=True, help="the study's spec as JSON (what the "
                       "workflow passes; see trainability/studies/<study>/spec.py)")
        q.add_argument("--results", default="results", help="the results folder")
        q.set_defaults(func=_run_stage, study=study)


def _run_stage(args):
    written = run_stage(args.study, args.stage, args.spec, args.results)
    print(f"{args.study} {args.stage}: wrote {len(written)} files")


def _add_report(sub):
    p = sub.add_parser(
        "report",
        help="the markdown report: every study's section, the claims at a glance, provenance",
        description="Assemble results/report.md (atomically) from the studies' sections and "
        "their claims (results/sections/<study>.md and .json), and write the metrics file "
        "`dvc exp show` reads.",
    )
    given = p.add_mutually_exclusive_group(required=True)
    given.add_argument("--params", help="the parameters as a .json or .yaml file")
    given.add_argument("--params-json", help="the parameters as a JSON string")
    p.add_argument("--sections", default="results/sections",
                   help="folder of the studies' sections and results")
    p.add_argument("--study", action="append", required=True, metavar="NAME",
                   help="a study whose section to include (repeat, in report order)")
    p.add_argument("--metrics-out", required=True,
                   help="output .json: every study's headline numbers and claims")
    p.add_argument("--out", required=True, help="output .md")
    p.set_defaults(func=_run_report)


def _run_report(args):
    from trainability.report import read_json, write_report  # pandas: only when it runs

    if args.params_json is not None:
        try:
            params = json.loads(args.params_json)
        except json.JSONDecodeError as e:
            raise ValueError(f"--params-json: not valid JSON ({e})") from None
    else:
        params = read_json(args.params)
    write_report(params, args.sections, args.study, args.out, args.metrics_out)
    print(f"wrote {args.out} and {args.metrics_out}")


def _add_html(sub):
    p = sub.add_parser(
        "html",
        help="the report as one self-contained HTML page, appendices collapsible",
        description="Write the markdown report and its appendices as one HTML page "
        "(atomically): a table of contents, every image embedded, every link between the "
        "files a link within the page. A missing image, file or anchor is an error naming it.",
    )
    p.add_argument("--report", required=True, help="the main text (.md); images and links "
                   "in it are relative to its folder, where the page should go too")
    p.add_argument("--appendix", action="append", default=[], metavar="MD",
                   help="an appendix (.md), named by its file's stem (repeat, in page order)")
    p.add_argument("--out", required=True, help="output .html")
    p.set_defaults(func=_run_html)


def _run_html(args):
    from trainability.html import write_html  # markdown-it, NumPy: only when it runs

    write_html(args.report, args.appendix, args.out)
    print(f"wrote {args.out}")


def _add_usage(sub):
    p = sub.add_parser(
        "usage",
        help="what the jobs used: CPU seconds and peak memory, by study and by rule",
        description="Sum the files Snakemake's benchmark directive wrote (one per job) and "
        "print markdown tables by study and by rule. Files of jobs from other parameters "
        "stay in the folder: sum it right after a clean run for one pipeline's cost.",
    )
    p.add_argument("benchmarks", nargs="?", default="results/benchmarks",
                   help="the benchmarks folder (default: results/benchmarks)")
    p.set_defaults(func=_run_usage)


def _run_usage(args):
    from trainability.usage import markdown, read  # pandas: only when it runs

    print(markdown(read(args.benchmarks)))


def _parser(cls=argparse.ArgumentParser):
    """The whole command line's parser (of class ``cls``) and its subcommands."""
    parser = cls(prog="trainability", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    _add_dataset(sub)
    _add_train(sub)
    _add_report(sub)
    _add_html(sub)
    _add_usage(sub)
    for study in STUDIES:
        _add_study(sub, study)
        if importlib.util.find_spec(f"trainability.studies.{study}.commands"):
            # a study's own training commands (their arguments; the work is in its runs.py)
            importlib.import_module(f"trainability.studies.{study}.commands").add_commands(sub)
    return parser, sub


def main(argv: list[str] | None = None) -> int:
    parser, _ = _parser()
    args = parser.parse_args(argv)
    from trainability.io import InputError  # io imports NumPy: not before parsing (--help)

    command = " ".join(filter(None, (args.command, getattr(args, "stage", None))))
    try:
        args.func(args)
    except (InputError, ValueError) as e:
        print(f"trainability {command}: error: {e}", file=sys.stderr)
        return 2
    except MemoryError as e:  # NumPy's "Unable to allocate ..." is one
        print(f"trainability {command}: error: {_out_of_memory(args, e)}", file=sys.stderr)
        return 2
    if os.environ.get(USAGE_VARIABLE):
        print(usage_line(), file=sys.stderr)
    return 0


# what to lower when a dimension of a training job is too large (cost.Cost.culprit)
TRAIN_SETTINGS = {"width": "--width", "depth": "--depth", "seeds": "--seeds",
                  "inits": "--init", "lrs": "--lr", "epochs": "--epochs",
                  "points": "the dataset's --n-samples"}


def _out_of_memory(args, error: MemoryError) -> str:
    """One line for a MemoryError: what the job needs, by the cost model where it knows
    (a training job), and the setting to lower."""
    found = re.search(r"allocate (\S+ \S+)", str(error))
    failed = f"an array of {found.group(1)} did not fit" if found else "an allocation failed"
    if args.command == "dataset":
        return f"out of memory: {failed}; lower --n-samples"
    if args.command != "train":
        return f"out of memory: {failed}; lower the settings that made its inputs"
    try:
        from trainability.io import InputError, npz_rows  # io imports NumPy: never at the top

        rows = npz_rows(args.data, ("y_train", "y_test"))
        need = cost.train_cost(**_train_kwargs(args), n_train=rows[0], n_test=rows[1])
    except (InputError, ValueError, MemoryError):
        return f"out of memory: {failed}; lower --width or --seeds"
    culprit = need.culprit[0] if need.culprit else "width"
    return (f"out of memory: this job needs about {human_bytes(need.memory, binary=True)} "
            f"({failed}); "
            f"lower {TRAIN_SETTINGS.get(culprit, '--width')}")


if __name__ == "__main__":
    sys.exit(main())
