"""The performance wing: the training-speed benchmark and the step profile, on the training wing's own code."""
