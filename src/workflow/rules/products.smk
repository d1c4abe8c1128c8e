# ---- every study's training rule and products, written once ----
# A study's own rule file registers its `trainability train` rule with
# `trains(SPEC, "<run files' pattern>", <dataset>)` and its products with
# `products(SPEC, reads=...)` (trainability/rulekit.py); this file makes, for each registered
# study, <study>_train (the dataset -> its run files), <study>_tables (its run files ->
# results/tables/<study>/), <study>_figures (the tables -> results/figures/<study>/),
# <study>_section (-> results/sections/<study>.md and .json) and <study>, the alias that
# asks for all of them: `snakemake --cores 2 <study>`. Rules that run other commands stay in
# the study's file.


for _training in KIT.trainings:

    rule:
        name:
            _training.name
        input:
            data=_training.data,
            code=TRAIN_CODE,
        output:
            _training.output,
        wildcard_constraints:
            **_training.constraints,
        params:
            args=_training.spec.train_args,
        resources:
            **_training.resources,
        benchmark:
            jobusage.benchmark(_training.name, _training.job)
        conda:
            "../envs/trainability.yaml"
        log:
            jobusage.log(_training.name, _training.job),
        shell:
            # a literal: Snakemake evaluates the command when the job runs, after the loop
            "trainability train --data {input.data:q} {params.args:q} --out {output:q}"
            " > {log:q} 2>&1"


for _product in PRODUCTS.values():
    _spec, _study, _where = _product.spec, _product.spec.study, studies.paths(_product.spec.study)

    rule:
        name:
            f"{_study}_tables"
        input:
            runs=_spec.run_files(),
            code=stage_code(_study, "tables"),
            **_product.reads.get("tables", {}),
        output:
            tables=[f"{_where['tables']}/{f}" for f in _spec.tables().values()],
            stamp=wf.stamp(f"{_study}_tables"),
        params:
            spec=studies.spec_json(_spec),
            study=_study,
        resources:
            **product_resources(_spec, "tables", _product.history["tables"]),
        benchmark:
            jobusage.benchmark(f"{_study}_tables")
        conda:
            "../envs/trainability.yaml"
        log:
            jobusage.log(f"{_study}_tables"),
        shell:
            "trainability {params.study} tables --spec {params.spec:q} > {log:q} 2>&1"
            " && printf '%s\\n' {input:q} > {output.stamp:q}"

    rule:
        name:
            f"{_study}_figures"
        input:
            tables=getattr(rules, f"{_study}_tables").output.tables,
            code=stage_code(_study, "figures"),
            **_product.reads.get("figures", {}),
        output:
            figures=[
                report(f"{_where['figures']}/{name}",
                       caption=f"../../trainability/studies/{_study}/captions/{kind}.rst",
                       category=studies.module(_study, "spec").CATEGORY)
                for name, kind in _spec.figures()
            ],
            stamp=wf.stamp(f"{_study}_figures"),
        params:
            spec=studies.spec_json(_spec),
            study=_study,
        resources:
            **product_resources(_spec, "figures", _product.history["figures"]),
        benchmark:
            jobusage.benchmark(f"{_study}_figures")
        conda:
            "../envs/trainability.yaml"
        log:
            jobusage.log(f"{_study}_figures"),
        shell:
            "trainability {params.study} figures --spec {params.spec:q} > {log:q} 2>&1"
            " && printf '%s\\n' {input:q} > {output.stamp:q}"

    rule:
        name:
            f"{_study}_section"
        input:
            tables=getattr(rules, f"{_study}_tables").output.tables,
            figures=getattr(rules, f"{_study}_figures").output.figures,
            code=stage_code(_study, "section"),
            **_product.reads.get("section", {}),
        output:
            section=_where["section"],
            results=_where["results"],
            appendix=_where["appendix"],
            stamp=wf.stamp(f"{_study}_section"),
        params:
            spec=studies.spec_json(_spec),
            study=_study,
        resources:
            **product_resources(_spec, "section", _product.history["section"]),
        benchmark:
            jobusage.benchmark(f"{_study}_section")
        conda:
            "../envs/trainability.yaml"
        log:
            jobusage.log(f"{_study}_section"),
        shell:
            "trainability {params.study} section --spec {params.spec:q} > {log:q} 2>&1"
            " && printf '%s\\n' {input:q} > {output.stamp:q}"

    rule:
        # every product a reader sees (the default target asks for them: a deleted one is
        # rebuilt even when the report is up to date)
        name:
            _study
        input:
            getattr(rules, f"{_study}_tables").output,
            getattr(rules, f"{_study}_figures").output,
            getattr(rules, f"{_study}_section").output,
            _product.also,
