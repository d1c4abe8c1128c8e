# ---- the dataset, one training job per grid cell, and the tables ----


rule dataset:
    input:
        code=DATA_CODE,
    output:
        DATASET,
    params:
        args=get_dataset_args,
    conda:
        "../envs/trainability.yaml"
    log:
        f"results/logs/dataset-{DATA_TAG}.log",
    shell:
        "trainability dataset {params.args:q} --out {output:q} > {log:q} 2>&1"


rule train:
    input:
        data=DATASET,
        code=TRAIN_CODE,
    output:
        "results/runs/{activation}/{init}/w{width}-{tag}.npz",
    params:
        args=get_train_args,
    conda:
        "../envs/trainability.yaml"
    log:
        "results/logs/train/{activation}/{init}/w{width}-{tag}.log",
    shell:
        "trainability train --data {input.data:q} --activation {wildcards.activation:q}"
        " --init {wildcards.init:q} --width {wildcards.width:q} {params.args:q}"
        " --out {output:q} > {log:q} 2>&1"


rule aggregate:
    input:
        runs=get_grid_runs(),
        code=TABLES_CODE,
    output:
        runs="results/tables/runs.csv",
        history="results/tables/history.csv",
        layers="results/tables/layers.csv.gz",
        metrics="results/tables/metrics.json",
        plot="results/plots/test_acc_by_cell.csv",
    params:
        width=config["model"]["width"],
    conda:
        "../envs/trainability.yaml"
    log:
        "results/logs/aggregate.log",
    shell:
        "trainability aggregate {input.runs:q} --tables results/tables --metrics {output.metrics:q}"
        " --plots results/plots --width {params.width} > {log:q} 2>&1"


rebuild_missing(get_grid_runs(), rules.aggregate.output.runs)
