# ---- vanishing and exploding gradients (params.yaml `gradients`, `model`, `train`) ----
# One training job per activation x depth trains every initializer x seed of it at once
# (only the running depth records per-layer statistics every epoch); then the tables,
# figures and the report's section (trainability/studies/gradients/).
# Run alone: snakemake --cores 2 gradients


if enabled("gradients"):

    GRADIENTS = spec_of("gradients", dataset=DATASET, train_code=code_hash(TRAIN_CODE))

    rule gradients_train:
        input:
            data=DATASET,
            code=TRAIN_CODE,
        output:
            "results/runs/gradients/{activation}/d{depth}-{tag}.npz",
        wildcard_constraints:
            depth="[0-9]+",
        params:
            args=GRADIENTS.train_args,
        resources:
            **train_resources(GRADIENTS),
        benchmark:
            jobusage.benchmark("gradients_train", "{activation}-d{depth}-{tag}")
        conda:
            "../envs/trainability.yaml"
        log:
            jobusage.log("gradients_train", "{activation}-d{depth}-{tag}"),
        shell:
            "trainability train --data {input.data:q} {params.args:q} --out {output:q}"
            " > {log:q} 2>&1"

    products(GRADIENTS, reads={"tables": {"data": DATASET}}, history={"figures": False})
