# ---- the size study: how big should the network be? (params.yaml `size`) ----
# Sub-studies, each switched by size.<name>.enabled: width (success rate vs width), dead
# (dead units, effective width), lottery (tickets and their controls), structured (cut units,
# then fine-tune / rewind / scratch). One job per dataset x width (all seeds batched), per
# dataset x lottery arm (all pruning levels), per dataset for structured pruning; then each
# sub-study's tables and figures, and the report's section.
# The helpers live in trainability/studies/size_workflow.py.
# Run alone: snakemake --cores 2 size   (or size_width, size_dead, size_lottery, size_structured)


if enabled("size"):
    from trainability.studies.size import check as size_check
    from trainability.studies.size import settings as size_settings
    from trainability.studies.size_workflow import SizePlan
    from trainability.studies.size_workflow import stamp_text as size_stamp_text

    SIZE_PROBLEMS = size_check(config["size"])
    if SIZE_PROBLEMS:
        raise WorkflowError(
            "params.yaml is invalid:\n" + "\n".join(f"  - {p}" for p in SIZE_PROBLEMS)
        )
    # the source files the training jobs run (their inputs, and part of their outputs' tags)
    SIZE_CODE = TRAIN_CODE + [
        str(SRC / f) for f in ("prune.py", "studies/size.py", "studies/size_runs.py")
    ]
    SIZE_SUMMARY_CODE = SIZE_CODE + [
        str(SRC / f)
        for f in (
            "tables.py", "figures.py", "studies/size_tables.py", "studies/size_figures.py",
        )
    ]
    SIZE_SECTION_CODE = SIZE_SUMMARY_CODE + [
        str(SRC / f) for f in ("claims.py", "studies/size_section.py")
    ]
    SIZE = SizePlan(size_settings(config["size"]), code_hash(DATA_CODE), code_hash(SIZE_CODE))
    SIZE_SECTION = "results/sections/size.md"
    SIZE_CATEGORY = "Size study"

    # ---- jobs: the datasets; one job per width, per lottery arm, per structured run

    rule size_dataset:
        input:
            code=DATA_CODE,
        output:
            "results/data/size/{dataset}-{tag}.npz",
        params:
            args=SIZE.dataset_args,
        wildcard_constraints:
            dataset="[a-z]+",
        conda:
            "../envs/trainability.yaml"
        log:
            "results/logs/size/dataset/{dataset}-{tag}.log",
        shell:
            "trainability dataset {params.args:q} --out {output:q} > {log:q} 2>&1"

    rule size_train:
        input:
            data=SIZE.dataset_input,
            code=SIZE_CODE,
        output:
            "results/runs/size/width/{dataset}/{reg}/w{width}-{tag}.npz",
        params:
            args=SIZE.train_args,
        wildcard_constraints:
            dataset="[a-z]+",
            reg="none|l2|group_lasso",
        conda:
            "../envs/trainability.yaml"
        log:
            "results/logs/size/width/{dataset}/{reg}/w{width}-{tag}.log",
        shell:
            "trainability size-train --data {input.data:q} {params.args:q}"
            " --out {output:q} > {log:q} 2>&1"

    rule size_lottery_arm:
        input:
            unpack(SIZE.lottery_input),
            code=SIZE_CODE,
        output:
            "results/runs/size/lottery/{dataset}/{arm}-{tag}.npz",
        params:
            args=SIZE.lottery_args,
        wildcard_constraints:
            dataset="[a-z]+",
            arm="ticket|reinit|random|oneshot|late|dense",
        conda:
            "../envs/trainability.yaml"
        log:
            "results/logs/size/lottery/{dataset}/{arm}-{tag}.log",
        shell:
            "trainability size-lottery --data {input.data:q} --arm {wildcards.arm:q}"
            " {params.args:q} --out {output:q} > {log:q} 2>&1"

    rule size_structured_run:
        input:
            data=SIZE.dataset_input,
            code=SIZE_CODE,
        output:
            "results/runs/size/structured/{dataset}-{tag}.npz",
        params:
            args=SIZE.structured_args,
        wildcard_constraints:
            dataset="[a-z]+",
        conda:
            "../envs/trainability.yaml"
        log:
            "results/logs/size/structured/{dataset}-{tag}.log",
        shell:
            "trainability size-structured --data {input.data:q} {params.args:q}"
            " --out {output:q} > {log:q} 2>&1"

    # ---- each sub-study's tables and figures (and a stamp, see SizePlan.stamp)

    if SIZE.s["width"]["enabled"]:

        rule size_width_summary:
            input:
                runs=SIZE.runs("width"),
                code=SIZE_SUMMARY_CODE,
            output:
                runs="results/tables/size_width_runs.csv",
                summary="results/tables/size_width.csv",
                figures=[
                    report(p, caption=c, category=SIZE_CATEGORY) for p, c in SIZE.figures("width")
                ],
                stamp=SIZE.stamp("width"),
            params:
                thresholds=SIZE.thresholds(),
                reliable=SIZE.s["width"]["reliable"],
                stamp=size_stamp_text,
            conda:
                "../envs/trainability.yaml"
            log:
                "results/logs/size/summary-width.log",
            shell:
                "trainability size-summarize width {input.runs:q}"
                " --thresholds {params.thresholds:q} --reliable {params.reliable:q}"
                " --tables-dir results/tables --figures-dir results/figures/size"
                " > {log:q} 2>&1 && echo {params.stamp:q} > {output.stamp:q}"

        rule size_width:
            input:
                rules.size_width_summary.output,

        rebuild_missing(SIZE.runs("width"), rules.size_width_summary.output.runs)

    if SIZE.s["dead"]["enabled"]:

        rule size_dead_summary:
            input:
                runs=SIZE.runs("dead"),
                width_table=SIZE.width_table(),
                code=SIZE_SUMMARY_CODE,
            output:
                runs="results/tables/size_dead_runs.csv",
                summary="results/tables/size_dead.csv",
                figures=[
                    report(p, caption=c, category=SIZE_CATEGORY) for p, c in SIZE.figures("dead")
                ],
                stamp=SIZE.stamp("dead"),
            params:
                taus=SIZE.s["dead"]["taus"],
                tau=SIZE.s["dead"]["tau"],
                reliable=SIZE.s["width"]["reliable"],
                width_table=SIZE.width_table_args,
                stamp=size_stamp_text,
            conda:
                "../envs/trainability.yaml"
            log:
                "results/logs/size/summary-dead.log",
            shell:
                "trainability size-summarize dead {input.runs:q} --taus {params.taus:q}"
                " --tau {params.tau:q} --reliable {params.reliable:q} {params.width_table:q}"
                " --tables-dir results/tables --figures-dir results/figures/size"
                " > {log:q} 2>&1 && echo {params.stamp:q} > {output.stamp:q}"

        rule size_dead:
            input:
                rules.size_dead_summary.output,

        rebuild_missing(SIZE.runs("dead"), rules.size_dead_summary.output.runs)

    if SIZE.s["lottery"]["enabled"]:

        rule size_lottery_summary:
            input:
                runs=SIZE.runs("lottery"),
                width_table=SIZE.width_table(),
                code=SIZE_SUMMARY_CODE,
            output:
                runs="results/tables/size_lottery_runs.csv",
                summary="results/tables/size_lottery.csv",
                figures=[
                    report(p, caption=c, category=SIZE_CATEGORY)
                    for p, c in SIZE.figures("lottery")
                ],
                stamp=SIZE.stamp("lottery"),
            params:
                width_table=SIZE.width_table_args,
                stamp=size_stamp_text,
            conda:
                "../envs/trainability.yaml"
            log:
                "results/logs/size/summary-lottery.log",
            shell:
                "trainability size-summarize lottery {input.runs:q} {params.width_table:q}"
                " --tables-dir results/tables --figures-dir results/figures/size"
                " > {log:q} 2>&1 && echo {params.stamp:q} > {output.stamp:q}"

        rule size_lottery:
            input:
                rules.size_lottery_summary.output,

        rebuild_missing(SIZE.runs("lottery"), rules.size_lottery_summary.output.runs)

    if SIZE.s["structured"]["enabled"]:

        rule size_structured_summary:
            input:
                runs=SIZE.runs("structured"),
                code=SIZE_SUMMARY_CODE,
            output:
                runs="results/tables/size_structured_runs.csv",
                summary="results/tables/size_structured.csv",
                live="results/tables/size_structured_live.csv",
                figures=[
                    report(p, caption=c, category=SIZE_CATEGORY)
                    for p, c in SIZE.figures("structured")
                ],
                stamp=SIZE.stamp("structured"),
            params:
                thresholds=SIZE.thresholds(),
                stamp=size_stamp_text,
            conda:
                "../envs/trainability.yaml"
            log:
                "results/logs/size/summary-structured.log",
            shell:
                "trainability size-summarize structured {input.runs:q}"
                " --thresholds {params.thresholds:q}"
                " --tables-dir results/tables --figures-dir results/figures/size"
                " > {log:q} 2>&1 && echo {params.stamp:q} > {output.stamp:q}"

        rule size_structured:
            input:
                rules.size_structured_summary.output,

        rebuild_missing(SIZE.runs("structured"), rules.size_structured_summary.output.runs)

    # ---- the report's section

    rule size_section:
        input:
            tables=SIZE.section_tables(),
            figures=SIZE.section_figures(),
            code=SIZE_SECTION_CODE,
        output:
            section=SIZE_SECTION,
            metrics="results/sections/size.json",
        params:
            settings=SIZE.settings_json(),
            studies=SIZE.substudies,
        conda:
            "../envs/trainability.yaml"
        log:
            "results/logs/size/section.log",
        shell:
            "trainability size-section --tables-dir results/tables"
            " --studies {params.studies:q} --settings {params.settings:q}"
            " --figures-rel figures/size --out {output.section:q}"
            " --metrics {output.metrics:q} > {log:q} 2>&1"

    rule size:
        input:
            rules.size_section.output,

    REPORT_SECTIONS.append(SIZE_SECTION)
    REPORT_METRICS.append(rules.size_section.output.metrics)
