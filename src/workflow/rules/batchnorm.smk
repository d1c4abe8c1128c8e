# ---- batch normalization (params.yaml `batchnorm`, `model`, `train`) ----
# One training job per activation x batch-norm placement (none, after `after_layers`, after
# every hidden layer) trains every seed at once; then the tables, figures and the report's
# section (trainability/studies/batchnorm/). Run alone: snakemake --cores 2 batchnorm


if enabled("batchnorm"):
    try:
        BATCHNORM = spec_of("batchnorm", dataset=DATASET, train_code=code_hash(TRAIN_CODE))
    except ValueError as e:
        raise WorkflowError(f"params.yaml is invalid:\n  - {e}") from None
    BATCHNORM_SPEC = studies.spec_json(BATCHNORM)
    BATCHNORM_PATHS = studies.paths("batchnorm")

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
            wf.benchmark("batchnorm_train", "{activation}-{placement}-{tag}")
        conda:
            "../envs/trainability.yaml"
        log:
            wf.log("batchnorm_train", "{activation}-{placement}-{tag}"),
        shell:
            "trainability train --data {input.data:q} {params.args:q} --out {output:q}"
            " > {log:q} 2>&1"

    rule batchnorm_tables:
        input:
            runs=BATCHNORM.run_files(),
            code=stage_code("batchnorm", "tables"),
        output:
            tables=[f"{BATCHNORM_PATHS['tables']}/{f}" for f in BATCHNORM.tables().values()],
            stamp=wf.stamp("batchnorm_tables"),
        params:
            spec=BATCHNORM_SPEC,
        resources:
            **product_resources(BATCHNORM, "tables"),
        benchmark:
            wf.benchmark("batchnorm_tables")
        conda:
            "../envs/trainability.yaml"
        log:
            wf.log("batchnorm_tables"),
        shell:
            "trainability batchnorm tables --spec {params.spec:q} > {log:q} 2>&1"
            " && printf '%s\\n' {input:q} > {output.stamp:q}"

    rule batchnorm_figures:
        input:
            tables=rules.batchnorm_tables.output.tables,
            code=stage_code("batchnorm", "figures"),
        output:
            figures=[
                report(f"{BATCHNORM_PATHS['figures']}/{name}",
                       caption=f"../../trainability/studies/batchnorm/captions/{kind}.rst",
                       category=studies.module("batchnorm", "spec").CATEGORY)
                for name, kind in BATCHNORM.figures()
            ],
            stamp=wf.stamp("batchnorm_figures"),
        params:
            spec=BATCHNORM_SPEC,
        resources:
            **product_resources(BATCHNORM, "figures"),
        benchmark:
            wf.benchmark("batchnorm_figures")
        conda:
            "../envs/trainability.yaml"
        log:
            wf.log("batchnorm_figures"),
        shell:
            "trainability batchnorm figures --spec {params.spec:q} > {log:q} 2>&1"
            " && printf '%s\\n' {input:q} > {output.stamp:q}"

    rule batchnorm_section:
        input:
            data=DATASET,
            tables=rules.batchnorm_tables.output.tables,
            figures=rules.batchnorm_figures.output.figures,
            code=stage_code("batchnorm", "section"),
        output:
            section=BATCHNORM_PATHS["section"],
            results=BATCHNORM_PATHS["results"],
            stamp=wf.stamp("batchnorm_section"),
        params:
            spec=BATCHNORM_SPEC,
        resources:
            **product_resources(BATCHNORM, "section"),
        benchmark:
            wf.benchmark("batchnorm_section")
        conda:
            "../envs/trainability.yaml"
        log:
            wf.log("batchnorm_section"),
        shell:
            "trainability batchnorm section --spec {params.spec:q} > {log:q} 2>&1"
            " && printf '%s\\n' {input:q} > {output.stamp:q}"

    rule batchnorm:
        # every product a reader sees (the default target asks for them: a deleted one is
        # rebuilt even when the report is up to date)
        input:
            rules.batchnorm_tables.output,
            rules.batchnorm_figures.output,
            rules.batchnorm_section.output,
