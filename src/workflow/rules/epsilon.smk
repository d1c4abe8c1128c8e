# ---- the epsilon study: RMSprop's and Adam's eps inside or outside the square root --------
# (params.yaml `epsilon`, with the `model` and `train` sections.) One training job per network
# group (activation, width) trains every initializer x setting (optimizer, convention, eps) x
# seed of the group; then the tables, figures and the report's section
# (trainability/studies/epsilon/).

if enabled("epsilon"):

    EPSILON = spec_of("epsilon", dataset=DATASET, train_code=code_hash(TRAIN_CODE))

    rule epsilon_train:
        input:
            data=DATASET,
            code=TRAIN_CODE,
        output:
            "results/runs/epsilon/{activation}/w{width}-{tag}.npz",
        params:
            args=EPSILON.train_args,
        resources:
            **train_resources(EPSILON),
        benchmark:
            jobusage.benchmark("epsilon_train", "{activation}-w{width}-{tag}")
        conda:
            "../envs/trainability.yaml"
        log:
            jobusage.log("epsilon_train", "{activation}-w{width}-{tag}"),
        shell:
            "trainability train --data {input.data:q} {params.args:q} --out {output:q}"
            " > {log:q} 2>&1"

    products(EPSILON, reads={"section": {"data": DATASET}},
             history={"tables": False, "figures": False})
