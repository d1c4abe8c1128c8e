# ---- improving trainability (params.yaml `tweaks`, with `model` and part of `train`) ----
# One training job per activation trains every optimizer x variant x learning rate x seed
# at once, holding out validation points; then the tables (with every choice made on
# validation), figures and the report's section (trainability/studies/tweaks/).
# Run alone: snakemake --cores 2 tweaks


if enabled("tweaks"):

    TWEAKS = spec_of("tweaks", dataset=DATASET, train_code=code_hash(TRAIN_CODE))
    TWEAKS_SPEC = studies.spec_json(TWEAKS)
    TWEAKS_PATHS = studies.paths("tweaks")

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
            wf.benchmark("tweaks_train", "{activation}-{tag}")
        conda:
            "../envs/trainability.yaml"
        log:
            wf.log("tweaks_train", "{activation}-{tag}"),
        shell:
            "trainability train --data {input.data:q} {params.args:q} --out {output:q}"
            " > {log:q} 2>&1"

    rule tweaks_tables:
        input:
            data=DATASET,
            runs=TWEAKS.run_files(),
            code=stage_code("tweaks", "tables"),
        output:
            tables=[f"{TWEAKS_PATHS['tables']}/{f}" for f in TWEAKS.tables().values()],
            stamp=wf.stamp("tweaks_tables"),
        params:
            spec=TWEAKS_SPEC,
        resources:
            **product_resources(TWEAKS, "tables"),
        benchmark:
            wf.benchmark("tweaks_tables")
        conda:
            "../envs/trainability.yaml"
        log:
            wf.log("tweaks_tables"),
        shell:
            "trainability tweaks tables --spec {params.spec:q} > {log:q} 2>&1"
            " && printf '%s\\n' {input:q} > {output.stamp:q}"

    rule tweaks_figures:
        input:
            data=DATASET,
            tables=rules.tweaks_tables.output.tables,
            code=stage_code("tweaks", "figures"),
        output:
            figures=[
                report(
                    f"{TWEAKS_PATHS['figures']}/{name}",
                    caption=f"../../trainability/studies/tweaks/captions/{kind}.rst",
                    category="Improving trainability",
                )
                for name, kind in TWEAKS.figures()
            ],
            stamp=wf.stamp("tweaks_figures"),
        params:
            spec=TWEAKS_SPEC,
        resources:
            **product_resources(TWEAKS, "figures", history=False),
        benchmark:
            wf.benchmark("tweaks_figures")
        conda:
            "../envs/trainability.yaml"
        log:
            wf.log("tweaks_figures"),
        shell:
            "trainability tweaks figures --spec {params.spec:q} > {log:q} 2>&1"
            " && printf '%s\\n' {input:q} > {output.stamp:q}"

    rule tweaks_section:
        input:
            data=DATASET,
            tables=rules.tweaks_tables.output.tables,
            figures=rules.tweaks_figures.output.figures,
            code=stage_code("tweaks", "section"),
        output:
            section=TWEAKS_PATHS["section"],
            results=TWEAKS_PATHS["results"],
            stamp=wf.stamp("tweaks_section"),
        params:
            spec=TWEAKS_SPEC,
        resources:
            **product_resources(TWEAKS, "section"),
        benchmark:
            wf.benchmark("tweaks_section")
        conda:
            "../envs/trainability.yaml"
        log:
            wf.log("tweaks_section"),
        shell:
            "trainability tweaks section --spec {params.spec:q} > {log:q} 2>&1"
            " && printf '%s\\n' {input:q} > {output.stamp:q}"

    rule tweaks:
        # every product a reader sees (the default target asks for them: a deleted one is
        # rebuilt even when the report is up to date)
        input:
            rules.tweaks_tables.output,
            rules.tweaks_figures.output,
            rules.tweaks_section.output,

