"""Keras-compatible layers (channels last)."""

from .base import Layer
from .conv import Conv1D, Conv2D, DepthwiseConv2D
from .core import Activation, Dense, Dropout, ReLU
from .input_layer import Input, InputLayer
from .merge import Add, Concatenate
from .normalization import BatchNormalization
from .pooling import (
    AveragePooling1D,
    AveragePooling2D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    MaxPooling1D,
    MaxPooling2D,
)
from .preprocessing import (
    GaussianNoise,
    GrayscaleToRGB,
    HSVToRGB,
    RandomBrightness,
    RandomContrast,
    RandomCrop,
    RandomFlip,
    RandomGrayscale,
    RandomHue,
    RandomRotation,
    RandomSaturation,
    RandomTranslation,
    RandomZoom,
    RGBToGrayscale,
    RGBToHSV,
)
from .reshaping import Flatten, Reshape, ZeroPadding1D, ZeroPadding2D
from .symbolic import SymbolicTensor
from .variable import Variable

# Keras aliases
Convolution2D = Conv2D
MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D

__all__ = [
    "Activation", "Add", "AveragePooling1D", "AveragePooling2D", "AvgPool2D",
    "BatchNormalization", "Concatenate", "Conv1D", "Conv2D", "Convolution2D", "Dense",
    "DepthwiseConv2D", "Dropout", "Flatten", "GaussianNoise", "GlobalAveragePooling1D",
    "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GrayscaleToRGB",
    "HSVToRGB", "Input", "InputLayer", "Layer", "MaxPool2D", "MaxPooling1D", "MaxPooling2D",
    "RGBToGrayscale", "RGBToHSV", "RandomBrightness", "RandomContrast", "RandomCrop",
    "RandomFlip", "RandomGrayscale", "RandomHue", "RandomRotation", "RandomSaturation",
    "RandomTranslation", "RandomZoom", "ReLU", "Reshape", "SymbolicTensor",
    "Variable", "ZeroPadding1D", "ZeroPadding2D",
]
