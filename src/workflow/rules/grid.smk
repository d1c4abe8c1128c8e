# ---- the grid: every activation x initializer x width (params.yaml `grid`, `model`, `train`) --
# One training job per activation x width trains every initializer x seed of it at once;
# then the tables, figures and the report's section (trainability/studies/grid/).


GRID = spec_of("grid", dataset=DATASET, train_code=code_hash(TRAIN_CODE))
trains(GRID, "results/runs/grid/{activation}/w{width}-{tag}.npz", DATASET)
products(
    GRID,
    reads={"figures": {"data": DATASET, "runs": GRID.run_files()}, "section": {"data": DATASET}},
)
