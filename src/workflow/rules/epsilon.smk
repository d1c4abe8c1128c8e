# ---- the epsilon study: RMSprop's and Adam's eps inside or outside the square root --------
# (params.yaml `epsilon`, with the `model` and `train` sections.) One training job per network
# group (activation, width) trains every initializer x setting (optimizer, convention, eps) x
# seed of the group; then the tables, figures and the report's section
# (trainability/studies/epsilon/).

if enabled("epsilon"):

    EPSILON = spec_of("epsilon", dataset=DATASET, train_code=code_hash(TRAIN_CODE))

    trains(EPSILON, "results/runs/epsilon/{activation}/w{width}-{tag}.npz", DATASET)
    products(EPSILON, reads={"section": {"data": DATASET}},
             history={"tables": False, "figures": False})
