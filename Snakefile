# trainability: the lecture's claims about training neural networks, measured.
# Usage: snakemake --cores 8        (parameters: params.yaml; see README.md)
from snakemake.utils import min_version

min_version("9.18")


configfile: "params.yaml"


report: "src/workflow/report/workflow.rst"


include: "src/workflow/rules/common.smk"
include: "src/workflow/rules/data.smk"
include: "src/workflow/rules/grid.smk"
include: "src/workflow/rules/gradients.smk"
include: "src/workflow/rules/scaling.smk"
include: "src/workflow/rules/batchnorm.smk"
include: "src/workflow/rules/tweaks.smk"
include: "src/workflow/rules/size.smk"
include: "src/workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        # every product a reader sees: a deleted one is rebuilt even when the report is
        # up to date (Snakemake remakes only what something out of date asks for)
        rules.report.output,
        [getattr(rules, f"{s}_{stage}").output
         for s in REPORT_STUDIES for stage in ("tables", "figures")],
