"""The data wing: the data sets the experiments read, from the download or the embedded sample to the arrays a
run trains on (download and checksums, file formats, Cluttered and Occluded MNIST generation, CIFAR-10's
preprocessing, the loaders). It imports nothing of the harness but its shared errors."""
