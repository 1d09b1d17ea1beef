"""The VAE's lower bound: its terms add up, the KLs are the closed forms, and both latents train."""

import json

import numpy as np
import pytest
from scipy.special import expit

from infodropout.paper.data.formats import load_mnist_sample
from infodropout.kl import kl_log_normal, kl_log_uniform
from infodropout.paper.train.trainer import TrainSettings, fit_trainer
from infodropout.paper.train.vae import Autoencoder
from infodropout.vae import binarize, variational_lower_bound, variational_autoencoder

IMAGES = binarize(load_mnist_sample().x_train[:600])


def bernoulli_log_likelihood(x, logits):
    p = np.clip(expit(logits.astype("float64")), 1e-7, 1 - 1e-7)
    return (x * np.log(p) + (1 - x) * np.log(1 - p)).reshape(len(x), -1).sum(axis=1)


def test_gaussian_bound_is_reconstruction_minus_the_analytic_kl():
    network = variational_autoencoder(1, "gaussian")
    x = IMAGES[:50]
    bound = variational_lower_bound(network, x, samples=1, batch_size=50)
    latent = network.get_layer("latent")
    h = network.get_layer("encoder")(x.reshape(50, -1)).numpy()
    mean, log_variance = latent.mean_layer(h).numpy(), latent.log_variance_layer(h).numpy()
    kl = 0.5 * (mean**2 + np.exp(log_variance) - log_variance - 1).sum(axis=1).mean()
    assert bound["kl"] == pytest.approx(kl, rel=1e-4)
    assert bound["elbo"] == pytest.approx(bound["reconstruction"] - bound["kl"], rel=1e-6)
    # With z fixed at its mean, the reconstruction term is the Bernoulli log-likelihood of the decoder.
    logits = network(x, training=False).numpy()
    autoencoder = Autoencoder(network, 1.0, 0.0)
    autoencoder.compile(loss=autoencoder.task_loss_function())
    np.testing.assert_allclose(-autoencoder.task_terms(x, logits)["Lx"].numpy(),
                               bernoulli_log_likelihood(x, logits).mean(), rtol=1e-4)


def test_information_latent_kl_is_the_log_uniform_kl_of_its_alpha():
    network = variational_autoencoder(1, "information", max_alpha=0.7)
    x = IMAGES[:50]
    layer = network.get_layer("latent")
    h = network.get_layer("encoder")(x.reshape(50, -1))
    _, alpha = layer.activations_and_alpha(h)
    expected = np.asarray(kl_log_uniform(alpha, 0.7)).sum(axis=1).mean()
    assert variational_lower_bound(network, x, samples=2, batch_size=50)["kl"] == pytest.approx(expected, rel=1e-4)


def test_log_normal_latent_kl_is_the_log_normal_kl_of_its_activations_and_alpha():
    network = variational_autoencoder(1, "information", max_alpha=0.7, prior="log_normal")
    x = IMAGES[:50]
    layer = network.get_layer("latent")
    assert layer.get_config()["activation"] == "softplus" and layer.prior == "log_normal"
    layer.prior_mean.assign(-0.5)
    layer.prior_std.assign(1.5)
    h = network.get_layer("encoder")(x.reshape(50, -1))
    activations, alpha = layer.activations_and_alpha(h)
    expected = np.asarray(kl_log_normal(activations, alpha, -0.5, 1.5)).sum(axis=1).mean()
    bound = variational_lower_bound(network, x, samples=2, batch_size=50)
    assert bound["kl"] == pytest.approx(expected, rel=1e-4)
    assert bound["elbo"] == pytest.approx(bound["reconstruction"] - bound["kl"], rel=1e-6)
    with pytest.raises(ValueError, match="prior"):
        variational_autoencoder(1, "information", prior="gaussian")


@pytest.mark.parametrize("latent", ["gaussian", "information"])
def test_both_latents_train(latent, tmp_path):
    network = variational_autoencoder(1, latent)
    before = variational_lower_bound(network, IMAGES[500:], samples=2)["elbo"]
    settings = TrainSettings(batch_size=50, epochs=3, learning_rate=1e-3, lr_drops=(), weight_decay=0.0,
                             optimizer="adam")
    fit_trainer(Autoencoder(network, 1.0, 0.0), IMAGES[:500], IMAGES[:500], settings, tmp_path / "vae.keras",
                verbose=0, monitor_alpha=False)
    after = variational_lower_bound(network, IMAGES[500:], samples=2)["elbo"]
    assert after > before + 100  # about −545 nats at initialisation, about −200 after three epochs


@pytest.mark.slow
def test_vae_script_train_test_samples_and_table(tmp_path):
    from test_scripts import run

    values = ["dataset=sample", "num_train=300", "num_test=100", "epochs=1", "test_samples=2", "verbose=0"]
    trained = run("vae.py", "train", "with", *values, cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    bound = float(next(line for line in trained.stdout.splitlines() if line.startswith("Test lower bound")).split()[3])
    tested = run("vae.py", "test", "with", *values, cwd=tmp_path)
    assert tested.returncode == 0, tested.stderr
    assert bound < 0 and "Test lower bound" in tested.stdout
    drawn = run("vae.py", "samples", "with", *values, cwd=tmp_path)
    assert drawn.returncode == 0, drawn.stderr
    assert list((tmp_path / "plots").glob("vae.*/samples.pdf"))
    table = run("vae.py", "table", "with", *values, "ks=[1]", cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    assert "| 1 | -" in table.stdout and "| -98.8 | -100.0 |" in table.stdout
    results = json.loads(next((tmp_path / "plots").glob("vae-sweep.*/results.json")).read_text())
    assert [(r["k"], r["latent"]) for r in results] == [(1, "gaussian"), (1, "information")]
    assert all(r["elbo"] == pytest.approx(r["reconstruction"] - r["kl"], rel=1e-6) for r in results)
    # The prior chooses the Information latent's; the Gaussian latent keeps its own.
    refused = run("vae.py", "table", "with", *values, "ks=[1]", "prior=log_normal", cwd=tmp_path)
    assert refused.returncode == 2 and "latents=[information]" in refused.stderr


# Slow (a run of up to 3 epochs in a process); CI runs it: the only test where the VAE may stop early.
@pytest.mark.slow
def test_vae_table_with_a_validation_split_stops_early_and_records_its_curve(tmp_path):
    from test_scripts import run

    values = ["dataset=sample", "num_train=400", "num_test=100", "validation=100", "patience=1", "epochs=3",
              "test_samples=1", "verbose=0", "ks=[1]", "latents=[gaussian]"]
    table = run("vae.py", "table", "with", *values, cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    assert "300 training, 100 validation and 100 test images" in table.stdout
    [result] = json.loads(next((tmp_path / "plots").glob("vae-sweep.*/results.json")).read_text())
    assert result["validation"] == 100 and result["max_epochs"] == 3
    curve = result["curve"]
    assert [point["epoch"] for point in curve] == list(range(1, result["last_epoch"] + 1))
    best = max(curve, key=lambda point: point["val_elbo"])
    assert result["best_epoch"] == best["epoch"]
    # It stopped at the first epoch without progress (patience 1), or ran its 3 epochs while improving.
    values_seen = [point["val_elbo"] for point in curve]
    assert result["last_epoch"] == 3 or values_seen[-1] <= max(values_seen[:-1])
    history = next((tmp_path / "models").glob("vae.*.history.jsonl")).read_text().splitlines()
    assert all("val_elbo" in json.loads(line) for line in history)
    refused = run("vae.py", "train", "with", "dataset=sample", "num_train=100", "validation=100", cwd=tmp_path)
    assert refused.returncode == 2 and "no training images" in refused.stderr
