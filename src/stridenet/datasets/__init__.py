"""Ready-made data sets, each ``load_data() -> ((x_train, y_train), (x_test, y_test))``.

``mnist`` and ``fashion_mnist``: uint8 images, Keras style. Made offline, the same for the
same seed: ``moving_digits`` (uint8 clips of a bouncing MNIST digit, for Conv3D) and
``synthetic_control`` (float32 control-chart time series, for Conv1D).
"""

from . import fashion_mnist, mnist, moving_digits, synthetic_control

__all__ = ["fashion_mnist", "mnist", "moving_digits", "synthetic_control"]
