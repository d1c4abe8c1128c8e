# ---- the grid: every activation x initializer x width (params.yaml `grid`, `model`, `train`) --
# One training job per activation x width trains every initializer x seed of it at once;
# then the tables, figures and the report's section (trainability/studies/grid/).


GRID = spec_of("grid", dataset=DATASET, train_code=code_hash(TRAIN_CODE))


rule grid_train:
    input:
        data=DATASET,
        code=TRAIN_CODE,
    output:
        "results/runs/grid/{activation}/w{width}-{tag}.npz",
    params:
        args=GRID.train_args,
    resources:
        **train_resources(GRID),
    benchmark:
        jobusage.benchmark("grid_train", "{activation}-w{width}-{tag}")
    conda:
        "../envs/trainability.yaml"
    log:
        jobusage.log("grid_train", "{activation}-w{width}-{tag}"),
    shell:
        "trainability train --data {input.data:q} {params.args:q} --out {output:q} > {log:q} 2>&1"

products(
    GRID,
    reads={"figures": {"data": DATASET, "runs": GRID.run_files()}, "section": {"data": DATASET}},
)
