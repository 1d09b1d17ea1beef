"""The command-line wing: the sacred glue that turns an experiment's config and commands into a script (the only
place sacred is imported), each config value's rule, the help, the check for packages before anything heavy loads,
and the probe commands shared by experiments. It uses the data, training and figures wings."""
