"""nnfast.preprocessing.image and image_dataset_from_directory: file round trips through
Pillow, ImageDataGenerator statistics and semantics, directory iterators and splits."""
import os

import numpy as np
import pytest

PIL = pytest.importorskip("PIL")
from PIL import Image  # noqa: E402

import nnfast  # noqa: E402
from nnfast.preprocessing import image  # noqa: E402
from nnfast.utils import image_dataset_from_directory  # noqa: E402


def _write_png(path, array):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(path)


@pytest.fixture
def class_tree(tmp_path):
    """root/<class>/<i>.png: class 'b' 5 images, 'a' 3, 'c' 4, each filled with a value that
    encodes (class, index); plus a text file that must be ignored."""
    root = tmp_path / "tree"
    counts = {"b": 5, "a": 3, "c": 4}
    for ci, (name, n) in enumerate(sorted(counts.items())):
        for i in range(n):
            value = 10 * (ci + 1) + i
            _write_png(str(root / name / f"img_{i:02d}.png"),
                       np.full((6 + i, 8, 3), value, dtype=np.uint8))
    (root / "a" / "notes.txt").write_text("not an image")
    return str(root), counts


# --- files and arrays ---------------------------------------------------------------------


def test_load_img_array_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, (7, 5, 3), dtype=np.uint8)
    path = str(tmp_path / "x.png")
    _write_png(path, arr)
    img = image.load_img(path)
    assert img.size == (5, 7) and img.mode == "RGB"
    x = image.img_to_array(img)
    assert x.dtype == np.float32 and x.shape == (7, 5, 3)
    np.testing.assert_array_equal(x, arr)
    assert image.img_to_array(img, data_format="channels_first").shape == (3, 7, 5)

    gray = image.img_to_array(image.load_img(path, color_mode="grayscale"))
    assert gray.shape == (7, 5, 1)
    np.testing.assert_array_equal(gray[..., 0], np.asarray(Image.fromarray(arr).convert("L")))
    assert image.img_to_array(image.load_img(path, color_mode="rgba")).shape == (7, 5, 4)

    resized = image.load_img(path, target_size=(3, 4), interpolation="bilinear")
    assert resized.size == (4, 3)
    with pytest.raises(ValueError, match="color_mode"):
        image.load_img(path, color_mode="cmyk")
    with pytest.raises(ValueError, match="interpolation"):
        image.load_img(path, target_size=(3, 4), interpolation="spline")


def test_load_img_keep_aspect_ratio_crops_centre(tmp_path):
    arr = np.zeros((10, 20, 3), np.uint8)
    arr[:, 5:15] = 200  # the central square
    path = str(tmp_path / "wide.png")
    _write_png(path, arr)
    x = image.img_to_array(image.load_img(path, target_size=(10, 10), keep_aspect_ratio=True))
    assert np.all(x == 200)


def test_array_to_img_scaling_and_save(tmp_path):
    x = np.linspace(-1, 1, 4 * 3 * 3, dtype=np.float32).reshape(4, 3, 3)
    img = image.array_to_img(x)
    a = np.asarray(img)
    assert a.min() == 0 and a.max() == 255
    unscaled = image.array_to_img(np.full((2, 2, 1), 7.9, np.float32), scale=False)
    assert unscaled.mode == "L" and np.asarray(unscaled)[0, 0] == 7
    big = image.array_to_img(np.full((2, 2, 1), 1000, np.float32), scale=False)
    assert big.mode == "I"
    path = str(tmp_path / "saved.png")
    y = np.random.default_rng(1).integers(0, 256, (5, 6, 3)).astype(np.float32)
    image.save_img(path, y, scale=False)
    np.testing.assert_array_equal(image.img_to_array(image.load_img(path)), y)
    with pytest.raises(ValueError, match="rank 3"):
        image.array_to_img(np.zeros((2, 2)))


# --- ImageDataGenerator -----------------------------------------------------------------------


def _gradient_images(n=8, h=12, w=10, c=3):
    rows = np.arange(h, dtype=np.float32)[:, None, None]
    cols = np.arange(w, dtype=np.float32)[None, :, None]
    img = rows * 10 + cols + np.arange(c, dtype=np.float32) * 100
    return np.broadcast_to(img, (n, h, w, c)).copy()


def test_flips_are_exact_and_about_half():
    x = _gradient_images(n=400)
    gen = image.ImageDataGenerator(horizontal_flip=True)
    out = gen.flow(x, batch_size=400, shuffle=False, seed=3)[0]
    flipped = np.all(out == x[:, :, ::-1], axis=(1, 2, 3))
    same = np.all(out == x, axis=(1, 2, 3))
    assert np.all(flipped | same)
    assert 0.4 < flipped.mean() < 0.6
    v = image.ImageDataGenerator(vertical_flip=True).flow(x, batch_size=400, seed=4)[0]
    assert np.all(np.all(v == x[:, ::-1], axis=(1, 2, 3)) | np.all(v == x, axis=(1, 2, 3)))


def test_rotation_keeps_shape_and_matches_scipy():
    ndimage = pytest.importorskip("scipy.ndimage")
    rng = np.random.default_rng(0)
    x = rng.random((4, 13, 17, 2)).astype(np.float32) * 255
    gen = image.ImageDataGenerator(rotation_range=40, shear_range=15, zoom_range=0.3,
                                   width_shift_range=0.2, height_shift_range=2,
                                   fill_mode="reflect")
    params = gen.get_random_transforms(4, x.shape[1:], np.random.RandomState(5))
    out = gen.apply_transforms(x, params)
    assert out.shape == x.shape and out.dtype == np.float32
    # Keras's reference: scipy.ndimage.affine_transform(order=1) per channel with the
    # 3x3 matrix rotation @ shift @ shear @ zoom about the centre.
    for i in range(4):
        t = np.deg2rad(params["theta"][i])
        s = np.deg2rad(params["shear"][i])
        m = (np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])
             @ np.array([[1, 0, params["tx"][i]], [0, 1, params["ty"][i]], [0, 0, 1]])
             @ np.array([[1, -np.sin(s), 0], [0, np.cos(s), 0], [0, 0, 1]])
             @ np.diag([params["zx"][i], params["zy"][i], 1]))
        o = np.array([[1, 0, 6.0], [0, 1, 8.0], [0, 0, 1]])
        r = np.array([[1, 0, -6.0], [0, 1, -8.0], [0, 0, 1]])
        m = o @ m @ r
        for c in range(2):
            ref = ndimage.affine_transform(x[i, :, :, c].astype(np.float64), m[:2, :2],
                                           m[:2, 2], order=1, mode="reflect")
            np.testing.assert_allclose(out[i, :, :, c], ref, rtol=1e-5, atol=1e-3)
    assert params["tx"].dtype.kind == "f" and set(np.abs(params["tx"])) <= {0.0, 1.0}


@pytest.mark.parametrize("fill_mode,scipy_mode", [("nearest", "nearest"),
                                                  ("constant", "grid-constant"),
                                                  ("wrap", "grid-wrap")])
def test_fill_modes_match_scipy(fill_mode, scipy_mode):
    ndimage = pytest.importorskip("scipy.ndimage")
    x = np.random.default_rng(2).random((1, 9, 11, 1)).astype(np.float32)
    gen = image.ImageDataGenerator(fill_mode=fill_mode, cval=0.25)
    out = gen.apply_transform(x[0], {"theta": 33.0, "tx": 1.5, "ty": -2.0})
    m = image._transform_matrices(np.array([33.0]), np.array([1.5]), np.array([-2.0]),
                                  np.zeros(1), np.ones(1), np.ones(1), 9, 11)[0]
    ref = ndimage.affine_transform(x[0, :, :, 0].astype(np.float64), m[:2, :2], m[:2, 2],
                                   order=1, mode=scipy_mode, cval=0.25)
    np.testing.assert_allclose(out[:, :, 0], ref, rtol=1e-5, atol=1e-5)


def test_shifts_move_content():
    x = np.zeros((1, 10, 10, 1), np.float32)
    x[0, 4, 4] = 1.0
    gen = image.ImageDataGenerator(fill_mode="constant")
    # tx / ty are the height / width shifts in pixels; output(r, c) = input(r + tx, c + ty).
    down = gen.apply_transform(x[0], {"tx": -2.0, "ty": 0.0})
    assert down[6, 4, 0] == 1.0 and down.sum() == 1.0
    right = gen.apply_transform(x[0], {"tx": 0.0, "ty": -3.0})
    assert right[4, 7, 0] == 1.0 and right.sum() == 1.0
    # width_shift_range=0.5 moves content horizontally only.
    wide = image.ImageDataGenerator(width_shift_range=0.5, fill_mode="constant")
    band = np.zeros((50, 10, 10, 1), np.float32)
    band[:, :, 4] = 1.0  # a vertical line stays vertical under a horizontal shift
    out = wide.flow(band, batch_size=50, seed=0)[0]
    cols = np.argwhere(out[..., 0] > 0.5)
    for i in range(50):
        c = cols[cols[:, 0] == i][:, 2]
        assert len(set(c.tolist())) <= 1
    assert len({int(cols[cols[:, 0] == i][0, 2]) for i in range(50)
                if np.any(cols[:, 0] == i)}) > 2


def test_featurewise_centering_and_std():
    rng = np.random.default_rng(0)
    x = (rng.random((64, 5, 6, 3)) * np.array([50, 100, 200]) + np.array([10, 20, 30]))
    x = x.astype(np.float32)
    gen = image.ImageDataGenerator(featurewise_center=True, featurewise_std_normalization=True)
    gen.fit(x)
    assert gen.mean.shape == (1, 1, 3)
    np.testing.assert_allclose(gen.mean.ravel(), x.mean(axis=(0, 1, 2)), rtol=1e-5)
    it = gen.flow(x, batch_size=16, shuffle=False)
    out = np.concatenate([it[i] for i in range(len(it))])
    np.testing.assert_allclose(out.mean(axis=(0, 1, 2)), 0, atol=1e-4)
    np.testing.assert_allclose(out.std(axis=(0, 1, 2)), 1, atol=1e-3)
    with pytest.raises(ValueError, match="rank 4"):
        gen.fit(x[0])


def test_samplewise_rescale_and_preprocessing_function():
    x = _gradient_images(n=4)
    calls = []

    def prep(img):
        calls.append(img.shape)
        return img + 1.0

    gen = image.ImageDataGenerator(rescale=0.5, preprocessing_function=prep,
                                   samplewise_center=True, samplewise_std_normalization=True)
    out = gen.flow(x, batch_size=4, shuffle=False)[0]
    assert calls == [x.shape[1:]] * 4
    np.testing.assert_allclose(out.mean(axis=(1, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=(1, 2, 3)), 1, atol=1e-4)
    plain = image.ImageDataGenerator(rescale=1 / 255).flow(x, batch_size=4, shuffle=False)[0]
    np.testing.assert_allclose(plain, x / 255, rtol=1e-6)


def test_brightness_matches_pil_and_channel_shift_clips():
    from PIL import ImageEnhance

    x = np.random.default_rng(3).integers(0, 256, (1, 6, 7, 3)).astype(np.float32)
    gen = image.ImageDataGenerator(brightness_range=(0.3, 1.7))
    out = gen.apply_transform(x[0], {"brightness": 1.37})
    ref = np.asarray(ImageEnhance.Brightness(Image.fromarray(x[0].astype(np.uint8)))
                     .enhance(1.37), dtype=np.float32)
    np.testing.assert_array_equal(out, ref)
    shifted = gen.apply_transform(x[0], {"channel_shift_intensity": 500.0})
    assert shifted.max() == x.max() and shifted.min() >= x.min()


def test_flow_batching_seed_and_subset_semantics():
    x = np.arange(10, dtype=np.float32).reshape(10, 1, 1, 1) * np.ones((1, 2, 2, 1), np.float32)
    y = np.arange(10)
    gen = image.ImageDataGenerator(validation_split=0.3)
    it = gen.flow(x, y, batch_size=4, shuffle=False)
    assert len(it) == 3
    xb, yb = next(it)
    assert xb.shape == (4, 2, 2, 1) and yb.tolist() == [0, 1, 2, 3]
    assert next(it)[1].tolist() == [4, 5, 6, 7]
    assert next(it)[1].tolist() == [8, 9]  # short last batch
    assert next(it)[1].tolist() == [0, 1, 2, 3]  # iterating goes on forever
    a = [b[1].tolist() for b in (gen.flow(x, y, batch_size=5, seed=7)[i] for i in range(2))]
    b = [b[1].tolist() for b in (gen.flow(x, y, batch_size=5, seed=7)[i] for i in range(2))]
    assert a == b and sorted(a[0] + a[1]) == list(range(10)) and a[0] != [0, 1, 2, 3, 4]
    # Keras's quirk: the validation subset is the FIRST fraction.
    val = gen.flow(x, y, batch_size=10, shuffle=False, subset="validation", ignore_class_split=True)
    train = gen.flow(x, y, batch_size=10, shuffle=False, subset="training", ignore_class_split=True)
    assert val[0][1].tolist() == [0, 1, 2] and train[0][1].tolist() == list(range(3, 10))
    with pytest.raises(ValueError, match="different number of classes"):
        gen.flow(x, y, subset="training")
    assert gen.flow(x, batch_size=3)[0].shape == (3, 2, 2, 1)  # no y: images only
    w = np.linspace(0, 1, 10)
    assert len(gen.flow(x, y, sample_weight=w, batch_size=2)[0]) == 3
    with pytest.raises(ValueError, match="same length"):
        gen.flow(x, y[:5])


def test_augmented_flow_trains_a_model():
    (x, y), _ = nnfast.datasets.digits.load_data()
    x = x[:64, :, :, None].astype(np.float32)
    gen = image.ImageDataGenerator(rotation_range=10, rescale=1 / 16)
    xb, yb = gen.flow(x, y[:64], batch_size=64, seed=0)[0]
    model = nnfast.Sequential([nnfast.Input((8, 8, 1)), nnfast.layers.Flatten(),
                               nnfast.layers.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    hist = model.fit(xb, yb, epochs=3, verbose=0)
    assert np.isfinite(hist.history["loss"][-1])


def test_flow_from_directory_classes_and_modes(class_tree, tmp_path):
    root, counts = class_tree
    gen = image.ImageDataGenerator()
    it = gen.flow_from_directory(root, target_size=(4, 5), batch_size=32, shuffle=False)
    assert it.class_indices == {"a": 0, "b": 1, "c": 2}
    assert it.samples == 12 and len(it) == 1
    assert it.classes.tolist() == [0] * 3 + [1] * 5 + [2] * 4
    assert it.filenames[0] == os.path.join("a", "img_00.png")
    xb, yb = it[0]
    assert xb.shape == (12, 4, 5, 3) and yb.shape == (12, 3)
    np.testing.assert_array_equal(yb.argmax(1), it.classes)
    np.testing.assert_array_equal(xb[:, 0, 0, 0], [10, 11, 12, 20, 21, 22, 23, 24, 30, 31, 32, 33])
    sparse = gen.flow_from_directory(root, target_size=(4, 5), class_mode="sparse",
                                     shuffle=False)[0][1]
    assert sparse.tolist() == it.classes.tolist()
    inp = gen.flow_from_directory(root, target_size=(4, 5), class_mode="input", shuffle=False,
                                  color_mode="grayscale")[0]
    assert inp[0].shape == (12, 4, 5, 1) and np.array_equal(inp[0], inp[1])
    only = gen.flow_from_directory(root, target_size=(4, 5), class_mode=None, shuffle=False)[0]
    assert isinstance(only, np.ndarray)
    two = gen.flow_from_directory(root, target_size=(4, 5), classes=["c", "a"],
                                  class_mode="binary", shuffle=False)
    assert two.class_indices == {"c": 0, "a": 1}
    assert two[0][1].tolist() == [0.0] * 4 + [1.0] * 3
    # Per-class split: validation is each class's first fraction.
    split = image.ImageDataGenerator(validation_split=0.4)
    val = split.flow_from_directory(root, target_size=(4, 5), subset="validation", shuffle=False)
    train = split.flow_from_directory(root, target_size=(4, 5), subset="training", shuffle=False)
    assert val.filenames == [os.path.join("a", "img_00.png"), os.path.join("b", "img_00.png"),
                             os.path.join("b", "img_01.png"), os.path.join("c", "img_00.png")]
    assert len(train.filenames) == 8 and not set(train.filenames) & set(val.filenames)
    with pytest.raises(ValueError, match="class_mode"):
        gen.flow_from_directory(root, class_mode="onehot")


# --- image_dataset_from_directory ----------------------------------------------------------------


def test_image_dataset_from_directory_batches_and_labels(class_tree):
    root, counts = class_tree
    ds = image_dataset_from_directory(root, image_size=(6, 8), batch_size=5, shuffle=False,
                                      verbose=False)
    assert ds.class_names == ["a", "b", "c"]
    assert len(ds) == 3
    batches = list(ds)
    assert [len(b[0]) for b in batches] == [5, 5, 2]
    x0, y0 = batches[0]
    assert x0.shape == (5, 6, 8, 3) and x0.dtype == np.float32 and y0.dtype == np.int32
    labels = np.concatenate([b[1] for b in batches])
    assert labels.tolist() == [0] * 3 + [1] * 5 + [2] * 4
    values = np.concatenate([b[0][:, 0, 0, 0] for b in batches])
    np.testing.assert_allclose(values, [10, 11, 12, 20, 21, 22, 23, 24, 30, 31, 32, 33],
                               atol=1e-4)
    cat = image_dataset_from_directory(root, label_mode="categorical", image_size=(6, 8),
                                       shuffle=False, verbose=False)[0][1]
    assert cat.shape == (12, 3) and cat.dtype == np.float32
    gray = image_dataset_from_directory(root, color_mode="grayscale", image_size=(3, 3),
                                        labels=None, shuffle=False, verbose=False)[0]
    assert gray.shape == (12, 3, 3, 1)
    with pytest.raises(ValueError, match="exactly 2"):
        image_dataset_from_directory(root, label_mode="binary", verbose=False)


def test_image_dataset_split_semantics(class_tree):
    root, _ = class_tree
    kw = dict(image_size=(6, 8), batch_size=4, seed=42, validation_split=0.25, verbose=False)
    train = image_dataset_from_directory(root, subset="training", **kw)
    val = image_dataset_from_directory(root, subset="validation", **kw)
    full = image_dataset_from_directory(root, image_size=(6, 8), seed=42, verbose=False)
    # After the seeded shuffle, the last int(0.25 * 12) = 3 files are validation.
    assert val.file_paths == full.file_paths[-3:]
    assert train.file_paths == full.file_paths[:-3]
    assert full.file_paths != sorted(full.file_paths)
    # The shuffle is np.random.RandomState(seed).shuffle of the sorted index (Keras's).
    order = np.arange(12)
    np.random.RandomState(42).shuffle(order)
    unshuffled = image_dataset_from_directory(root, image_size=(6, 8), shuffle=False,
                                              verbose=False)
    assert full.file_paths == [unshuffled.file_paths[i] for i in order]
    both = image_dataset_from_directory(root, subset="both", **kw)
    assert both[0].file_paths == train.file_paths and both[1].file_paths == val.file_paths
    with pytest.raises(ValueError, match="seed"):
        image_dataset_from_directory(root, validation_split=0.2, subset="training",
                                     verbose=False)
    with pytest.raises(ValueError, match="subset"):
        image_dataset_from_directory(root, validation_split=0.2, seed=1, verbose=False)


def test_image_dataset_resize_and_pydataset_protocol(class_tree):
    root, _ = class_tree
    ds = image_dataset_from_directory(root, image_size=(3, 4), batch_size=4, shuffle=True,
                                      seed=1, verbose=False)
    first = [p for p in ds.file_paths]
    x, y = ds[1]
    assert x.shape == (4, 3, 4, 3) and len(y) == 4
    epoch1 = np.concatenate([b[1] for b in ds])
    epoch2 = np.concatenate([b[1] for b in ds])  # reshuffled after the first pass
    assert sorted(epoch1.tolist()) == sorted(epoch2.tolist())
    assert ds.file_paths == first
    mapped = ds.map(lambda a, b: (a / 255.0, b))
    assert len(mapped) == len(ds) and float(mapped[0][0].max()) <= 1.0
    assert len(ds.take(2)) == 2 and len(list(ds.take(2))) == 2
    single = image_dataset_from_directory(root, image_size=(3, 4), batch_size=None,
                                          shuffle=False, verbose=False)
    assert single[0][0].shape == (3, 4, 3)
