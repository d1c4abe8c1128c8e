# ---- the epsilon study: RMSprop's and Adam's eps inside or outside the square root --------
# (params.yaml `epsilon`, with the `model` and `train` sections.) One training job per network
# group (activation, width) trains every initializer x setting (optimizer, convention, eps) x
# seed of the group; then the tables, figures and the report's section
# (trainability/studies/epsilon/).

if enabled("epsilon"):

    EPSILON = spec_of("epsilon", dataset=DATASET, train_code=code_hash(TRAIN_CODE))
    EPSILON_SPEC = studies.spec_json(EPSILON)
    EPSILON_PATHS = studies.paths("epsilon")

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
            wf.benchmark("epsilon_train", "{activation}-w{width}-{tag}")
        conda:
            "../envs/trainability.yaml"
        log:
            wf.log("epsilon_train", "{activation}-w{width}-{tag}"),
        shell:
            "trainability train --data {input.data:q} {params.args:q} --out {output:q}"
            " > {log:q} 2>&1"

    rule epsilon_tables:
        input:
            runs=EPSILON.run_files(),
            code=stage_code("epsilon", "tables"),
        output:
            tables=[f"{EPSILON_PATHS['tables']}/{f}" for f in EPSILON.tables().values()],
            stamp=wf.stamp("epsilon_tables"),
        params:
            spec=EPSILON_SPEC,
        resources:
            **product_resources(EPSILON, "tables", history=False),
        benchmark:
            wf.benchmark("epsilon_tables")
        conda:
            "../envs/trainability.yaml"
        log:
            wf.log("epsilon_tables"),
        shell:
            "trainability epsilon tables --spec {params.spec:q} > {log:q} 2>&1"
            " && printf '%s\\n' {input:q} > {output.stamp:q}"

    rule epsilon_figures:
        input:
            tables=rules.epsilon_tables.output.tables,
            code=stage_code("epsilon", "figures"),
        output:
            figures=[
                report(f"{EPSILON_PATHS['figures']}/{name}",
                       caption=f"../../trainability/studies/epsilon/captions/{kind}.rst",
                       category="Epsilon study")
                for name, kind in EPSILON.figures()
            ],
            stamp=wf.stamp("epsilon_figures"),
        params:
            spec=EPSILON_SPEC,
        resources:
            **product_resources(EPSILON, "figures", history=False),
        benchmark:
            wf.benchmark("epsilon_figures")
        conda:
            "../envs/trainability.yaml"
        log:
            wf.log("epsilon_figures"),
        shell:
            "trainability epsilon figures --spec {params.spec:q} > {log:q} 2>&1"
            " && printf '%s\\n' {input:q} > {output.stamp:q}"

    rule epsilon_section:
        input:
            tables=rules.epsilon_tables.output.tables,
            figures=rules.epsilon_figures.output.figures,
            code=stage_code("epsilon", "section"),
        output:
            section=EPSILON_PATHS["section"],
            results=EPSILON_PATHS["results"],
            stamp=wf.stamp("epsilon_section"),
        params:
            spec=EPSILON_SPEC,
        resources:
            **product_resources(EPSILON, "section"),
        benchmark:
            wf.benchmark("epsilon_section")
        conda:
            "../envs/trainability.yaml"
        log:
            wf.log("epsilon_section"),
        shell:
            "trainability epsilon section --spec {params.spec:q} > {log:q} 2>&1"
            " && printf '%s\\n' {input:q} > {output.stamp:q}"

    rule epsilon:
        # every product a reader sees (a default target that asks for them rebuilds a
        # deleted one even when the report is up to date)
        input:
            rules.epsilon_tables.output,
            rules.epsilon_figures.output,
            rules.epsilon_section.output,

