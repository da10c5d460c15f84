"""alveoflow.data: IDX files, Fashion-MNIST lookup, datasets and transforms (all offline)."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch
from PIL import Image

from alveoflow.data import (
    DATA_ENV_VAR,
    ArrayDataset,
    ImageFolderDataset,
    data_roots,
    find_fashion_mnist,
    image_folder_datasets,
    load_fashion_mnist,
    read_idx,
    write_idx,
)
from alveoflow.data import transforms as T
from alveoflow.errors import AlveoflowError, DataError


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def _fake_fmnist(folder, rng, n_train=12, n_test=5, gz=True):
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write_idx(
            folder / f"{prefix}-images-idx3-ubyte{suffix}",
            rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
        )
        write_idx(
            folder / f"{prefix}-labels-idx1-ubyte{suffix}", rng.integers(0, 10, n, dtype=np.uint8)
        )
    return folder


# -- IDX ----------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_idx_round_trip(tmp_path, rng, dtype, name):
    array = (rng.standard_normal((3, 4, 5)) * 100).astype(dtype)
    back = read_idx(write_idx(tmp_path / name, array))
    assert back.dtype == np.dtype(dtype) and back.shape == (3, 4, 5)
    np.testing.assert_array_equal(back, array)


def test_idx_header_is_big_endian(tmp_path):
    path = write_idx(tmp_path / "x.idx", np.arange(6, dtype=np.int32).reshape(2, 3))
    raw = path.read_bytes()
    assert raw[:4] == b"\x00\x00\x0c\x02"
    assert raw[4:12] == b"\x00\x00\x00\x02\x00\x00\x00\x03"
    assert raw[-4:] == b"\x00\x00\x00\x05"


def test_gzip_detected_from_content_not_name(tmp_path, rng):
    array = rng.integers(0, 256, (2, 3), dtype=np.uint8)
    path = write_idx(tmp_path / "plain-name", array, compress=True)
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    np.testing.assert_array_equal(read_idx(path), array)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\x00", "too short"),
        (b"\x01\x00\x08\x01\x00\x00\x00\x01\x00", "bad magic"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x01\x00", "unknown IDX element type"),
        (b"\x00\x00\x08\x00", "zero dimensions"),
        (b"\x00\x00\x08\x02\x00\x00\x00\x01", "truncated IDX header"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x05\x00\x01", "truncated"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x01\x00\x01", "trailing bytes"),
    ],
)
def test_corrupt_idx_raises_data_error(tmp_path, content, message):
    path = tmp_path / "bad.idx"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, AlveoflowError)


def test_truncated_gzip_raises_data_error(tmp_path, rng):
    good = write_idx(tmp_path / "x.gz", rng.integers(0, 256, (50, 28, 28), dtype=np.uint8))
    bad = tmp_path / "cut.gz"
    bad.write_bytes(good.read_bytes()[:-200])
    with pytest.raises(DataError, match="damaged or truncated gzip"):
        read_idx(bad)


def test_gzip_of_short_payload_is_reported_as_truncated(tmp_path):
    path = tmp_path / "short.gz"
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x09\x01\x02"))
    with pytest.raises(DataError, match="truncated"):
        read_idx(path)


def test_missing_idx_file(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_idx(tmp_path / "nope.idx")


# -- Fashion-MNIST lookup --------------------------------------------------------------------


def test_explicit_root_is_the_only_place_searched(tmp_path, rng, monkeypatch):
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path / "elsewhere"))
    assert data_roots(tmp_path) == [tmp_path]
    _fake_fmnist(tmp_path / "fashion-mnist", rng)
    images, labels = load_fashion_mnist("train", root=tmp_path)
    assert images.shape == (12, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (12,) and labels.dtype == np.int64


def test_env_var_root_and_plain_files(tmp_path, rng, monkeypatch):
    _fake_fmnist(tmp_path, rng, gz=False)  # files directly in the root, uncompressed
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path))
    assert data_roots()[0] == tmp_path
    images, labels = load_fashion_mnist("test")
    assert images.shape == (5, 28, 28) and labels.max() < 10


def test_missing_data_says_how_to_install(tmp_path):
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist") as info:
        find_fashion_mnist("train", root=tmp_path)
    assert str(tmp_path) in str(info.value)


def test_unknown_split(tmp_path):
    with pytest.raises(DataError, match="unknown Fashion-MNIST split"):
        load_fashion_mnist("validation", root=tmp_path)


def test_mismatched_label_count(tmp_path, rng):
    folder = _fake_fmnist(tmp_path, rng)
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.zeros(3, np.uint8))
    with pytest.raises(DataError, match="do not match"):
        load_fashion_mnist("train", root=tmp_path)


def test_real_fashion_mnist_if_installed():
    try:
        find_fashion_mnist("test")
    except DataError:
        pytest.skip("dataset-fashion-mnist is not installed")
    images, labels = load_fashion_mnist("test")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels, minlength=10).tolist() == [1000] * 10
    assert 0 < images.mean() < 255


# -- datasets and transforms -----------------------------------------------------------------


def test_array_dataset_defaults_to_unit_range_tensors(rng):
    images = rng.integers(0, 256, (4, 28, 28), dtype=np.uint8)
    data = ArrayDataset(images, np.arange(4))
    x, y = data[2]
    assert x.shape == (1, 28, 28) and x.dtype == torch.float32 and y == 2
    assert torch.allclose(x[0] * 255, torch.from_numpy(images[2]).float())
    assert len(data.subset(3)) == 3 and data.num_classes == 4


def test_array_dataset_rejects_bad_inputs(rng):
    with pytest.raises(DataError, match="uint8"):
        ArrayDataset(np.zeros((2, 4, 4), np.float32), np.zeros(2))
    with pytest.raises(DataError, match="labels"):
        ArrayDataset(np.zeros((2, 4, 4), np.uint8), np.zeros(3))


def test_transforms_shapes_and_values(rng):
    image = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    resized = T.ResizeShorter(10)(image)
    assert resized.shape == (10, 15, 3)
    crop = T.CenterCrop(10)(image)
    np.testing.assert_array_equal(crop, image[5:15, 10:20])
    flipped = T.RandomHorizontalFlip(p=1.0)(image)
    np.testing.assert_array_equal(flipped, image[:, ::-1])
    padded = T.RandomCrop(20, padding=4, seed=1)(image)
    assert padded.shape == (20, 20, 3)
    tensor = T.ToTensor(scale=1.0)(image)
    assert tensor.shape == (3, 20, 30) and float(tensor.max()) == float(image.max())
    norm = T.Normalize([1.0, 2.0, 3.0], [2.0, 2.0, 2.0])(torch.ones(3, 2, 2))
    assert norm[:, 0, 0].tolist() == [0.0, -0.5, -1.0]
    with pytest.raises(DataError, match="CenterCrop"):
        T.CenterCrop(40)(image)


def test_seeded_random_crop_repeats(rng):
    image = rng.integers(0, 256, (28, 28), dtype=np.uint8)
    a = [T.RandomCrop(24, seed=3)(image) for _ in range(2)]
    np.testing.assert_array_equal(a[0], a[1])


def _image_tree(root, rng, per_class=2, size=(12, 10)):
    for name in ("cat", "dog"):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.png")
        np.save(root / name / "extra.npy", rng.integers(0, 256, (*size, 3), dtype=np.uint8))
        (root / name / "notes.txt").write_text("ignored")
    return root


def test_image_folder_dataset(tmp_path, rng):
    data = ImageFolderDataset(_image_tree(tmp_path / "imgs", rng), T.eval_transform(8, resize=9))
    assert data.classes == ["cat", "dog"] and len(data) == 6
    labels = [data[i][1] for i in range(len(data))]
    assert labels == [0, 0, 0, 1, 1, 1]
    assert data[0][0].shape == (3, 8, 8) and float(data[0][0].max()) <= 1.0


def test_image_list_file(tmp_path, rng):
    root = _image_tree(tmp_path / "imgs", rng)
    listing = tmp_path / "list.txt"
    listing.write_text("# path label\nimgs/cat/0.png 1\n\nimgs/dog/extra.npy 0\n")
    data = ImageFolderDataset(listing, mode="L")
    assert len(data) == 2 and data.num_classes == 2
    assert data[0][1] == 1 and data[0][0].shape == (1, 12, 10)
    assert data[1][0].shape == (3, 12, 10)  # .npy keeps its own channels
    assert root.exists()


def test_image_list_bad_line(tmp_path):
    listing = tmp_path / "list.txt"
    listing.write_text("a.png 1\nb.png cat\n")
    with pytest.raises(DataError, match=r"list.txt:2"):
        ImageFolderDataset(listing)


def test_unreadable_image(tmp_path):
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "broken.png").write_bytes(b"not a png")
    data = ImageFolderDataset(tmp_path)
    with pytest.raises(DataError, match="broken.png"):
        data[0]


def test_empty_or_missing_folder(tmp_path):
    with pytest.raises(DataError, match="no class sub-folders"):
        ImageFolderDataset(tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        ImageFolderDataset(tmp_path / "missing")


def test_imagenet_layout(tmp_path, rng):
    _image_tree(tmp_path / "train", rng)
    _image_tree(tmp_path / "val", rng, per_class=1)
    train, val = image_folder_datasets(tmp_path, size=8, resize=10)
    assert len(train) == 6 and len(val) == 4
    assert train[0][0].shape == val[0][0].shape == (3, 8, 8)
