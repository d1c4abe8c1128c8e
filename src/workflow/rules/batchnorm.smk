# ---- study 3, batch normalization (params.yaml `batchnorm`) ----
# One training job per activation x setting (no batch norm, after `after_layers`, after every
# hidden layer), all seeds batched; then the tables, figures and the report's section.
# The helpers live in trainability/studies/batchnorm.py ("workflow helpers").
# Run alone: snakemake --cores 2 batchnorm


if enabled("batchnorm"):
    from functools import partial

    from trainability.studies import batchnorm as bn_study

    BN = config["batchnorm"]
    if bn_study.check_params(config):
        raise WorkflowError(f"params.yaml is invalid:\n  - {bn_study.check_params(config)}")
    # the source files each job runs (tables: NumPy and pandas; figures add matplotlib
    # helpers; the section adds the report's claim helpers)
    BN_CODE = [
        str(SRC / f)
        for f in ("studies/batchnorm.py", "studies/__init__.py", "tables.py", "io.py", "cli.py")
    ]
    BN_FIGURES_CODE = BN_CODE + [str(SRC / "figures.py")]
    BN_SECTION_CODE = BN_FIGURES_CODE + [str(SRC / "claims.py")]
    # everything a run file depends on besides its activation and setting (in its name);
    # model.batch_norm and train.seeds are replaced by the study's own
    BN_TAG = tag(
        "batchnorm",
        DATA_TAG,
        {k: v for k, v in config["model"].items() if k != "batch_norm"},
        {k: v for k, v in config["train"].items() if k != "seeds"},
        BN["init"],
        BN["seeds"],
        code_hash(TRAIN_CODE),
    )
    BN_RUNS = bn_study.run_files(config, BN_TAG)
    BN_TABLES = {
        "runs": "results/tables/batchnorm_runs.csv",
        "history": "results/tables/batchnorm_history.csv.gz",
        "layers": "results/tables/batchnorm_layers.csv.gz",
        "summary": "results/tables/batchnorm_summary.csv",
    }
    # not versioned by DVC (results/logs is .dvcignored): a workspace without it (a DVC temp
    # or queued experiment, a fresh clone) rebuilds the tables from the current run files
    BN_MANIFEST = "results/logs/batchnorm/tables-inputs.txt"
    BN_SECTION = "results/sections/batchnorm.md"
    BN_FIGURES = [
        f"results/figures/batchnorm/{name}" for name in bn_study.figure_names(BN["activations"])
    ]

    rule batchnorm_train:
        input:
            data=DATASET,
            code=TRAIN_CODE,
        output:
            "results/runs/batchnorm/{activation}/{placement}-{tag}.npz",
        wildcard_constraints:
            placement="none|every|after[0-9-]+",
        params:
            args=partial(bn_study.train_args, config),
        conda:
            "../envs/trainability.yaml"
        log:
            "results/logs/batchnorm/train/{activation}/{placement}-{tag}.log",
        shell:
            "trainability train --data {input.data:q} --activation {wildcards.activation:q}"
            " {params.args:q} --out {output:q} > {log:q} 2>&1"

    rule batchnorm_tables:
        input:
            runs=BN_RUNS,
            code=BN_CODE,
        output:
            runs=BN_TABLES["runs"],
            history=BN_TABLES["history"],
            layers=BN_TABLES["layers"],
            summary=BN_TABLES["summary"],
            metrics="results/sections/batchnorm.json",
            manifest=BN_MANIFEST,
        conda:
            "../envs/trainability.yaml"
        log:
            "results/logs/batchnorm/tables.log",
        shell:
            "trainability batchnorm-tables {input.runs:q} --runs-out {output.runs:q}"
            " --history-out {output.history:q} --layers-out {output.layers:q}"
            " --summary-out {output.summary:q} --metrics-out {output.metrics:q}"
            " --manifest {output.manifest:q} > {log:q} 2>&1"

    rule batchnorm_figures:
        input:
            runs=BN_TABLES["runs"],
            history=BN_TABLES["history"],
            layers=BN_TABLES["layers"],
            code=BN_FIGURES_CODE,
        output:
            [
                report(f, caption=bn_study.caption(f), category=bn_study.CATEGORY)
                for f in BN_FIGURES
            ],
        params:
            out_dir=rebuild.output_dir,
        conda:
            "../envs/trainability.yaml"
        log:
            "results/logs/batchnorm/figures.log",
        shell:
            "trainability batchnorm-figures --runs {input.runs:q} --history {input.history:q}"
            " --layers {input.layers:q} --out-dir {params.out_dir:q} > {log:q} 2>&1"

    rule batchnorm_section:
        input:
            runs=BN_TABLES["runs"],
            layers=BN_TABLES["layers"],
            manifest=BN_MANIFEST,
            figures=BN_FIGURES,
            code=BN_SECTION_CODE,
        output:
            BN_SECTION,
        params:
            figures_rel="figures/batchnorm",
        conda:
            "../envs/trainability.yaml"
        log:
            "results/logs/batchnorm/section.log",
        shell:
            "trainability batchnorm-section --runs {input.runs:q} --layers {input.layers:q}"
            " --figures-rel {params.figures_rel:q} --out {output:q} > {log:q} 2>&1"

    rule batchnorm:
        input:
            rules.batchnorm_section.output,
            rules.batchnorm_figures.output,
            rules.batchnorm_tables.output,

    REPORT_SECTIONS.append(BN_SECTION)
    REPORT_METRICS.append(rules.batchnorm_tables.output.metrics)
    rebuild_missing(BN_RUNS, BN_TABLES["runs"])
    # a deleted table, figure or section, or a workspace without the manifest, reruns the
    # chain: remove the section and the report that embeds it (report.smk's output)
    BN_MISSING = rebuild.rebuild_if_missing(
        [BN_MANIFEST, *BN_TABLES.values(), *BN_FIGURES, BN_SECTION],
        [BN_SECTION, "results/report.md"],
    )
    if BN_MISSING:
        logger.warning(f"batchnorm: rebuilding missing {', '.join(BN_MISSING)}")
