"""Fashion-MNIST (Zalando): 60,000 training and 10,000 test images of clothing, 28x28
uint8, 10 classes; a drop-in replacement for MNIST.

:func:`load_data` looks for the four IDX files, in order, in:

1. ``path``, when given (then it must hold them all);
2. ``$STRIDENET_DATA`` and ``$STRIDENET_DATA/fashion-mnist``;
3. the user cache, ``$XDG_CACHE_HOME/stridenet/fashion-mnist`` (default
   ``~/.cache/stridenet/fashion-mnist``);
4. ``/usr/share/datasets/fashion-mnist`` (Debian's ``dataset-fashion-mnist``);

and otherwise downloads them into the cache, checking each file's SHA-256.
"""

from __future__ import annotations

import os

from ._locate import DataFile, cache_dir, locate
from .mnist import idx_dataset, read_directory

CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot")
NUM_CLASSES = 10

# The project's own download location first, then copies of the same bytes.
BASE_URLS = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
)
DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
ENV_VAR = "STRIDENET_DATA"
CACHE_SUBDIR = "fashion-mnist"

# Per file: SHA-256 of the uncompressed IDX bytes (the published content; their MD5s
# match the published ones), then of the known .gz releases -- the upstream download
# first, then Debian's re-compressed copy (dataset-fashion-mnist
# 0.0~git20200523.55506a9-1) -- and the upstream .gz size in bytes.
FILES = (
    DataFile("train-images-idx3-ubyte",
             "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
             ("3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
              "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7"),
             26421880, content_size=16 + 60000 * 28 * 28),
    DataFile("train-labels-idx1-ubyte",
             "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
             ("a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
              "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056"),
             29515, content_size=8 + 60000),
    DataFile("t10k-images-idx3-ubyte",
             "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
             ("346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
              "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa"),
             4422102, content_size=16 + 10000 * 28 * 28),
    DataFile("t10k-labels-idx1-ubyte",
             "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
             ("67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
              "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05"),
             5148, content_size=8 + 10000),
)


def search_dirs() -> list[str]:
    """The directories :func:`load_data` looks in when no ``path`` is given, in order."""
    dirs = []
    env = os.environ.get(ENV_VAR)
    if env:
        dirs += [env, os.path.join(env, CACHE_SUBDIR)]
    return dirs + [cache_dir(CACHE_SUBDIR), DEBIAN_DIR]


def load_data(path=None, download: bool = True):
    """Load Fashion-MNIST as ``((x_train, y_train), (x_test, y_test))``.

    ``x``: uint8 ``(N, 28, 28)``; ``y``: uint8 ``(N,)`` class ids (names in
    ``CLASS_NAMES``); N = 60,000 for training and 10,000 for test. ``path``: a
    directory holding the four files (``.gz`` or not). ``download=False`` raises
    FileNotFoundError instead of downloading. Every file's SHA-256 is checked.
    """
    what = "fashion_mnist.load_data"
    directory = locate(FILES, None if path is None else str(path), search_dirs(),
                       cache_dir(CACHE_SUBDIR), BASE_URLS, what, allow_download=download)
    contents, names = read_directory(directory, FILES, what)
    return idx_dataset(contents, names, what, NUM_CLASSES)
