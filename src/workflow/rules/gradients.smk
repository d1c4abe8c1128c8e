# ---- vanishing and exploding gradients (params.yaml `gradients`, `model`, `train`) ----
# One training job per activation x depth trains every initializer x seed of it at once
# (only the running depth records per-layer statistics every epoch); then the tables,
# figures and the report's section (trainability/studies/gradients/).
# Run alone: snakemake --cores 2 gradients


if enabled("gradients"):

    GRADIENTS = spec_of("gradients", dataset=DATASET, train_code=code_hash(TRAIN_CODE))

    trains(GRADIENTS, "results/runs/gradients/{activation}/d{depth}-{tag}.npz", DATASET,
           depth="[0-9]+")
    products(GRADIENTS, reads={"tables": {"data": DATASET}}, history={"figures": False})
