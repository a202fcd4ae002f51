"""Ready-made data sets: ``mnist.load_data()`` and ``fashion_mnist.load_data()``.

Both return ``((x_train, y_train), (x_test, y_test))`` as uint8 arrays, Keras style.
"""

from . import fashion_mnist, mnist

__all__ = ["fashion_mnist", "mnist"]
