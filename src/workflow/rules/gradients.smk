# ---- vanishing and exploding gradients (params.yaml `gradients`, `model`, `train`) ----
# One training job per activation x depth trains every initializer x seed of it at once
# (only the running depth records per-layer statistics every epoch); then the tables,
# figures and the report's section (trainability/studies/gradients/).
# Run alone: snakemake --cores 2 gradients


if enabled("gradients"):

    GRADIENTS = spec_of("gradients", dataset=DATASET, train_code=code_hash(TRAIN_CODE))
    GRADIENTS_SPEC = studies.spec_json(GRADIENTS)
    GRADIENTS_PATHS = studies.paths("gradients")

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
            wf.benchmark("gradients_train", "{activation}-d{depth}-{tag}")
        conda:
            "../envs/trainability.yaml"
        log:
            wf.log("gradients_train", "{activation}-d{depth}-{tag}"),
        shell:
            "trainability train --data {input.data:q} {params.args:q} --out {output:q}"
            " > {log:q} 2>&1"

    rule gradients_tables:
        input:
            data=DATASET,
            runs=GRADIENTS.run_files(),
            code=stage_code("gradients", "tables"),
        output:
            tables=[f"{GRADIENTS_PATHS['tables']}/{f}" for f in GRADIENTS.tables().values()],
            stamp=wf.stamp("gradients_tables"),
        params:
            spec=GRADIENTS_SPEC,
        resources:
            **product_resources(GRADIENTS, "tables"),
        benchmark:
            wf.benchmark("gradients_tables")
        conda:
            "../envs/trainability.yaml"
        log:
            wf.log("gradients_tables"),
        shell:
            "trainability gradients tables --spec {params.spec:q} > {log:q} 2>&1"
            " && printf '%s\\n' {input:q} > {output.stamp:q}"

    rule gradients_figures:
        input:
            tables=rules.gradients_tables.output.tables,
            code=stage_code("gradients", "figures"),
        output:
            figures=[
                report(f"{GRADIENTS_PATHS['figures']}/{name}",
                       caption=f"../../trainability/studies/gradients/captions/{kind}.rst",
                       category="Gradients study")
                for name, kind in GRADIENTS.figures()
            ],
            stamp=wf.stamp("gradients_figures"),
        params:
            spec=GRADIENTS_SPEC,
        resources:
            **product_resources(GRADIENTS, "figures", history=False),
        benchmark:
            wf.benchmark("gradients_figures")
        conda:
            "../envs/trainability.yaml"
        log:
            wf.log("gradients_figures"),
        shell:
            "trainability gradients figures --spec {params.spec:q} > {log:q} 2>&1"
            " && printf '%s\\n' {input:q} > {output.stamp:q}"

    rule gradients_section:
        input:
            tables=rules.gradients_tables.output.tables,
            figures=rules.gradients_figures.output.figures,
            code=stage_code("gradients", "section"),
        output:
            section=GRADIENTS_PATHS["section"],
            results=GRADIENTS_PATHS["results"],
            stamp=wf.stamp("gradients_section"),
        params:
            spec=GRADIENTS_SPEC,
        resources:
            **product_resources(GRADIENTS, "section"),
        benchmark:
            wf.benchmark("gradients_section")
        conda:
            "../envs/trainability.yaml"
        log:
            wf.log("gradients_section"),
        shell:
            "trainability gradients section --spec {params.spec:q} > {log:q} 2>&1"
            " && printf '%s\\n' {input:q} > {output.stamp:q}"

    rule gradients:
        # every product a reader sees (the default target asks for them: a deleted one is
        # rebuilt even when the report is up to date)
        input:
            rules.gradients_tables.output,
            rules.gradients_figures.output,
            rules.gradients_section.output,

