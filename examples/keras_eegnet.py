"""EEGNet (Keras 3) on synthetic EEG-like data, with NormSafeInit.

EEGNet (Lawhern et al. 2018, the Army Research Lab's ``EEGModels``) ends in
``Dense(n_classes, kernel_constraint=max_norm(0.25))`` on 64 features:
glorot_uniform draws its unit norms near ``sqrt(2 * 64 / 68) = 1.37``, 5.5
times the limit, and Keras clips them all onto 0.25 after the first
optimizer step. Its depthwise spatial filter carries ``max_norm(1.)`` (axis
0, over the EEG channels). This script builds that model on **synthetic**
data (:mod:`synthetic_eeg`: pink noise plus class-dependent band power in a
few channels; not a recording), prints the read-only audit, and trains two
epochs with the callback::

    pip install -e '.[keras]'          # keras 3 + torch (CPU) as backend
    python examples/keras_eegnet.py

No pylearn2 is needed. Set ``KERAS_BACKEND`` to use another backend. Two
epochs show what the callback does and logs, not what EEGNet learns
(``benchmarks/keras_curves.py`` trains longer).
"""
import os
import sys

os.environ.setdefault('KERAS_BACKEND', 'torch')

import keras  # noqa: E402
from keras import layers  # noqa: E402
from keras.constraints import max_norm  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from synthetic_eeg import make_eeg  # noqa: E402

from normsafe_init.keras import NormSafeInit, audit  # noqa: E402


def eegnet(n_classes=4, n_chans=22, n_times=128, F1=8, D=2, F2=16,
           kern_length=64, dropout=0.25, norm_rate=0.25, bn_momentum=0.99):
    """EEGNet-8,2 as in ``EEGModels.EEGNet`` (channels_last: input
    ``(n_chans, n_times, 1)``); ``n_times`` must be a multiple of 32.
    ``bn_momentum`` is Keras's default (0.99) unless a short run needs the
    moving statistics to settle sooner."""
    inputs = keras.Input((n_chans, n_times, 1))
    x = layers.Conv2D(F1, (1, kern_length), padding='same', use_bias=False,
                      name='temporal')(inputs)
    x = layers.BatchNormalization(momentum=bn_momentum)(x)
    x = layers.DepthwiseConv2D((n_chans, 1), use_bias=False,
                               depth_multiplier=D, name='spatial',
                               depthwise_constraint=max_norm(1.))(x)
    x = layers.BatchNormalization(momentum=bn_momentum)(x)
    x = layers.Activation('elu')(x)
    x = layers.AveragePooling2D((1, 4))(x)
    x = layers.Dropout(dropout)(x)
    x = layers.SeparableConv2D(F2, (1, 16), use_bias=False, padding='same',
                               name='separable')(x)
    x = layers.BatchNormalization(momentum=bn_momentum)(x)
    x = layers.Activation('elu')(x)
    x = layers.AveragePooling2D((1, 8))(x)
    x = layers.Dropout(dropout)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(n_classes, name='dense',
                     kernel_constraint=max_norm(norm_rate))(x)
    outputs = layers.Activation('softmax')(x)
    return keras.Model(inputs, outputs, name='eegnet')


def make_data(n_train=288, n_valid=96, n_times=128, seed=0):
    """Synthetic EEG-like trials shaped for EEGNet: ``(trials, chans,
    times, 1)``."""
    X, y = make_eeg(n_train + n_valid, n_chans=22, n_times=n_times,
                    n_classes=4, sfreq=128.0, seed=seed)
    X = X[..., None]
    return (X[:n_train], y[:n_train]), (X[n_train:], y[n_train:])


def main():
    keras.utils.set_random_seed(0)
    (x, y), (xv, yv) = make_data()
    model = eegnet()
    model.compile(optimizer='adam', loss='sparse_categorical_crossentropy',
                  metrics=['accuracy'])
    print('Synthetic EEG-like data (not a recording): train %s, valid %s'
          % (x.shape, xv.shape))
    print(audit(model, fraction=0.5))
    callback = NormSafeInit(fraction=0.5, action='rescale')
    history = model.fit(x, y, validation_data=(xv, yv), epochs=2,
                        batch_size=32, verbose=2, callbacks=[callback])
    print('history keys:', ', '.join(sorted(history.history)))
    print('changed:', ', '.join(callback.record['changed']) or 'none')


if __name__ == '__main__':
    main()
