"""Compiled (numba) twins of the memory-bound NumPy kernels, one module per concept.

Imported only through ``kernels.backend``, which sets up numba's cache first. Every loop
here runs on one thread (``parallel=False``) and releases the GIL (``nogil``): the callers
already spread the chunks over the cores with ``parallel.run_chunks``.
"""
