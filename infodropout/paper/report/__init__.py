"""The report wing: each scale's plan of steps and the runner that executes it with a ledger, then the report that
judges every claim of the paper on the steps' results (measurements, preconditions, verdicts, sections, page). It
runs the experiments as processes by module name and reads their files; it imports none of them."""
