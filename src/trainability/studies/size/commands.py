"""The size study's training commands: ``trainability size-train | size-lottery |
size-structured``, their arguments only (the work is in ``runs.py``, which the workflow
names as the jobs' code: editing a help text here retrains nothing).

Like the CLI's other commands, each imports its work when it runs, so that parsing any
``trainability`` command line does not load the trainer. Each also lists its trainer calls
for the cost model (``calls``: ``calls.py``), from the same settings."""

from __future__ import annotations

from trainability.argtypes import fraction, non_negative, positive_int


def _add_protocol(p) -> None:
    g = p.add_argument_group("training protocol (size.train)")
    g.add_argument("--depth", type=positive_int, default=2)
    g.add_argument("--init", default="he_normal")
    g.add_argument("--optimizer", default="adam")
    g.add_argument("--lr", type=float, default=0.01)
    g.add_argument("--batch-size", type=positive_int, default=32)
    g.add_argument("--epochs", type=positive_int, default=50)
    g.add_argument("--float32-from", type=positive_int, metavar="WIDTH",
                   help="train networks this wide or wider in float32 (default: never)")
    g.add_argument("--validation-fraction", type=fraction, default=0.25,
                   help="share of the training split held out for validation")
    g.add_argument("--data", required=True, help="dataset .npz (`trainability dataset`)")
    g.add_argument("--out", required=True, help="output .npz")


def _protocol(args, **extra):
    from trainability.studies.size.training import Protocol  # NumPy: not while parsing

    return Protocol(depth=args.depth, init=args.init, optimizer=args.optimizer, lr=args.lr,
                    batch_size=args.batch_size, epochs=args.epochs,
                    float32_from=args.float32_from, **extra)


def _add_train(sub) -> None:
    p = sub.add_parser(
        "size-train",
        help="size study: every width of one dataset, all seeds of a width batched",
        description="Train 2-hidden-layer (--depth) ReLU networks of every width, seeds "
        "0..N-1 of each, and, at --regularized-widths, the same with L2 and with group "
        "lasso on units; write per model the final accuracies, epochs to 95%% training "
        "accuracy and the early-stopping epoch, and per hidden unit its active fraction on "
        "the fit points and its score ||(w_in, b)|| ||w_out||.",
    )
    _add_protocol(p)
    p.add_argument("--widths", type=positive_int, nargs="+", required=True)
    p.add_argument("--seeds", type=positive_int, nargs="+", required=True, metavar="N",
                   help="seeds per width: one count, or one per width")
    p.add_argument("--regularized-widths", type=positive_int, nargs="*", default=[])
    p.add_argument("--regularized-seeds", type=positive_int, default=1)
    p.add_argument("--l2", type=non_negative, default=0.0, help="L2 coefficient on weights")
    p.add_argument("--group-lasso", type=non_negative, default=0.0,
                   help="group-lasso strength on units")
    p.set_defaults(func=_run_train, calls=_train_calls)


def _width_settings(args) -> dict:
    seeds = args.seeds * len(args.widths) if len(args.seeds) == 1 else args.seeds
    if len(seeds) != len(args.widths):
        raise ValueError(f"--seeds: give one count or one per width ({len(args.widths)}), "
                         f"got {len(args.seeds)}")
    if len(set(args.widths)) != len(args.widths):
        raise ValueError(f"--widths must be distinct, got {args.widths}")
    return dict(widths=args.widths, seeds=seeds, regularized_widths=args.regularized_widths,
                regularized_seeds=args.regularized_seeds, l2=args.l2,
                group_lasso=args.group_lasso)


def _run_train(args) -> None:
    from trainability.studies.size.runs import width_job  # NumPy: not while parsing

    print(width_job(args.data, args.out, _protocol(args), args.validation_fraction,
                    **_width_settings(args)))


def _train_calls(args) -> list[dict]:
    """The job's trainer calls, for the cost model (``cli.job_calls``)."""
    from trainability.studies.size.calls import width_calls  # NumPy: not while parsing

    return width_calls(_protocol(args), args.validation_fraction, **_width_settings(args))


def _add_lottery(sub) -> None:
    p = sub.add_parser(
        "size-lottery",
        help="size study: lottery tickets and every control, over all pruning levels",
        description="Iterative magnitude pruning per layer (rates --rates: first hidden "
        "output, per round; biases never pruned) down to below --target-density of the "
        "weights, with rewinding to the initial weights (tickets) or to epoch "
        "--rewind-epoch, and the controls: the tickets' masks re-initialized (--draws), "
        "random masks, one-shot pruning, small dense networks.",
    )
    _add_protocol(p)
    p.add_argument("--width", type=positive_int, required=True)
    p.add_argument("--seeds", type=positive_int, required=True, metavar="N",
                   help="seeds 0..N-1")
    p.add_argument("--rates", type=float, nargs=3, default=[0.1, 0.2, 0.1],
                   metavar=("FIRST", "HIDDEN", "OUTPUT"),
                   help="share of each layer's surviving weights pruned per round")
    p.add_argument("--target-density", type=fraction, default=0.01)
    p.add_argument("--draws", type=positive_int, default=3, help="reinit: draws per level")
    p.add_argument("--rewind-epoch", type=positive_int, default=1, help="late: rewind epoch")
    p.set_defaults(func=_run_lottery, calls=_lottery_calls)


def _lottery_settings(args) -> dict:
    from trainability.studies.size.lottery import Pruning  # NumPy: not while parsing

    for name, rate in zip(("first", "hidden", "output"), args.rates, strict=True):
        if not 0 <= rate < 1:
            raise ValueError(f"--rates: the {name} rate must be in [0, 1), got {rate}")
    pruning = Pruning(*args.rates, target_density=args.target_density)
    return dict(width=args.width, seeds=args.seeds, pruning=pruning, draws=args.draws,
                rewind_epoch=args.rewind_epoch)


def _run_lottery(args) -> None:
    from trainability.studies.size.runs import lottery_job  # NumPy: not while parsing

    print(lottery_job(args.data, args.out, _protocol(args), args.validation_fraction,
                      **_lottery_settings(args)))


def _lottery_calls(args) -> list[dict]:
    from trainability.studies.size.calls import lottery_calls  # NumPy: not while parsing

    return lottery_calls(_protocol(args), args.validation_fraction, **_lottery_settings(args))


def _add_structured(sub) -> None:
    p = sub.add_parser(
        "size-structured",
        help="size study: cut a wide regularized network to fewer units; fine-tune, rewind "
        "or train the small width from scratch",
    )
    _add_protocol(p)
    p.add_argument("--width", type=positive_int, required=True, help="the wide network")
    p.add_argument("--seeds", type=positive_int, required=True, metavar="N",
                   help="seeds 0..N-1")
    p.add_argument("--group-lasso", type=non_negative, default=0.0,
                   help="group-lasso strength of the wide network's training")
    p.add_argument("--widths", type=positive_int, nargs="+", required=True,
                   help="target widths (units kept per hidden layer)")
    p.add_argument("--tau", type=fraction, default=0.01,
                   help="norm-dead: score below tau x the layer's largest")
    p.add_argument("--finetune-epochs", type=positive_int, default=20)
    p.set_defaults(func=_run_structured, calls=_structured_calls)


def _structured_settings(args) -> dict:
    return dict(width=args.width, seeds=args.seeds, widths=args.widths, tau=args.tau,
                finetune_epochs=args.finetune_epochs)


def _run_structured(args) -> None:
    from trainability.studies.size.runs import structured_job  # NumPy: not while parsing

    protocol = _protocol(args, group_lasso=args.group_lasso)
    print(structured_job(args.data, args.out, protocol, args.validation_fraction,
                         **_structured_settings(args)))


def _structured_calls(args) -> list[dict]:
    from trainability.studies.size.calls import structured_calls  # NumPy: not while parsing

    return structured_calls(_protocol(args, group_lasso=args.group_lasso),
                            args.validation_fraction, **_structured_settings(args))


def add_commands(sub) -> None:
    """Register the size study's training commands on the ``trainability`` CLI."""
    _add_train(sub)
    _add_lottery(sub)
    _add_structured(sub)
