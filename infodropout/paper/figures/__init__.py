"""The figures wing: matplotlib drawings of results already computed (curves, histograms, heatmaps, samples). It
imports nothing else of the harness, so that both the experiments and the report draw with it."""
