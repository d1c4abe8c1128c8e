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
include: "src/workflow/rules/epsilon.smk"
include: "src/workflow/rules/robustness.smk"
include: "src/workflow/rules/size.smk"
include: "src/workflow/rules/lecture.smk"
include: "src/workflow/rules/products.smk"
include: "src/workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        # every product a reader sees: a deleted one is rebuilt even when the report is
        # up to date (Snakemake remakes only what something out of date asks for)
        rules.report.output,
        rules.report_html.output,
        # each study's alias rule lists its products (tables, figures, section)
        [getattr(rules, s).input for s in REPORT_STUDIES],


onsuccess:
    # A plain `snakemake` run leaves DVC without a record of these results, so experiments
    # (`dvc exp run -S ...`) would have no baseline to compare with: say how to make one.
    if "DVC_STAGE" not in os.environ and not Path("dvc.lock").exists():
        print("Results: results/report.md (as one page: results/report.html). To compare "
              "DVC experiments with them, record them once: dvc commit -f && git add dvc.lock "
              "&& git commit -m 'default results'")
