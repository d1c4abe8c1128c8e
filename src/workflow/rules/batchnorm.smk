# ---- batch normalization (params.yaml `batchnorm`, `model`, `train`) ----
# One training job per activation x batch-norm placement (none, after `after_layers`, after
# every hidden layer) trains every seed at once; then the tables, figures and the report's
# section (trainability/studies/batchnorm/). Run alone: snakemake --cores 2 batchnorm


if enabled("batchnorm"):
    BATCHNORM = spec_of("batchnorm", dataset=DATASET, train_code=code_hash(TRAIN_CODE))

    trains(BATCHNORM, "results/runs/batchnorm/{activation}/{placement}-{tag}.npz", DATASET,
           placement="none|every|after[0-9-]+")
    products(BATCHNORM, reads={"section": {"data": DATASET}})
