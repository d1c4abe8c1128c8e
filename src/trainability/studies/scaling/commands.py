"""The scaling study's own commands: ``trainability scaling-init`` and
``trainability scaling-inputs`` (their arguments; the work is in ``runs.py`` and
``inputs.py``)."""

from __future__ import annotations

from trainability.argtypes import positive_float, positive_int


def add_commands(sub) -> None:
    p = sub.add_parser(
        "scaling-init",
        help="scaling study: every hidden layer's outputs at initialization (forward only)",
        description="Write (atomically) one .npz with the statistics of every hidden layer's "
        "outputs per width, activation, initialization and seed, and the histograms of the "
        "first --depth layers at the first width (units, points and seeds pooled; each "
        "on its own x-range).",
    )
    p.add_argument("--data", required=True, help="dataset .npz (its training points are used)")
    p.add_argument("--activations", nargs="+", required=True)
    p.add_argument("--stds", type=positive_float, nargs="*", default=[],
                   help="stds of random_normal initializations")
    p.add_argument("--inits", nargs="*", default=[],
                   help="variance-scaled initializers (glorot_normal, he_normal, ...)")
    p.add_argument("--depth", type=positive_int, required=True,
                   help="hidden layers shown as histograms (the running example's depth)")
    p.add_argument("--profile-depth", type=positive_int, required=True,
                   help="hidden layers of the signal profile")
    p.add_argument("--widths", type=positive_int, nargs="+", required=True,
                   help="units per hidden layer: the histograms' width first, then any "
                   "other width whose layer statistics to write")
    p.add_argument("--seeds", type=int, nargs="+", required=True)
    p.add_argument("--bins", type=positive_int, default=40)
    p.add_argument("--out", required=True, help="output .npz")
    p.set_defaults(func=_run_init, calls=_init_calls)

    p = sub.add_parser(
        "scaling-inputs",
        help="scaling study: the dataset with scaled, and with scaled-then-standardized, "
        "features",
        description="Write (atomically) two datasets with the points, labels and split of "
        "--data: its features multiplied by --scale, and those standardized to mean 0 and "
        "std 1 with the training split's statistics.",
    )
    p.add_argument("--data", required=True, help="dataset .npz")
    p.add_argument("--scale", type=positive_float, required=True)
    p.add_argument("--scaled-out", required=True, help="output .npz: the scaled features")
    p.add_argument("--standardized-out", required=True,
                   help="output .npz: the scaled features, standardized")
    p.set_defaults(func=_run_inputs, calls=lambda args: [])  # trains nothing


def _run_init(args) -> None:
    from trainability.studies.scaling import runs  # NumPy: not while parsing

    if not args.stds and not args.inits:
        raise ValueError("give at least one of --stds and --inits")
    print(runs.init_outputs(
        args.data, args.out, activations=args.activations, stds=args.stds, inits=args.inits,
        depth=args.depth, profile_depth=args.profile_depth, widths=args.widths,
        seeds=args.seeds, bins=args.bins))


def _init_calls(args) -> list[dict]:
    """For the cost model (``cli.job_calls``): per activation and initialization, its
    networks' forward pass over the training points, as a ``jobs.train_job`` of 0 epochs."""
    from trainability.studies.scaling import runs  # NumPy: not while parsing
    depth = max(args.depth, args.profile_depth)
    return [dict(activation=activation, inits=[init], init_scale=scale, width=width,
                 depth=depth, seeds=args.seeds, epochs=0, batch_size=32, diagnostics=False,
                 n_test=0)
            for width in dict.fromkeys(args.widths)
            for activation in args.activations
            for _, init, scale in runs.init_settings(args.stds, args.inits)]


def _run_inputs(args) -> None:
    from trainability.studies.scaling import inputs  # NumPy: not while parsing

    print(inputs.make_inputs(args.data, args.scale, args.scaled_out, args.standardized_out))
