"""Keras-compatible layers (channels last)."""

from .activation import ELU, LeakyReLU, PReLU, Softmax
from .base import Layer
from .conv import Conv1D, Conv2D, DepthwiseConv2D
from .conv_separable import DepthwiseConv1D, SeparableConv1D, SeparableConv2D
from .core import Activation, Dense, Dropout, ReLU
from .input_layer import Input, InputLayer
from .layer_normalization import LayerNormalization
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
from .preprocessing_numeric import Normalization, Rescaling
from .regularization import SpatialDropout1D, SpatialDropout2D, SpatialDropout3D
from .reshaping import Flatten, Permute, Reshape, ZeroPadding1D, ZeroPadding2D, ZeroPadding3D
from .symbolic import SymbolicTensor
from .variable import Variable

# Keras aliases
Convolution1D = Conv1D
Convolution2D = Conv2D
MaxPool1D = MaxPooling1D
MaxPool2D = MaxPooling2D
AvgPool1D = AveragePooling1D
AvgPool2D = AveragePooling2D

__all__ = [
    "Activation", "Add", "AveragePooling1D", "AveragePooling2D", "AvgPool1D", "AvgPool2D",
    "BatchNormalization", "Concatenate", "Conv1D", "Conv2D", "Convolution1D", "Convolution2D",
    "Dense", "DepthwiseConv1D", "DepthwiseConv2D", "Dropout", "ELU", "Flatten", "GaussianNoise",
    "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D",
    "GlobalMaxPooling2D", "GrayscaleToRGB", "HSVToRGB", "Input", "InputLayer", "Layer",
    "LayerNormalization", "LeakyReLU", "MaxPool1D", "MaxPool2D", "MaxPooling1D", "MaxPooling2D",
    "Normalization", "PReLU", "Permute", "RGBToGrayscale", "RGBToHSV", "RandomBrightness",
    "RandomContrast", "RandomCrop", "RandomFlip", "RandomGrayscale", "RandomHue",
    "RandomRotation", "RandomSaturation", "RandomTranslation", "RandomZoom", "ReLU", "Rescaling",
    "Reshape", "SeparableConv1D", "SeparableConv2D", "Softmax", "SpatialDropout1D",
    "SpatialDropout2D", "SpatialDropout3D", "SymbolicTensor", "Variable", "ZeroPadding1D",
    "ZeroPadding2D", "ZeroPadding3D",
]
