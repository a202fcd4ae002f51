"""File writing that readers can trust: ``atomic_writer`` and ``atomic_path``."""

from .atomic import atomic_path, atomic_writer

__all__ = ["atomic_path", "atomic_writer"]
