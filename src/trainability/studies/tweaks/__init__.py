"""The tweaks study: which optimizer, learning rate, schedule or L2 penalty lets each
activation of the running example learn, chosen on validation data, judged on test data."""
