# ---- improving trainability (params.yaml `tweaks`, with `model` and part of `train`) ----
# One training job per activation trains every optimizer x variant x learning rate x seed
# at once, holding out validation points; then the tables (with every choice made on
# validation), figures and the report's section (trainability/studies/tweaks/).
# Run alone: snakemake --cores 2 tweaks


if enabled("tweaks"):

    TWEAKS = spec_of("tweaks", dataset=DATASET, train_code=code_hash(TRAIN_CODE))

    trains(TWEAKS, "results/runs/tweaks/{activation}-{tag}.npz", DATASET)
    products(TWEAKS, reads={stage: {"data": DATASET} for stage in ("tables", "figures", "section")},
             history={"figures": False})
