"""Keras-compatible layers (channels last)."""

from .activation import ELU, LeakyReLU, PReLU, Softmax
from .base import Layer
from .conv import Conv1D, Conv2D, Conv3D, DepthwiseConv2D
from .conv_separable import DepthwiseConv1D, SeparableConv1D, SeparableConv2D
from .conv_transpose import Conv1DTranspose, Conv2DTranspose, Conv3DTranspose
from .core import Activation, Dense, Dropout, ReLU
from .cropping import Cropping1D, Cropping2D, Cropping3D
from .input_layer import Input, InputLayer
from .layer_normalization import LayerNormalization
from .merge import Add, Concatenate
from .normalization import BatchNormalization
from .pooling import (
    AveragePooling1D,
    AveragePooling2D,
    AveragePooling3D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalAveragePooling3D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    GlobalMaxPooling3D,
    MaxPooling1D,
    MaxPooling2D,
    MaxPooling3D,
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
from .upsampling import UpSampling1D, UpSampling2D, UpSampling3D
from .variable import Variable

# Keras aliases
Convolution1D = Conv1D
Convolution2D = Conv2D
Convolution3D = Conv3D
Convolution1DTranspose = Conv1DTranspose
Convolution2DTranspose = Conv2DTranspose
Convolution3DTranspose = Conv3DTranspose
MaxPool1D = MaxPooling1D
MaxPool2D = MaxPooling2D
MaxPool3D = MaxPooling3D
AvgPool1D = AveragePooling1D
AvgPool2D = AveragePooling2D
AvgPool3D = AveragePooling3D
GlobalAvgPool1D = GlobalAveragePooling1D
GlobalAvgPool2D = GlobalAveragePooling2D
GlobalAvgPool3D = GlobalAveragePooling3D
GlobalMaxPool1D = GlobalMaxPooling1D
GlobalMaxPool2D = GlobalMaxPooling2D
GlobalMaxPool3D = GlobalMaxPooling3D

__all__ = [
    "Activation", "Add", "AveragePooling1D", "AveragePooling2D", "AveragePooling3D", "AvgPool1D",
    "AvgPool2D", "AvgPool3D", "BatchNormalization", "Concatenate", "Conv1D", "Conv1DTranspose",
    "Conv2D", "Conv2DTranspose", "Conv3D", "Conv3DTranspose", "Convolution1D",
    "Convolution1DTranspose", "Convolution2D", "Convolution2DTranspose", "Convolution3D",
    "Convolution3DTranspose", "Cropping1D", "Cropping2D", "Cropping3D", "Dense", "DepthwiseConv1D",
    "DepthwiseConv2D", "Dropout", "ELU", "Flatten", "GaussianNoise", "GlobalAveragePooling1D",
    "GlobalAveragePooling2D", "GlobalAveragePooling3D", "GlobalAvgPool1D", "GlobalAvgPool2D",
    "GlobalAvgPool3D", "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalMaxPool3D",
    "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D", "GrayscaleToRGB", "HSVToRGB",
    "Input", "InputLayer", "Layer", "LayerNormalization", "LeakyReLU", "MaxPool1D", "MaxPool2D",
    "MaxPool3D", "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "Normalization", "PReLU",
    "Permute", "RGBToGrayscale", "RGBToHSV", "RandomBrightness", "RandomContrast", "RandomCrop",
    "RandomFlip", "RandomGrayscale", "RandomHue", "RandomRotation", "RandomSaturation",
    "RandomTranslation", "RandomZoom", "ReLU", "Rescaling", "Reshape", "SeparableConv1D",
    "SeparableConv2D", "Softmax", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
    "SymbolicTensor", "UpSampling1D", "UpSampling2D", "UpSampling3D", "Variable", "ZeroPadding1D",
    "ZeroPadding2D", "ZeroPadding3D",
]
