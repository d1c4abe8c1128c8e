# ---- the markdown report: every enabled study's section, in the lecture's order ----

REPORT_STUDIES = [s for s in studies.STUDIES if enabled(s)]
# the appendices the report links to: each study's (its section job writes it) and the
# method's (the report job writes it)
APPENDICES = [studies.paths(s)["appendix"] for s in REPORT_STUDIES] + [
    "results/appendix/method.md"]


rule params_file:
    # the parameters as the jobs saw them (params.yaml and any --config), for the report's
    # provenance: a file, so the report's command line stays short
    output:
        "results/params.json",
    params:
        config=json.dumps(config, sort_keys=True, indent=1),
    conda:
        "../envs/trainability.yaml"
    resources:
        **shell_resources("params_file", ["results/params.json"]),
    log:
        "results/logs/params.log",
    shell:
        "printf '%s\\n' {params.config:q} > {output:q} 2> {log:q}"


rule report:
    input:
        params=rules.params_file.output,
        sections=[studies.paths(s)["section"] for s in REPORT_STUDIES],
        results=[studies.paths(s)["results"] for s in REPORT_STUDIES],
        code=code("trainability.report"),
    output:
        report=report("results/report.md", caption="../report/report.rst", category="Report"),
        metrics="results/metrics.json",
        method=APPENDICES[-1],
        stamp=wf.stamp("report"),
    params:
        studies=[a for s in REPORT_STUDIES for a in ("--study", s)],
    resources:
        **report_resources(),
    benchmark:
        jobusage.benchmark("report")
    conda:
        "../envs/trainability.yaml"
    log:
        jobusage.log("report"),
    shell:
        "trainability report --params {input.params:q} {params.studies:q}"
        " --metrics-out {output.metrics:q} --out {output.report:q} > {log:q} 2>&1"
        " && printf '%s\\n' {input:q} > {output.stamp:q}"


rule report_html:
    # the report as one self-contained page: its figures embedded, appendices collapsible
    input:
        report=rules.report.output.report,
        appendices=APPENDICES,
        figures=[getattr(rules, f"{s}_figures").output.figures for s in REPORT_STUDIES],
        code=code("trainability.html"),
    output:
        html="results/report.html",
        stamp=wf.stamp("report_html"),
    params:
        appendices=[arg for a in APPENDICES for arg in ("--appendix", a)],
    resources:
        **report_resources("report_html"),
    benchmark:
        jobusage.benchmark("report_html")
    conda:
        "../envs/trainability.yaml"
    log:
        jobusage.log("report_html"),
    shell:
        "trainability html --report {input.report:q} {params.appendices:q}"
        " --out {output.html:q} > {log:q} 2>&1"
        " && printf '%s\\n' {input:q} > {output.stamp:q}"


if workflow.is_main_process:
    KIT.check_budget(logger.info)  # once every rule file has registered its jobs; before any change
    wf.repair(logger.warning, dry_run=workflow.output_settings.dryrun)
