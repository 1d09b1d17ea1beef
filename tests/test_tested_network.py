"""Every command reads a trained network as the test protocol does: loaded, then batch norm recalibrated on the
training inputs with the noise off (the dry run). A checkpoint's own moving statistics are those of the noisy
training activations, which the test never sees; figure 1's "learned" check was once read from them."""

import numpy as np
import pytest

from infodropout.layers import iter_layers

RNG = np.random.default_rng(0)
X = RNG.normal(size=(120, 32, 32, 3)).astype("float32")
Y = RNG.integers(0, 10, size=120)


def moving_statistics(network) -> list[np.ndarray]:
    import keras

    return [np.asarray(variable.numpy()) for layer in iter_layers(network)
            if isinstance(layer, keras.layers.BatchNormalization)
            for variable in (layer.moving_mean, layer.moving_variance)]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny All-CNN-32 (Softplus, batch norm in every block) trained one epoch, and its checkpoint."""
    import keras

    from infodropout.models import all_cnn_32
    from infodropout.paper.train.trainer import TrainSettings, train_classifier

    keras.utils.set_random_seed(0)
    network = all_cnn_32(0.05, dropout="information", activation="softplus", kl_weight=1.0 / len(X))
    settings = TrainSettings(batch_size=40, epochs=1, learning_rate=0.05, lr_drops=(), weight_decay=1e-3)
    checkpoint = tmp_path_factory.mktemp("run") / "run.keras"
    train_classifier(network, X, Y, settings, checkpoint, verbose=0, monitor_alpha=False)
    return network, settings, checkpoint


def test_a_loaded_network_has_the_statistics_and_training_error_of_the_network_as_tested(trained):
    from infodropout.paper.train.runs import load_checkpoint
    from infodropout.paper.train.evaluation import load_network, test_classifier, training_error
    from infodropout.paper.data.formats import Dataset

    network, settings, checkpoint = trained
    config = {"models_dir": str(checkpoint.parent), "batch_size": settings.batch_size}
    # The commands' loader: the run named by config (here "run", every value its default), with its data.
    loaded, data = load_checkpoint("run", config, config, lambda _: Dataset(X, Y, X[:40], Y[:40]))
    raw = load_network(checkpoint)
    test_classifier(network, data.x_train, data.x_test, data.y_test, settings, verbose=0)  # the protocol, in memory
    for tested, read in zip(moving_statistics(network), moving_statistics(loaded)):
        np.testing.assert_array_equal(read, tested)
    assert training_error(loaded, X, Y, settings) == training_error(network, X, Y, settings)
    # What the loader changes: the checkpoint's own statistics are not the tested ones.
    assert any(not np.allclose(a, b, rtol=1e-3, atol=1e-4)
               for a, b in zip(moving_statistics(raw), moving_statistics(loaded)))


def test_a_network_without_batch_norm_is_left_as_it_is_without_a_pass():
    from infodropout.models import fully_connected
    from infodropout.paper.train.evaluation import recalibrate_batch_norm

    network = fully_connected(8, dropout="information", kl_weight=0.01)
    before = [np.array(w) for w in network.get_weights()]
    recalibrate_batch_norm(network, None, 10)  # no pass is made, so no inputs are read
    for a, b in zip(before, network.get_weights()):
        np.testing.assert_array_equal(a, b)
