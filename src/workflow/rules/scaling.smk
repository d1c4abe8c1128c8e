# ---- study 2, scaling and initialization (params.yaml `scaling`) ----
# Layer outputs at initialization: one forward-pass job over every activation x
# initialization. Input standardization: three versions of the data (the grid's dataset,
# its features x input_scale, and those standardized), one training job per version x
# activation x init (all seeds batched). Then the tables, figures and the report's section.
# The helpers live in trainability/studies/scaling.py.
# Run alone: snakemake --cores 2 scaling


if enabled("scaling"):
    from functools import partial

    from trainability.studies import scaling as scaling_study

    SCALING = config["scaling"]
    # the source files each job runs beyond the trainer: the tables make forward passes
    # (model, activations, initializers), the figures draw with figures.py, the section
    # judges the claims with claims.py
    SCALING_CODE = {
        "tables": [
            str(SRC / f)
            for f in (
                "studies/scaling.py", "studies/__init__.py", "tables.py", "io.py", "cli.py",
                "model.py", "activations.py", "initializers.py", "train.py", "registry.py",
            )
        ],
        "figures": [
            str(SRC / f)
            for f in ("studies/scaling.py", "studies/__init__.py", "figures.py", "io.py",
                      "cli.py")
        ],
    }
    SCALING_CODE["section"] = SCALING_CODE["figures"] + [str(SRC / "claims.py")]
    # the raw inputs are the grid's dataset; the scaled and standardized versions are the
    # same points with the features multiplied by input_scale (and then standardized)
    SCALING_DATA_TAG = tag("scaling", DATA_TAG, SCALING["input_scale"])
    SCALING_DATASETS = {
        v: scaling_study.dataset_file(v, DATASET, SCALING_DATA_TAG)
        for v in scaling_study.VARIANTS
    }
    # everything a run file depends on besides its version, activation and init (its name)
    SCALING_TAG = tag(
        "scaling",
        SCALING_DATA_TAG,
        {k: v for k, v in config["model"].items() if k != "batch_norm"},
        {k: v for k, v in config["train"].items() if k != "seeds"},
        SCALING["seeds"],
        code_hash(TRAIN_CODE),
    )
    SCALING_RUNS = scaling_study.run_files(config, SCALING_TAG)
    SCALING_TABLES = {
        name: f"results/tables/{file}" for name, file in scaling_study.TABLES.items()
    }
    SCALING_FIGURES = [
        f"results/figures/scaling/{name}"
        for name in scaling_study.figure_names(SCALING["activations"])
    ]
    SCALING_SECTION = "results/sections/scaling.md"
    SCALING_METRICS = "results/sections/scaling.json"  # the headline numbers, for DVC
    # not versioned by DVC (results/logs is .dvcignored): a workspace without them (a DVC
    # temp or queued experiment, a fresh clone) rebuilds the tables
    SCALING_MANIFESTS = {
        "init": "results/logs/scaling/init-settings.txt",
        "tables": "results/logs/scaling/tables-inputs.txt",
    }

    rule scaling_dataset:
        input:
            code=DATA_CODE,
        output:
            "results/data/scaling/{variant}-{tag}.npz",
        wildcard_constraints:
            variant="scaled|standardized",
        params:
            args=partial(scaling_study.dataset_args, config),
        conda:
            "../envs/trainability.yaml"
        log:
            "results/logs/scaling/dataset-{variant}-{tag}.log",
        shell:
            "trainability dataset {params.args:q} --out {output:q} > {log:q} 2>&1"

    rule scaling_train:
        input:
            data=partial(scaling_study.train_data, DATASET, SCALING_DATA_TAG),
            code=TRAIN_CODE,
        output:
            "results/runs/scaling/{variant}/{activation}/{init}-{tag}.npz",
        wildcard_constraints:
            variant="|".join(scaling_study.VARIANTS),
        params:
            args=partial(scaling_study.train_args, config),
        conda:
            "../envs/trainability.yaml"
        log:
            "results/logs/scaling/train/{variant}/{activation}/{init}-{tag}.log",
        shell:
            "trainability train --data {input.data:q} --activation {wildcards.activation:q}"
            " --init {wildcards.init:q} {params.args:q} --out {output:q} > {log:q} 2>&1"

    rule scaling_init:
        input:
            data=DATASET,
            code=SCALING_CODE["tables"],
        output:
            layers=SCALING_TABLES["layers"],
            histograms=SCALING_TABLES["histograms"],
            manifest=SCALING_MANIFESTS["init"],
        params:
            args=partial(scaling_study.init_args, config),
        conda:
            "../envs/trainability.yaml"
        log:
            "results/logs/scaling/init.log",
        shell:
            "trainability scaling-init --data {input.data:q} {params.args:q}"
            " --layers-out {output.layers:q} --histograms-out {output.histograms:q}"
            " --manifest {output.manifest:q} > {log:q} 2>&1"

    rule scaling_tables:
        input:
            **SCALING_DATASETS,
            runs=SCALING_RUNS,
            code=SCALING_CODE["tables"],
        output:
            training=SCALING_TABLES["training"],
            runs=SCALING_TABLES["runs"],
            inputs=SCALING_TABLES["inputs"],
            manifest=SCALING_MANIFESTS["tables"],
        conda:
            "../envs/trainability.yaml"
        log:
            "results/logs/scaling/tables.log",
        shell:
            "trainability scaling-tables {input.runs:q} --raw {input.raw:q}"
            " --scaled {input.scaled:q} --standardized {input.standardized:q}"
            " --training-out {output.training:q} --runs-out {output.runs:q}"
            " --inputs-out {output.inputs:q} --manifest {output.manifest:q} > {log:q} 2>&1"

    rule scaling_figures:
        input:
            **SCALING_TABLES,
            code=SCALING_CODE["figures"],
        output:
            [
                report(f, caption=scaling_study.caption(f), category="Scaling study")
                for f in SCALING_FIGURES
            ],
        params:
            input_scale=SCALING["input_scale"],
            out_dir=rebuild.output_dir,
        conda:
            "../envs/trainability.yaml"
        log:
            "results/logs/scaling/figures.log",
        shell:
            "trainability scaling-figures --layers {input.layers:q}"
            " --histograms {input.histograms:q} --training {input.training:q}"
            " --runs {input.runs:q} --inputs {input.inputs:q}"
            " --input-scale {params.input_scale:q} --out-dir {params.out_dir:q} > {log:q} 2>&1"

    rule scaling_section:
        input:
            **SCALING_TABLES,
            manifests=list(SCALING_MANIFESTS.values()),
            figures=SCALING_FIGURES,
            code=SCALING_CODE["section"],
        output:
            section=SCALING_SECTION,
            metrics=SCALING_METRICS,
        params:
            depth=config["model"]["depth"],
            input_scale=SCALING["input_scale"],
            figures_link="figures/scaling",
        conda:
            "../envs/trainability.yaml"
        log:
            "results/logs/scaling/section.log",
        shell:
            "trainability scaling-section --layers {input.layers:q}"
            " --histograms {input.histograms:q} --training {input.training:q}"
            " --runs {input.runs:q} --inputs {input.inputs:q} --depth {params.depth:q}"
            " --input-scale {params.input_scale:q} --figures-link {params.figures_link:q}"
            " --out {output.section:q} --metrics-out {output.metrics:q} > {log:q} 2>&1"

    rule scaling:
        input:
            rules.scaling_section.output,
            rules.scaling_figures.output,
            rules.scaling_init.output,
            rules.scaling_tables.output,

    REPORT_SECTIONS.append(SCALING_SECTION)
    REPORT_METRICS.append(SCALING_METRICS)
    # a deleted or corrupt run or dataset file the tables were built from reruns them; a
    # deleted table or figure, or a workspace without the manifests, reruns the chain up to
    # the section
    SCALING_MISSING = rebuild.rebuild_if_lost(SCALING_MANIFESTS["tables"])
    SCALING_MISSING += rebuild.rebuild_if_missing(
        [*SCALING_MANIFESTS.values(), *SCALING_TABLES.values(), *SCALING_FIGURES,
         SCALING_METRICS],
        [SCALING_SECTION, "results/report.md"],
    )
    if SCALING_MISSING:
        logger.warning(f"scaling: rebuilding missing {', '.join(SCALING_MISSING)}")
