# ---- figures and the markdown report ----


rule figures:
    input:
        data=DATASET,
        runs=get_grid_runs(),
        runs_table=rules.aggregate.output.runs,
        history=rules.aggregate.output.history,
        code=REPORT_CODE,
    output:
        [
            report(
                f"results/figures/{name}",
                caption=get_caption(name),
                category="Grid study",
            )
            for name in get_figure_names()
        ],
    params:
        width=config["model"]["width"],
    conda:
        "../envs/trainability.yaml"
    log:
        "results/logs/figures.log",
    shell:
        "trainability figures --data {input.data:q} --tables results/tables"
        " --width {params.width} --out-dir results/figures {input.runs:q} > {log:q} 2>&1"


rule report:
    input:
        figures=rules.figures.output,
        runs=rules.aggregate.output.runs,
        metrics=rules.aggregate.output.metrics,
        sections=REPORT_SECTIONS,
        study_metrics=REPORT_METRICS,
        code=REPORT_CODE,
    output:
        report=report("results/report.md", caption="../report/report.rst", category="Report"),
        metrics="results/metrics.json",
    params:
        config=json.dumps(config, sort_keys=True),
        width=config["model"]["width"],
        sections=get_section_args,
    conda:
        "../envs/trainability.yaml"
    log:
        "results/logs/report.log",
    shell:
        "trainability report --tables results/tables --metrics {input.metrics:q}"
        " --figures-dir results/figures --params-json {params.config:q}"
        " --width {params.width} {params.sections:q} --metrics-out {output.metrics:q}"
        " --out {output.report:q} > {log:q} 2>&1"


# the grid's jobs are all up to date without the dataset; the data figure reads it
rebuild_missing([DATASET], "results/figures/data.png")
