"""Explain mode: the math of a CNN step by step, from the geometry the kernels use.

Each function returns a trace -- the padded input, the output-size formula with its
numbers filled in, every window position, every output cell's terms and sum, and
the im2col matrix -- whose ``output`` equals the matching ``stridenet.ops`` result.
``print(trace)`` gives the text form, ``trace.to_markdown()`` / ``trace.to_html()``
tables, Jupyter shows the HTML, and ``trace.figure()`` / ``trace.save_gif(path)``
draw the sliding window (matplotlib, imported only then). ``explore(model, x)`` puts
a whole trained network on one self-contained HTML page: every feature map for a few
images, each cell explained on hover (``stridenet explore MODEL_FILE`` writes it too).

>>> from stridenet import explain
>>> t = explain.conv2d([[3, 5, 0], [1, 2, 7], [4, 5, 3]], [[-1, 0, 1]] * 3, padding=1, strides=2)
>>> t.output.tolist()
[[7, -7], [7, -7]]
>>> t.formulas[0].formula
'floor((3 + 1 + 1 - 3) / 2) + 1 = 2'
"""

from . import edges
from .backward import conv2d_backward
from .conv import conv1d, conv2d
from .conv3d_cell import Conv3DCellTrace, conv3d
from .pool import avg_pool1d, avg_pool2d, max_pool1d, max_pool2d
from .shapes import ModelShapes, model_shapes, output_size
from .sizes_nd import TransposeSize, conv_output_sizes, transpose_output_size
from .trace import BackwardTrace, ConvTrace, PoolTrace, SizeFormula
from .transpose import TransposeTrace, conv_transpose_trace
from .transpose import conv_transpose_trace as conv_transpose


def explore(model, x, labels=None, class_names=None, max_bytes=4_800_000, max_values=1 << 18):
    """One self-contained HTML page of ``model``'s every feature map for the images ``x``
    (see :func:`stridenet.explain.explorer.explore`); the page module loads only now."""
    from .explorer import explore as _explore

    return _explore(model, x, labels, class_names, max_bytes, max_values)


__all__ = [
    "BackwardTrace", "ConvTrace", "ModelShapes", "PoolTrace", "SizeFormula", "avg_pool1d",
    "avg_pool2d", "conv1d", "conv2d", "conv2d_backward", "edges", "explore", "max_pool1d",
    "max_pool2d", "model_shapes", "output_size",
    "TransposeSize", "TransposeTrace", "conv_output_sizes", "conv_transpose",
    "conv_transpose_trace", "Conv3DCellTrace", "conv3d", "transpose_output_size",
]
