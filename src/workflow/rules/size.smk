# ---- the size study: how big should the network be? (params.yaml `size`) ----
# Per dataset: its data file, one training job for the width and dead-unit studies (every
# width and regularizer, all seeds of one batched together), one for the lottery tickets
# (every arm and pruning level) and one for structured pruning; then the study's tables,
# figures and section (trainability/studies/size/).
# Run alone: snakemake --cores 2 size


if enabled("size"):
    SIZE_CODE = code("trainability.studies.size.runs")
    SIZE = spec_of("size", data_code=code_hash(DATA_CODE), train_code=code_hash(SIZE_CODE))

    rule size_dataset:
        input:
            code=DATA_CODE,
        output:
            "results/data/size/{dataset}-{tag}.npz",
        params:
            args=SIZE.dataset_args,
        wildcard_constraints:
            dataset="[a-z]+",
        resources:
            **dataset_resources("size_dataset", [SIZE.dataset_file(n) for n in SIZE.names()],
                                  SIZE.data["n_samples"], study="size"),
        benchmark:
            jobusage.benchmark("size_dataset", "{dataset}-{tag}")
        conda:
            "../envs/trainability.yaml"
        log:
            jobusage.log("size_dataset", "{dataset}-{tag}"),
        shell:
            "trainability dataset {params.args:q} --out {output:q} > {log:q} 2>&1"

    rule size_train:
        input:
            data=SIZE.dataset_input,
            code=SIZE_CODE,
        output:
            "results/runs/size/width/{dataset}-{tag}.npz",
        params:
            args=SIZE.train_args,
        wildcard_constraints:
            dataset="[a-z]+",
        resources:
            **command_resources("size_train", SIZE, SIZE.width_files(), "size-train",
                                  SIZE.train_args, data=SIZE.data),
        benchmark:
            jobusage.benchmark("size_train", "{dataset}-{tag}")
        conda:
            "../envs/trainability.yaml"
        log:
            jobusage.log("size_train", "{dataset}-{tag}"),
        shell:
            "trainability size-train --data {input.data:q} {params.args:q}"
            " --out {output:q} > {log:q} 2>&1"

    rule size_lottery:
        input:
            data=SIZE.dataset_input,
            code=SIZE_CODE,
        output:
            "results/runs/size/lottery/{dataset}-{tag}.npz",
        params:
            args=SIZE.lottery_args,
        wildcard_constraints:
            dataset="[a-z]+",
        resources:
            **command_resources("size_lottery", SIZE, SIZE.lottery_files(), "size-lottery",
                                  SIZE.lottery_args, data=SIZE.data),
        benchmark:
            jobusage.benchmark("size_lottery", "{dataset}-{tag}")
        conda:
            "../envs/trainability.yaml"
        log:
            jobusage.log("size_lottery", "{dataset}-{tag}"),
        shell:
            "trainability size-lottery --data {input.data:q} {params.args:q}"
            " --out {output:q} > {log:q} 2>&1"

    rule size_structured:
        input:
            data=SIZE.dataset_input,
            code=SIZE_CODE,
        output:
            "results/runs/size/structured/{dataset}-{tag}.npz",
        params:
            args=SIZE.structured_args,
        wildcard_constraints:
            dataset="[a-z]+",
        resources:
            **command_resources("size_structured", SIZE, SIZE.structured_files(), "size-structured",
                                  SIZE.structured_args, data=SIZE.data),
        benchmark:
            jobusage.benchmark("size_structured", "{dataset}-{tag}")
        conda:
            "../envs/trainability.yaml"
        log:
            jobusage.log("size_structured", "{dataset}-{tag}"),
        shell:
            "trainability size-structured --data {input.data:q} {params.args:q}"
            " --out {output:q} > {log:q} 2>&1"

    products(SIZE, reads={"tables": {"data": [SIZE.dataset_file(n) for n in SIZE.names()]}},
             history={"tables": False, "figures": False, "section": False})
