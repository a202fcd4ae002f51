"""Keras callbacks: hooks that ``fit`` calls at the start and end of training, epochs and
batches (``History``, ``EarlyStopping``, ``ModelCheckpoint``, ``ReduceLROnPlateau``,
``LearningRateScheduler``, ``CSVLogger``, ``TerminateOnNaN``)."""

from .callback import Callback, CallbackList
from .checkpoint import ModelCheckpoint
from .csv_logger import CSVLogger
from .history import History
from .learning_rate import LearningRateScheduler, ReduceLROnPlateau
from .stopping import EarlyStopping, TerminateOnNaN

__all__ = ["CSVLogger", "Callback", "CallbackList", "EarlyStopping", "History",
           "LearningRateScheduler", "ModelCheckpoint", "ReduceLROnPlateau", "TerminateOnNaN"]
