# ---- robustness: the running-example claims under one-factor variants (params.yaml
# `robustness`) ----
# One dataset job per variant whose data differ from the running example's; one training
# job per network kind (relu, sigmoid, tanh; sigmoid with batch norm) and shared job (the
# variants that differ only in optimizer settings train together; shorter runs are read
# off longer ones); then the tables (the verdicts), figures and section
# (trainability/studies/robustness/). Run alone: snakemake --cores 2 robustness


if enabled("robustness"):
    ROBUSTNESS = spec_of("robustness", dataset=DATASET, data_code=code_hash(DATA_CODE),
                         train_code=code_hash(TRAIN_CODE))

    rule robustness_dataset:
        input:
            code=DATA_CODE,
        output:
            "results/data/robustness/{name}-{tag}.npz",
        params:
            args=ROBUSTNESS.dataset_args,
        resources:
            **dataset_resources("robustness_dataset", ROBUSTNESS.data_files(),
                                  config["data"]["n_samples"], study="robustness"),
        benchmark:
            jobusage.benchmark("robustness_dataset", "{name}-{tag}")
        conda:
            "../envs/trainability.yaml"
        log:
            jobusage.log("robustness_dataset", "{name}-{tag}"),
        shell:
            "trainability dataset {params.args:q} --out {output:q} > {log:q} 2>&1"

    trains(ROBUSTNESS, "results/runs/robustness/{activation}/{placement}-{tag}.npz",
           ROBUSTNESS.job_data, placement="none|after[0-9]+")
    products(ROBUSTNESS, reads={"tables": {"data": [DATASET, *ROBUSTNESS.data_files()]},
                                "figures": {"data": [DATASET, *ROBUSTNESS.data_files()]},
                                "section": {"data": [DATASET, *ROBUSTNESS.data_files()]}},
             history={"tables": False, "figures": False, "section": False})
