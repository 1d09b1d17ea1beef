"""The command-line wing: the sacred glue that turns an experiment's typed config and commands into a script, made
when the script runs (the only place sacred is imported), the help and ``print_config``, the checks a script makes
before anything heavy loads, and the probe commands shared by experiments. It uses the configs, data, training and
figures wings."""
