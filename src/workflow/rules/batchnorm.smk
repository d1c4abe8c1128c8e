# ---- batch normalization (params.yaml `batchnorm`, `model`, `train`) ----
# One training job per activation x batch-norm placement (none, after `after_layers`, after
# every hidden layer) trains every seed at once; then the tables, figures and the report's
# section (trainability/studies/batchnorm/). Run alone: snakemake --cores 2 batchnorm


if enabled("batchnorm"):
    BATCHNORM = spec_of("batchnorm", dataset=DATASET, train_code=code_hash(TRAIN_CODE))

    rule batchnorm_train:
        input:
            data=DATASET,
            code=TRAIN_CODE,
        output:
            "results/runs/batchnorm/{activation}/{placement}-{tag}.npz",
        wildcard_constraints:
            placement="none|every|after[0-9-]+",
        params:
            args=BATCHNORM.train_args,
        resources:
            **train_resources(BATCHNORM),
        benchmark:
            jobusage.benchmark("batchnorm_train", "{activation}-{placement}-{tag}")
        conda:
            "../envs/trainability.yaml"
        log:
            jobusage.log("batchnorm_train", "{activation}-{placement}-{tag}"),
        shell:
            "trainability train --data {input.data:q} {params.args:q} --out {output:q}"
            " > {log:q} 2>&1"

    products(BATCHNORM, reads={"section": {"data": DATASET}})
