# ---- the lecture side by side (params.yaml `lecture`) ----
# Trains nothing: its tables read the grid's, the gradient study's and the batch-norm
# study's run files of the networks the lecture drew, by the names those studies give them
# (trainability/studies/lecture/spec.py), so `snakemake --cores all lecture` makes only
# files the full pipeline makes. Then its figures and section (products.smk) and
# results/lecture.md, the lecture in a minute. Run alone: snakemake --cores 2 lecture


if enabled("lecture"):
    LECTURE = spec_of("lecture", dataset=DATASET, train_code=code_hash(TRAIN_CODE))
    LECTURE_PATHS = studies.paths("lecture")

    rule lecture_report:
        input:
            tables=[f"{LECTURE_PATHS['tables']}/{f}" for f in LECTURE.tables().values()],
            figures=[f"{LECTURE_PATHS['figures']}/{f}" for f, _ in LECTURE.figures()],
            code=code("trainability.studies.lecture.report"),
        output:
            report("results/lecture.md", caption="../report/lecture.rst", category="Report"),
        params:
            spec=studies.spec_json(LECTURE),
        resources:
            **document_resources("lecture_report", ["results/lecture.md"], "lecture"),
        benchmark:
            jobusage.benchmark("lecture_report")
        conda:
            "../envs/trainability.yaml"
        log:
            jobusage.log("lecture_report"),
        shell:
            "trainability lecture-report --spec {params.spec:q} > {log:q} 2>&1"

    products(LECTURE, reads={"tables": {"data": DATASET}}, also=rules.lecture_report.output)
