#!/usr/bin/env bash
# The runs whose histories and weights must not change when code is reorganised: run them with the code before
# and after, each into its own folder ($1), then compare with tools/compare_runs.py BEFORE/models AFTER/models.
set -euo pipefail
cd "$(dirname "$0")/.."
R=$1; mkdir -p $R
C="models_dir=$R/models plots_dir=$R/plots threads=1 verbose=2"
P=.venv/bin/python
$P cifar.py train with softplus dataset=sample sample_test=500 num_train=500 epochs=2 lr_drops=[1] beta=0.3 filter_percentage=0.1 $C
$P mnist_fc.py sweep with dataset=sample num_train=500 num_test=300 epochs=2 lr_drops=[] 'widths=[16,32]' 'seeds=[0,1]' 'methods=[information]' jobs=1 $C
$P vae.py train with dataset=sample num_train=500 num_test=100 validation=100 epochs=2 lr_drops=[] latent=information $C
$P cluttered.py sweep with digits=sample num_train=64 num_test=32 epochs=1 lr_drops=[] filter_percentage=0.1 'betas=[0.01,0.5]' jobs=1 $C
