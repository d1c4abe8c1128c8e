# ---- study 1, vanishing and exploding gradients (params.yaml `gradients`) ----
# One training job per activation x init x depth (`trainability train`, all seeds batched;
# the running example's depth model.depth is always included), then the tables, figures
# and the report's section. The helpers live in trainability/studies/gradients.py.
# Run alone: snakemake --cores 2 gradients


if enabled("gradients"):
    from functools import partial

    from trainability.studies import gradients as gradients_study

    GRADIENTS = config["gradients"]
    # the source files each job runs beyond the trainer: the tables recompute gradients
    # (model, activations), the figures draw with figures.py, the section judges the claims
    # with claims.py
    GRADIENTS_CODE = {
        "tables": [
            str(SRC / f)
            for f in (
                "studies/gradients.py", "studies/__init__.py", "tables.py", "io.py",
                "cli.py", "model.py", "activations.py", "initializers.py", "train.py",
                "registry.py",
            )
        ],
        "figures": [
            str(SRC / f)
            for f in ("studies/gradients.py", "studies/__init__.py", "figures.py", "io.py",
                      "cli.py")
        ],
    }
    GRADIENTS_CODE["section"] = GRADIENTS_CODE["figures"] + [str(SRC / "claims.py")]
    # everything a run file depends on besides activation, init and depth (in its name):
    # the data, the model's width and init_scale, the train section but its seeds, the
    # study's seeds and the trainer's code
    GRADIENTS_TAG = tag(
        "gradients",
        DATA_TAG,
        config["model"]["width"],
        config["model"]["init_scale"],
        {k: v for k, v in config["train"].items() if k != "seeds"},
        GRADIENTS["seeds"],
        code_hash(TRAIN_CODE),
    )
    GRADIENTS_RUNS = gradients_study.run_files(config, GRADIENTS_TAG)
    GRADIENTS_TABLES = {
        name: f"results/tables/{file}" for name, file in gradients_study.TABLES.items()
    }
    GRADIENTS_FIGURES = [f"results/figures/gradients/{f}" for f in gradients_study.FIGURES]
    GRADIENTS_SECTION = "results/sections/gradients.md"
    GRADIENTS_METRICS = "results/sections/gradients.json"  # the headline numbers, for DVC
    # not versioned by DVC (results/logs is .dvcignored): a workspace without it (a DVC temp
    # or queued experiment, a fresh clone) rebuilds the tables from the current run files
    GRADIENTS_MANIFEST = "results/logs/gradients/tables-inputs.txt"

    rule gradients_train:
        input:
            data=DATASET,
            code=TRAIN_CODE,
        output:
            "results/runs/gradients/{activation}/{init}/d{depth}-{tag}.npz",
        wildcard_constraints:
            depth="[0-9]+",
        params:
            args=partial(gradients_study.train_args, config),
        conda:
            "../envs/trainability.yaml"
        log:
            "results/logs/gradients/train/{activation}/{init}/d{depth}-{tag}.log",
        shell:
            "trainability train --data {input.data:q} --activation {wildcards.activation:q}"
            " --init {wildcards.init:q} --depth {wildcards.depth:q} {params.args:q}"
            " --out {output:q} > {log:q} 2>&1"

    rule gradients_tables:
        input:
            runs=GRADIENTS_RUNS,
            data=DATASET,
            code=GRADIENTS_CODE["tables"],
        output:
            **GRADIENTS_TABLES,
            manifest=GRADIENTS_MANIFEST,
        params:
            depth=config["model"]["depth"],
        conda:
            "../envs/trainability.yaml"
        log:
            "results/logs/gradients/tables.log",
        shell:
            "trainability gradients-tables {input.runs:q} --data {input.data:q}"
            " --running-depth {params.depth:q} --epochs-out {output.epochs:q}"
            " --layers-out {output.layers:q} --ratios-out {output.ratios:q}"
            " --manifest {output.manifest:q} > {log:q} 2>&1"

    rule gradients_figures:
        input:
            **GRADIENTS_TABLES,
            code=GRADIENTS_CODE["figures"],
        output:
            [
                report(f, caption=gradients_study.caption(f), category="Gradients study")
                for f in GRADIENTS_FIGURES
            ],
        params:
            out_dir=rebuild.output_dir,
        conda:
            "../envs/trainability.yaml"
        log:
            "results/logs/gradients/figures.log",
        shell:
            "trainability gradients-figures --epochs {input.epochs:q} --layers {input.layers:q}"
            " --ratios {input.ratios:q} --out-dir {params.out_dir:q} > {log:q} 2>&1"

    rule gradients_section:
        input:
            **GRADIENTS_TABLES,
            manifest=GRADIENTS_MANIFEST,
            figures=GRADIENTS_FIGURES,
            code=GRADIENTS_CODE["section"],
        output:
            section=GRADIENTS_SECTION,
            metrics=GRADIENTS_METRICS,
        params:
            figures_link="figures/gradients",
        conda:
            "../envs/trainability.yaml"
        log:
            "results/logs/gradients/section.log",
        shell:
            "trainability gradients-section --epochs {input.epochs:q} --layers {input.layers:q}"
            " --ratios {input.ratios:q} --figures-link {params.figures_link:q}"
            " --out {output.section:q} --metrics-out {output.metrics:q} > {log:q} 2>&1"

    rule gradients:
        input:
            rules.gradients_section.output,
            rules.gradients_figures.output,
            rules.gradients_tables.output,

    REPORT_SECTIONS.append(GRADIENTS_SECTION)
    REPORT_METRICS.append(GRADIENTS_METRICS)
    # a deleted or corrupt run file the tables were built from reruns them; a deleted table
    # or figure, or a workspace without the manifest, reruns the chain up to the section
    GRADIENTS_MISSING = rebuild.rebuild_if_lost(GRADIENTS_MANIFEST)
    GRADIENTS_MISSING += rebuild.rebuild_if_missing(
        [GRADIENTS_MANIFEST, *GRADIENTS_TABLES.values(), *GRADIENTS_FIGURES,
         GRADIENTS_METRICS],
        [GRADIENTS_SECTION, "results/report.md"],
    )
    if GRADIENTS_MISSING:
        logger.warning(f"gradients: rebuilding missing {', '.join(GRADIENTS_MISSING)}")
