"""The configs wing: one typed config per experiment (``cifar.Config``, ``cluttered.Config``, ``occluded.Config``,
``mnist_fc.Config``, ``vae.Config``, and ``process_cifar.Config`` of CIFAR-10's preprocessing), each a frozen
dataclass whose fields carry their default (the protocol's, from :mod:`infodropout.paper.protocols`), their one-line description and their rule; the rules and the checks that tie
keys together (:mod:`~infodropout.paper.configs.rules`) run once, when a config is made. Plain Python, neither sacred
nor TensorFlow: the experiments (and their command line) make a config, the commands read it. It reads the data wing
(the embedded sample's size) only."""
