# ---- the running example's dataset (params.yaml `data`), shared by the grid and studies ----


rule dataset:
    input:
        code=DATA_CODE,
    output:
        DATASET,
    params:
        args=[
            "--name", config["data"]["name"], "--n-samples", config["data"]["n_samples"],
            "--noise", config["data"]["noise"], "--factor", config["data"]["factor"],
            "--test-fraction", config["data"]["test_fraction"],
            "--scale", config["data"]["scale"], "--seed", config["data"]["seed"],
        ]
        + (["--standardize"] if config["data"]["standardize"] else []),
    resources:
        **dataset_resources("dataset", [DATASET], config["data"]["n_samples"]),
    benchmark:
        jobusage.benchmark("dataset", DATA_TAG)
    conda:
        "../envs/trainability.yaml"
    log:
        jobusage.log("dataset", DATA_TAG),
    shell:
        "trainability dataset {params.args:q} --out {output:q} > {log:q} 2>&1"
