"""The reproduction: what runs at each scale (scales.py, each scale derived from the one below), the plan made of it
(plans.py: steps of an experiment, a command and a config), the runner that runs each step not yet done in a process
of its own (runner.py), and its ledger of what each step ran, as data (ledger.py). The report wing judges the paper's
claims on what the steps left."""
