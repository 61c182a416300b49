"""EEGNet written for ``tf.keras`` (Keras 2), as in the Army Research Lab's
``EEGModels`` code, with NormSafeInit.

The same model as ``keras_eegnet.py``, in the form most existing EEG
experiment code still has it: ``from tensorflow.keras.layers import ...``,
``max_norm(1.)`` on the depthwise spatial filter and ``max_norm(0.25)`` on
the dense head (glorot_uniform draws its unit norms near 1.37, 5.5 times
the limit; Keras 2's optimizer clips them all after the first step, as
Keras 3's does). Runs on **synthetic** EEG-like data
(:mod:`synthetic_eeg`; not a recording) in either Keras 2 setting::

    pip install 'tensorflow-cpu==2.15.*'            # tf.keras is Keras 2.15
    python examples/keras2_eegnet.py

    pip install 'tensorflow-cpu>=2.16' tf_keras      # tf.keras is tf_keras
    TF_USE_LEGACY_KERAS=1 python examples/keras2_eegnet.py

The callback and ``audit`` are the same ``normsafe_init.keras`` as for
Keras 3; nothing in this file names Keras 3.
"""
import os
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import tensorflow as tf  # noqa: E402
from tensorflow.keras.constraints import max_norm  # noqa: E402
from tensorflow.keras.layers import (Activation, AveragePooling2D,  # noqa
                                     BatchNormalization, Conv2D, Dense,
                                     DepthwiseConv2D, Dropout, Flatten,
                                     Input, SeparableConv2D)
from tensorflow.keras.models import Model  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from synthetic_eeg import make_eeg  # noqa: E402

from normsafe_init.keras import NormSafeInit, audit  # noqa: E402


def EEGNet(nb_classes, Chans=64, Samples=128, dropoutRate=0.5,
           kernLength=64, F1=8, D=2, F2=16, norm_rate=0.25):
    """EEGNet-8,2 with the signature and layers of ``EEGModels.EEGNet``
    (``dropoutType='Dropout'``)."""
    input1 = Input(shape=(Chans, Samples, 1))
    block1 = Conv2D(F1, (1, kernLength), padding='same',
                    use_bias=False)(input1)
    block1 = BatchNormalization()(block1)
    block1 = DepthwiseConv2D((Chans, 1), use_bias=False,
                             depth_multiplier=D,
                             depthwise_constraint=max_norm(1.))(block1)
    block1 = BatchNormalization()(block1)
    block1 = Activation('elu')(block1)
    block1 = AveragePooling2D((1, 4))(block1)
    block1 = Dropout(dropoutRate)(block1)
    block2 = SeparableConv2D(F2, (1, 16), use_bias=False,
                             padding='same')(block1)
    block2 = BatchNormalization()(block2)
    block2 = Activation('elu')(block2)
    block2 = AveragePooling2D((1, 8))(block2)
    block2 = Dropout(dropoutRate)(block2)
    flatten = Flatten(name='flatten')(block2)
    dense = Dense(nb_classes, name='dense',
                  kernel_constraint=max_norm(norm_rate))(flatten)
    softmax = Activation('softmax', name='softmax')(dense)
    return Model(inputs=input1, outputs=softmax)


def main():
    package = tf.keras.layers.Dense.__module__.split('.')[0]  # keras, tf_keras
    print('TensorFlow %s, tf.keras is %s %s' % (
        tf.__version__, package, sys.modules[package].__version__))
    tf.keras.utils.set_random_seed(0)
    X, y = make_eeg(384, n_chans=22, n_times=128, n_classes=4, sfreq=128.0,
                    seed=0)
    X = X[..., None]
    (x, y), (xv, yv) = (X[:288], y[:288]), (X[288:], y[288:])
    model = EEGNet(nb_classes=4, Chans=22, Samples=128, dropoutRate=0.25)
    model.compile(loss='sparse_categorical_crossentropy', optimizer='adam',
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
