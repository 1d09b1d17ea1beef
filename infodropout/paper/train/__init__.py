"""The training wing: one run from config to tested network (the training protocol, its callbacks and early stop,
checkpoints and resumption, the distribution strategies, the test protocol with batch norm recalibrated, the runs'
names and registry) and sweeps of runs. It reads the data wing, never the command line or the report."""
