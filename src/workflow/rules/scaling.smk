# ---- scaling and initialization (params.yaml `scaling`) ----
# Layer outputs at initialization: one forward-pass job. Input scaling: one job makes the
# scaled and standardized versions of the grid's dataset; one training job per version x
# activation trains every initializer x seed of it. Then the tables, figures and the
# report's section (trainability/studies/scaling/). Run alone: snakemake --cores 2 scaling


if enabled("scaling"):

    SCALING_INIT_CODE = code("trainability.studies.scaling.runs")
    SCALING_INPUTS_CODE = code("trainability.studies.scaling.inputs")
    SCALING = spec_of("scaling", dataset=DATASET, train_code=code_hash(TRAIN_CODE),
                      runs_code=code_hash(SCALING_INIT_CODE),
                      inputs_code=code_hash(SCALING_INPUTS_CODE))

    rule scaling_inputs:
        input:
            data=DATASET,
            code=SCALING_INPUTS_CODE,
        output:
            scaled=SCALING.input_file("scaled"),
            standardized=SCALING.input_file("standardized"),
        params:
            args=SCALING.inputs_args(),
        resources:
            **command_resources("scaling_inputs", SCALING, [SCALING.input_file("scaled")],
                                  "scaling-inputs", SCALING.inputs_args()),
        benchmark:
            jobusage.benchmark("scaling_inputs", SCALING.inputs_tag)
        conda:
            "../envs/trainability.yaml"
        log:
            jobusage.log("scaling_inputs", SCALING.inputs_tag),
        shell:
            "trainability scaling-inputs {params.args:q} --scaled-out {output.scaled:q}"
            " --standardized-out {output.standardized:q} > {log:q} 2>&1"

    rule scaling_init:
        input:
            data=DATASET,
            code=SCALING_INIT_CODE,
        output:
            SCALING.init_file(),
        params:
            args=SCALING.init_args(),
        resources:
            **command_resources("scaling_init", SCALING, [SCALING.init_file()], "scaling-init",
                                  SCALING.init_args()),
        benchmark:
            jobusage.benchmark("scaling_init", SCALING.init_tag)
        conda:
            "../envs/trainability.yaml"
        log:
            jobusage.log("scaling_init", SCALING.init_tag),
        shell:
            "trainability scaling-init {params.args:q} --out {output:q} > {log:q} 2>&1"

    trains(SCALING, "results/runs/scaling/{variant}/{activation}-{tag}.npz", SCALING.data_of,
           variant="raw|scaled|standardized")
    products(SCALING, reads={"tables": {"data": list(SCALING.input_files().values())},
                             "section": {"data": DATASET}})
