# ---- the grid: every activation x initializer x width (params.yaml `grid`, `model`, `train`) --
# One training job per activation x width trains every initializer x seed of it at once;
# then the tables, figures and the report's section (trainability/studies/grid/).


GRID = spec_of("grid", dataset=DATASET, train_code=code_hash(TRAIN_CODE))
GRID_SPEC = studies.spec_json(GRID)
GRID_PATHS = studies.paths("grid")


rule grid_train:
    input:
        data=DATASET,
        code=TRAIN_CODE,
    output:
        "results/runs/grid/{activation}/w{width}-{tag}.npz",
    params:
        args=GRID.train_args,
    resources:
        **train_resources(GRID),
    benchmark:
        wf.benchmark("grid_train", "{activation}-w{width}-{tag}")
    conda:
        "../envs/trainability.yaml"
    log:
        wf.log("grid_train", "{activation}-w{width}-{tag}"),
    shell:
        "trainability train --data {input.data:q} {params.args:q} --out {output:q} > {log:q} 2>&1"


rule grid_tables:
    input:
        runs=GRID.run_files(),
        code=stage_code("grid", "tables"),
    output:
        tables=[f"{GRID_PATHS['tables']}/{f}" for f in GRID.tables().values()],
        stamp=wf.stamp("grid_tables"),
    params:
        spec=GRID_SPEC,
    resources:
        **product_resources(GRID, "tables"),
    benchmark:
        wf.benchmark("grid_tables")
    conda:
        "../envs/trainability.yaml"
    log:
        wf.log("grid_tables"),
    shell:
        "trainability grid tables --spec {params.spec:q} > {log:q} 2>&1"
        " && printf '%s\\n' {input:q} > {output.stamp:q}"


rule grid_figures:
    input:
        data=DATASET,
        runs=GRID.run_files(),
        tables=rules.grid_tables.output.tables,
        code=stage_code("grid", "figures"),
    output:
        figures=[
            report(f"{GRID_PATHS['figures']}/{name}",
                   caption=f"../../trainability/studies/grid/captions/{kind}.rst",
                   category="Grid study")
            for name, kind in GRID.figures()
        ],
        stamp=wf.stamp("grid_figures"),
    params:
        spec=GRID_SPEC,
    resources:
        **product_resources(GRID, "figures"),
    benchmark:
        wf.benchmark("grid_figures")
    conda:
        "../envs/trainability.yaml"
    log:
        wf.log("grid_figures"),
    shell:
        "trainability grid figures --spec {params.spec:q} > {log:q} 2>&1"
        " && printf '%s\\n' {input:q} > {output.stamp:q}"


rule grid_section:
    input:
        data=DATASET,
        tables=rules.grid_tables.output.tables,
        figures=rules.grid_figures.output.figures,
        code=stage_code("grid", "section"),
    output:
        section=GRID_PATHS["section"],
        results=GRID_PATHS["results"],
        stamp=wf.stamp("grid_section"),
    params:
        spec=GRID_SPEC,
    resources:
        **product_resources(GRID, "section"),
    benchmark:
        wf.benchmark("grid_section")
    conda:
        "../envs/trainability.yaml"
    log:
        wf.log("grid_section"),
    shell:
        "trainability grid section --spec {params.spec:q} > {log:q} 2>&1"
        " && printf '%s\\n' {input:q} > {output.stamp:q}"


rule grid:
    input:
        rules.grid_tables.output,
        rules.grid_figures.output,
        rules.grid_section.output,
