"""3D and transposed convolutions by explicit loops over every cell and every kernel tap.

Transposed convolutions are written out in both views of SPEC section 6: spreading each input
cell over a kernel-sized patch of the output, and inserting s - 1 zeros between input cells
before an ordinary convolution with the kernel rotated 180 degrees.
"""

from __future__ import annotations

import itertools

import numpy as np


def conv3d(x, w, b=None, strides=(1, 1, 1), pads=((0, 0),) * 3, dilation=(1, 1, 1), groups=1,
           flip=False):
    """y[n,i,j,l,f] = b[f] + sum_{a,b,e,c} xp[n, i*sd + a*dd, j*sh + b*dh, l*sw + e*dw, g*Cg + c]
    * w[a,b,e,c,f], x: (N, D, H, W, C), w: (KD, KH, KW, Cg, F)."""
    if flip:
        w = w[::-1, ::-1, ::-1]
    xp = np.pad(x, ((0, 0), *pads, (0, 0)))
    n, *padded, c = xp.shape
    *ks, cg, f = w.shape
    out = [(p - d * (k - 1) - 1) // s + 1 for p, k, s, d in zip(padded, ks, strides, dilation)]
    fg = f // groups
    y = np.zeros((n, *out, f))
    for s in range(n):
        for i, j, m in itertools.product(*map(range, out)):
            for q in range(f):
                g = q // fg
                total = 0.0 if b is None else b[q]
                for a, bb, e in itertools.product(*map(range, ks)):
                    for ch in range(cg):
                        cell = xp[s, i * strides[0] + a * dilation[0],
                                  j * strides[1] + bb * dilation[1],
                                  m * strides[2] + e * dilation[2], g * cg + ch]
                        total += cell * w[a, bb, e, ch, q]
                y[s, i, j, m, q] = total
    return y


def transposed_size(n, k, s, d, padding, output_padding):
    """SPEC section 6: the output length of one axis of a transposed convolution."""
    kk = (k - 1) * d + 1
    if padding == "valid":
        return (n - 1) * s + kk + (max(kk, s) - kk if output_padding is None else output_padding)
    return n * s if output_padding is None else (n - 1) * s + kk % 2 + output_padding


def keras_left_pad(k, s, d, padding, output_padding):
    """Zeros before the zero-inserted input (Keras 3's rule; the rest goes after)."""
    kk = (k - 1) * d + 1
    if padding == "valid":
        return kk - 1
    pad_len = s + kk - 2 if output_padding is None else kk + kk % 2 - 2 + output_padding
    return min(pad_len // 2 + pad_len % 2, kk - 1)


def _axes(x, w, strides, padding, output_padding, dilation):
    rank = x.ndim - 2
    ops = output_padding if output_padding is not None else (None,) * rank
    sizes = [transposed_size(n, k, s, d, padding, op)
             for n, k, s, d, op in zip(x.shape[1:-1], w.shape[:rank], strides, dilation, ops)]
    lefts = [keras_left_pad(k, s, d, padding, op)
             for k, s, d, op in zip(w.shape[:rank], strides, dilation, ops)]
    return rank, sizes, lefts


def conv_transpose_spread(x, w, b=None, strides=None, padding="valid", output_padding=None,
                          dilation=None):
    """x: (N, S..., C_in), w: (K..., F_out, C_in) -> (N, O..., F_out).

    Input cell i sends x[i] * w[t] to output cell i*s + t*d - crop, per axis, where the
    crop k' - 1 - left_pad is what the zero-inserted view pads less than a full correlation.
    """
    rank, sizes, lefts = _axes(x, w, strides, padding, output_padding, dilation)
    ks = w.shape[:rank]
    crops = [(k - 1) * d - left for k, d, left in zip(ks, dilation, lefts)]
    n, f = x.shape[0], w.shape[-2]
    y = np.zeros((n, *sizes, f)) + (0.0 if b is None else b)
    for s in range(n):
        for cell in itertools.product(*map(range, x.shape[1:-1])):
            for tap in itertools.product(*map(range, ks)):
                o = [i * st + t * d - cr for i, t, st, d, cr in zip(cell, tap, strides, dilation,
                                                                      crops)]
                if all(0 <= v < size for v, size in zip(o, sizes)):
                    y[(s, *o)] += w[tap] @ x[(s, *cell)]  # (F_out, C_in) @ (C_in,)
    return y


def conv_transpose_zero_insert(x, w, b=None, strides=None, padding="valid", output_padding=None,
                               dilation=None):
    """The same by zero insertion: s - 1 zeros between input cells, left_pad zeros before,
    enough after, then a stride-1 correlation with the rotated (dilated) kernel."""
    rank, sizes, lefts = _axes(x, w, strides, padding, output_padding, dilation)
    ks = w.shape[:rank]
    n, c, f = x.shape[0], x.shape[-1], w.shape[-2]
    spans = [(k - 1) * d + 1 for k, d in zip(ks, dilation)]
    z = np.zeros((n, *[o + sp - 1 for o, sp in zip(sizes, spans)], c))
    for cell in itertools.product(*map(range, x.shape[1:-1])):
        pos = [left + i * st for left, i, st in zip(lefts, cell, strides)]
        if all(p < z.shape[1 + a] for a, p in enumerate(pos)):
            z[(slice(None), *pos)] = x[(slice(None), *cell)]
    rot = w[(slice(None, None, -1),) * rank]  # rotated 180 degrees
    y = np.zeros((n, *sizes, f)) + (0.0 if b is None else b)
    for out in itertools.product(*map(range, sizes)):
        for tap in itertools.product(*map(range, ks)):
            src = [o + t * d for o, t, d in zip(out, tap, dilation)]
            y[(slice(None), *out)] += z[(slice(None), *src)] @ rot[tap].T  # (N, C) @ (C, F)
    return y
