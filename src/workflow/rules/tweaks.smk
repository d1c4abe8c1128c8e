# ---- improving trainability (params.yaml `tweaks`, with `model` and part of `train`) ----
# One training job per activation trains every optimizer x variant x learning rate x seed
# at once, holding out validation points; then the tables (with every choice made on
# validation), figures and the report's section (trainability/studies/tweaks/).
# Run alone: snakemake --cores 2 tweaks


if enabled("tweaks"):

    TWEAKS = spec_of("tweaks", dataset=DATASET, train_code=code_hash(TRAIN_CODE))

    rule tweaks_train:
        input:
            data=DATASET,
            code=TRAIN_CODE,
        output:
            "results/runs/tweaks/{activation}-{tag}.npz",
        params:
            args=TWEAKS.train_args,
        resources:
            **train_resources(TWEAKS),
        benchmark:
            jobusage.benchmark("tweaks_train", "{activation}-{tag}")
        conda:
            "../envs/trainability.yaml"
        log:
            jobusage.log("tweaks_train", "{activation}-{tag}"),
        shell:
            "trainability train --data {input.data:q} {params.args:q} --out {output:q}"
            " > {log:q} 2>&1"

    products(TWEAKS, reads={stage: {"data": DATASET} for stage in ("tables", "figures", "section")},
             history={"figures": False})
