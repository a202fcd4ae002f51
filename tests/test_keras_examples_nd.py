"""keras-io style code runs with only its imports changed (``import stridenet as keras``,
``from stridenet import layers``): the MNIST convnet's data preparation and model, a Conv1D
autoencoder for time series, and a 3D CNN for volumes. Tiny synthetic data, one or two
epochs: the point is that every name, argument and shape works as in Keras 3."""

from __future__ import annotations

import numpy as np

import stridenet as keras
from stridenet import layers


def test_mnist_convnet_style():
    num_classes = 10
    input_shape = (28, 28, 1)
    rng = np.random.default_rng(0)
    x_train = rng.integers(0, 256, (64, 28, 28), dtype=np.uint8)
    y_train = rng.integers(0, 10, 64)
    x_train = x_train.astype("float32") / 255
    x_train = np.expand_dims(x_train, -1)
    y_train = keras.utils.to_categorical(y_train, num_classes)
    assert y_train.shape == (64, 10)
    model = keras.Sequential(
        [
            keras.Input(shape=input_shape),
            layers.Conv2D(8, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Conv2D(8, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Flatten(),
            layers.Dropout(0.5),
            layers.Dense(num_classes, activation="softmax"),
        ]
    )
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=32, epochs=1, validation_split=0.1, verbose=0)
    score = model.evaluate(x_train, y_train, verbose=0)
    assert np.isfinite(score).all()


def test_conv1d_autoencoder_style():
    # timeseries anomaly detection: Conv1D down, Conv1DTranspose back up
    t = np.linspace(0, 40, 64 * 96)
    x_train = np.sin(t).reshape(64, 96, 1).astype("float32")
    model = keras.Sequential(
        [
            layers.Input(shape=(x_train.shape[1], x_train.shape[2])),
            layers.Conv1D(filters=16, kernel_size=7, padding="same", strides=2,
                          activation="relu"),
            layers.Dropout(rate=0.2),
            layers.Conv1D(filters=8, kernel_size=7, padding="same", strides=2,
                          activation="relu"),
            layers.Conv1DTranspose(filters=8, kernel_size=7, padding="same", strides=2,
                                   activation="relu"),
            layers.Dropout(rate=0.2),
            layers.Conv1DTranspose(filters=16, kernel_size=7, padding="same", strides=2,
                                   activation="relu"),
            layers.Conv1DTranspose(filters=1, kernel_size=7, padding="same"),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.001), loss="mse")
    history = model.fit(
        x_train, x_train, epochs=2, batch_size=16, validation_split=0.1, verbose=0,
        callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, mode="min")],
    )
    assert len(history.history["loss"]) == 2
    x_train_pred = model.predict(x_train, verbose=0)
    assert x_train_pred.shape == x_train.shape
    train_mae_loss = np.mean(np.abs(x_train_pred - x_train), axis=1)
    assert train_mae_loss.shape == (64, 1)


def test_3d_cnn_style(tmp_path):
    # 3D image classification: Conv3D, MaxPool3D, BatchNormalization, GlobalAveragePooling3D
    def get_model(width=16, height=16, depth=16):
        inputs = keras.Input((width, height, depth, 1))
        x = layers.Conv3D(filters=4, kernel_size=3, activation="relu")(inputs)
        x = layers.MaxPool3D(pool_size=2)(x)
        x = layers.BatchNormalization()(x)
        x = layers.Conv3D(filters=8, kernel_size=3, activation="relu")(x)
        x = layers.MaxPool3D(pool_size=2)(x)
        x = layers.BatchNormalization()(x)
        x = layers.GlobalAveragePooling3D()(x)
        x = layers.Dense(units=16, activation="relu")(x)
        x = layers.Dropout(0.3)(x)
        outputs = layers.Dense(units=1, activation="sigmoid")(x)
        return keras.Model(inputs, outputs, name="3dcnn")

    model = get_model()
    rng = np.random.default_rng(1)
    x = rng.random((6, 16, 16, 16, 1), dtype=np.float32)
    y = (rng.random(6) > 0.5).astype("float32")
    model.compile(loss="binary_crossentropy",
                  optimizer=keras.optimizers.Adam(learning_rate=1e-4), metrics=["accuracy"])
    model.fit(x, y, validation_data=(x, y), epochs=1, batch_size=2, shuffle=True, verbose=0)
    prediction = model.predict(np.expand_dims(x[0], axis=0), verbose=0)[0]
    assert prediction.shape == (1,) and 0 < prediction[0] < 1
    model.save(tmp_path / "3d.sn")
    again = keras.models.load_model(tmp_path / "3d.sn")
    np.testing.assert_allclose(again.predict(x[:2], verbose=0), model.predict(x[:2], verbose=0),
                               rtol=1e-6)
