"""The experiments wing: one module per experiment of the paper (cifar, cluttered, occluded, mnist_fc, vae, and
process_cifar, CIFAR-10's preprocessing), each with its commands as plain functions of its typed config
(``cifar.train(cifar.Config(beta=1.0))``; the configs are in :mod:`infodropout.paper.configs`), and a ``main`` that
runs them as ``python -m infodropout.paper.experiments.<name> COMMAND with KEY=VALUE ...`` or through the thin
``./<name>.py`` at the repository's top. It may import the configs, data, train, figures and cli wings; nothing
imports it, and this file imports none of its modules, so that ``-m`` runs each one once."""
