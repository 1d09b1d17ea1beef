"""The performance wing: the training-speed benchmark and the step profile, on the training wing's own code, and the
comparison of the step with a plain PyTorch port of the same networks (torch installed for it alone)."""
