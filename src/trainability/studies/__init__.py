"""The studies, one package each in the shape ``trainability.study`` describes."""
