# ---- study 4, improving trainability (params.yaml `tweaks`) ----
# One training job per activation x optimizer x variant x learning rate, all seeds batched
# (losses and accuracies only); then the tables, figures and the report's section.
# The helpers live in trainability/studies/tweaks.py ("workflow helpers").
# Run alone: snakemake --cores 2 tweaks


if enabled("tweaks"):
    from functools import partial

    from trainability.studies import tweaks as tweaks_study

    TW = config["tweaks"]
    # the source files each job runs (tables: NumPy and pandas; figures add matplotlib
    # helpers; the section adds the report's claim helpers)
    TWEAKS_CODE = [
        str(SRC / f)
        for f in ("studies/tweaks.py", "studies/__init__.py", "tables.py", "io.py", "cli.py")
    ]
    TWEAKS_FIGURES_CODE = TWEAKS_CODE + [str(SRC / "figures.py")]
    TWEAKS_SECTION_CODE = TWEAKS_FIGURES_CODE + [str(SRC / "claims.py")]
    # everything a run file depends on besides its activation, optimizer, variant name and
    # learning rate (in its path); each variant's settings are added per file
    # (tweaks_study.run_files); train.seeds is replaced by the study's own
    TWEAKS_TAG = tag(
        "tweaks",
        DATA_TAG,
        config["model"],
        {k: v for k, v in config["train"].items() if k != "seeds"},
        TW["init"],
        TW["seeds"],
        code_hash(TRAIN_CODE),
    )
    TWEAKS_RUNS = tweaks_study.run_files(config, partial(tag, TWEAKS_TAG))
    TWEAKS_TABLES = {
        "runs": "results/tables/tweaks_runs.csv",
        "history": "results/tables/tweaks_history.csv.gz",
        "summary": "results/tables/tweaks_summary.csv",
    }
    # not versioned by DVC (results/logs is .dvcignored): a workspace without it (a DVC temp
    # or queued experiment, a fresh clone) rebuilds the tables from the current run files
    TWEAKS_MANIFEST = "results/logs/tweaks/tables-inputs.txt"
    TWEAKS_SECTION = "results/sections/tweaks.md"
    TWEAKS_FIGURES = [f"results/figures/tweaks/{name}" for name in tweaks_study.FIGURE_NAMES]

    rule tweaks_train:
        input:
            data=DATASET,
            code=TRAIN_CODE,
        output:
            "results/runs/tweaks/{activation}/{optimizer}/{variant}/lr{lr}-{tag}.npz",
        wildcard_constraints:
            optimizer="[a-z]+",
            variant="[a-z][a-z0-9_]*",
            lr="[0-9.e+-]+",
        params:
            args=partial(tweaks_study.train_args, config),
        conda:
            "../envs/trainability.yaml"
        log:
            "results/logs/tweaks/train/{activation}/{optimizer}/{variant}/lr{lr}-{tag}.log",
        shell:
            "trainability train --data {input.data:q} --activation {wildcards.activation:q}"
            " {params.args:q} --out {output:q} > {log:q} 2>&1"

    rule tweaks_tables:
        input:
            runs=TWEAKS_RUNS,
            code=TWEAKS_CODE,
        output:
            runs=TWEAKS_TABLES["runs"],
            history=TWEAKS_TABLES["history"],
            summary=TWEAKS_TABLES["summary"],
            metrics="results/sections/tweaks.json",
            manifest=TWEAKS_MANIFEST,
        conda:
            "../envs/trainability.yaml"
        log:
            "results/logs/tweaks/tables.log",
        shell:
            "trainability tweaks-tables {input.runs:q} --runs-out {output.runs:q}"
            " --history-out {output.history:q} --summary-out {output.summary:q}"
            " --metrics-out {output.metrics:q} --manifest {output.manifest:q} > {log:q} 2>&1"

    rule tweaks_figures:
        input:
            runs=TWEAKS_TABLES["runs"],
            history=TWEAKS_TABLES["history"],
            code=TWEAKS_FIGURES_CODE,
        output:
            [
                report(f, caption=tweaks_study.caption(f), category=tweaks_study.CATEGORY)
                for f in TWEAKS_FIGURES
            ],
        params:
            lecture=partial(tweaks_study.lecture_args, config),
            out_dir=rebuild.output_dir,
        conda:
            "../envs/trainability.yaml"
        log:
            "results/logs/tweaks/figures.log",
        shell:
            "trainability tweaks-figures --runs {input.runs:q} --history {input.history:q}"
            " {params.lecture:q} --out-dir {params.out_dir:q} > {log:q} 2>&1"

    rule tweaks_section:
        input:
            runs=TWEAKS_TABLES["runs"],
            manifest=TWEAKS_MANIFEST,
            figures=TWEAKS_FIGURES,
            code=TWEAKS_SECTION_CODE,
        output:
            TWEAKS_SECTION,
        params:
            lecture=partial(tweaks_study.lecture_args, config),
            figures_rel="figures/tweaks",
        conda:
            "../envs/trainability.yaml"
        log:
            "results/logs/tweaks/section.log",
        shell:
            "trainability tweaks-section --runs {input.runs:q} {params.lecture:q}"
            " --figures-rel {params.figures_rel:q} --out {output:q} > {log:q} 2>&1"

    rule tweaks:
        input:
            rules.tweaks_section.output,
            rules.tweaks_figures.output,
            rules.tweaks_tables.output,

    REPORT_SECTIONS.append(TWEAKS_SECTION)
    REPORT_METRICS.append(rules.tweaks_tables.output.metrics)
    rebuild_missing(TWEAKS_RUNS, TWEAKS_TABLES["runs"])
    # a deleted table, figure or section, or a workspace without the manifest, reruns the
    # chain: remove the section and the report that embeds it (report.smk's output)
    TWEAKS_MISSING = rebuild.rebuild_if_missing(
        [TWEAKS_MANIFEST, *TWEAKS_TABLES.values(), *TWEAKS_FIGURES, TWEAKS_SECTION],
        [TWEAKS_SECTION, "results/report.md"],
    )
    if TWEAKS_MISSING:
        logger.warning(f"tweaks: rebuilding missing {', '.join(TWEAKS_MISSING)}")
