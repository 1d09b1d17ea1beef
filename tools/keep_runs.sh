#!/usr/bin/env bash
# Keeps a long step's runs committed while it trains: every INTERVAL seconds (default 600) it copies the models
# folder's runs into WORK/runs (python -m infodropout.paper.train.archive keep) and commits them, with the sweeps'
# results.json written so far, so that a session that ends or a machine that is replaced loses at most each run's
# epoch in progress; `./reproduce.py --keep-runs` puts them back before it trains again (docs/reproduction.md).
#
#   tools/keep_runs.sh MODELS_DIR [INTERVAL_SECONDS] [WORK]      # WORK: results/medium by default
#
# It commits only those paths (`git commit -- paths`), so whatever else is staged stays staged; a commit that meets
# another one's lock is tried again at the next round. Stop it with Ctrl-C or kill: it keeps and commits once more.
set -uo pipefail
cd "$(dirname "$0")/.."
models=${1:?usage: tools/keep_runs.sh MODELS_DIR [INTERVAL_SECONDS] [WORK]}
interval=${2:-600}
work=${3:-results/medium}
python=${PYTHON:-.venv/bin/python}

keep_and_commit() {
    "$python" -m infodropout.paper.train.archive keep --models-dir "$models" --archive "$work/runs" || return 1
    mapfile -t paths < <(git ls-files --others --modified --exclude-standard -- "$work/runs" "$work/*/results.json" \
                         "$work/**/results.json")
    [ ${#paths[@]} -eq 0 ] && return 0
    git add -- "${paths[@]}" && \
        git commit --quiet -m "Runs kept while they train: $(date -u '+%Y-%m-%d %H:%M') UTC, ${#paths[@]} file(s) in $work" \
            -- "${paths[@]}" && echo "committed ${#paths[@]} file(s)"
}

sleeper=
trap '[ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null; keep_and_commit; exit 0' INT TERM
while true; do
    keep_and_commit || echo "keep_runs: this round failed; trying again in ${interval} s" >&2
    sleep "$interval" >/dev/null 2>&1 &
    sleeper=$!
    wait "$sleeper"
done
