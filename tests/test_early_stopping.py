"""Early stopping on a validation split: it stops on a plateau, keeps the best epoch's weights, resumes its
count, and the split is carved from the training images only."""

import numpy as np
import pytest

from infodropout.models import fully_connected
from infodropout.paper.train.early_stopping import EarlyStopping, validation_split
from infodropout.paper.data.formats import Dataset, load_mnist_sample
from infodropout.paper.train.checkpoint import read_history
from infodropout.paper.train.evaluation import load_network
from infodropout.paper.train.trainer import TrainSettings, train_classifier
from infodropout.paper.train.callbacks import history_path

DATA = load_mnist_sample()
X, Y = DATA.x_train[:300], DATA.y_train[:300]
SETTINGS = TrainSettings(batch_size=100, epochs=10, learning_rate=0.05, lr_drops=(), weight_decay=0.0)


def scripted(network, scores, snapshots):
    """An evaluate() that returns the next of ``scores`` and records the network's weights when it does."""
    def evaluate():
        snapshots.append(network.get_weights())
        return {"val_elbo": scores[len(snapshots) - 1]}
    return evaluate


def train(checkpoint, scores, snapshots, epochs=10, patience=2):
    network = fully_connected(16, dropout="none")
    stopper = EarlyStopping(network, scripted(network, scores, snapshots), checkpoint, patience=patience)
    train_classifier(network, X, Y, TrainSettings(**{**SETTINGS.__dict__, "epochs": epochs}), checkpoint,
                     verbose=0, monitor_alpha=False, early_stopping=stopper)
    return network


def same_weights(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def test_stops_on_a_plateau_and_keeps_the_best_epochs_weights(tmp_path):
    snapshots = []
    network = train(tmp_path / "run.keras", [1.0, 3.0, 2.0, 2.5, 9.0, 9.0], snapshots)
    records = read_history(history_path(tmp_path / "run.keras"))
    # Best at epoch 2; epochs 3 and 4 do not beat it: patience 2 ends the run after epoch 4.
    assert [r["epoch"] for r in records] == [1, 2, 3, 4]
    assert [r["val_elbo"] for r in records] == [1.0, 3.0, 2.0, 2.5]
    assert [r["best_epoch"] for r in records] == [1, 2, 2, 2]
    assert same_weights(network.get_weights(), snapshots[1])
    assert not same_weights(snapshots[1], snapshots[3])  # it did train on after the best epoch
    assert same_weights(load_network(tmp_path / "run.keras").get_weights(), snapshots[1])


def test_a_resumed_run_carries_its_best_weights_and_patience_counter(tmp_path):
    checkpoint = tmp_path / "run.keras"
    first = []
    train(checkpoint, [1.0, 3.0, 2.0], first, epochs=3)  # ends at its epoch limit, one epoch without progress
    later = []
    network = train(checkpoint, [2.9, 8.0], later, epochs=10)  # epochs 4, 5: one more without progress ends it
    records = read_history(history_path(checkpoint))
    assert [r["epoch"] for r in records] == [1, 2, 3, 4]
    assert len(later) == 1
    assert same_weights(network.get_weights(), first[1])  # epoch 2's weights, saved before the interruption
    # Run again: already stopped, nothing trains, and the network it hands back is the best epoch's.
    again = []
    network = train(checkpoint, [100.0], again, epochs=10)
    assert again == [] and same_weights(network.get_weights(), first[1])


def test_restart_forgets_the_old_runs_best_weights(tmp_path):
    checkpoint = tmp_path / "run.keras"
    train(checkpoint, [5.0, 1.0, 1.0], [], epochs=3)
    assert checkpoint.with_suffix(".best.npz").exists()
    stopper = EarlyStopping(fully_connected(16, dropout="none"), lambda: {}, checkpoint, patience=2)
    assert stopper.resume([]) is False and not checkpoint.with_suffix(".best.npz").exists()


def test_the_validation_split_is_carved_from_the_training_images_only():
    index = np.arange(100, dtype="float32").reshape(100, 1)
    data = Dataset(index[:80], np.arange(80), index[80:], np.arange(80, 100))
    kept, (x_val, y_val) = validation_split(data, 15)
    train_ids, val_ids, test_ids = (set(a.ravel().tolist()) for a in (kept.x_train, x_val, kept.x_test))
    assert len(train_ids) == 65 and len(val_ids) == 15
    assert val_ids <= set(range(80)) and not val_ids & train_ids and not val_ids & test_ids
    assert train_ids | val_ids == set(range(80)) and test_ids == set(range(80, 100))
    assert np.array_equal(y_val, np.arange(65, 80))
    assert validation_split(data, 0)[0] is data
    with pytest.raises(ValueError, match="no training images"):
        validation_split(data, 80)
