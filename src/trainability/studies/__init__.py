"""The studies beyond the grid. Each module named in ``STUDIES`` has ``add_commands(sub)``,
which adds its subcommands to the ``trainability`` CLI. Modules import NumPy at most at
the top; pandas, matplotlib and seaborn are imported inside the commands that need them,
so a training job starts fast."""

STUDIES: tuple[str, ...] = ("gradients", "scaling", "batchnorm", "tweaks")
