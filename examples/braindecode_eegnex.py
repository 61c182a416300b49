"""braindecode's EEGNeX trained with normsafe_init's skorch callback.

EEGNeX's head is a ``LinearWithConstraint(max_norm=0.25)``: braindecode
registers ``MaxNormParametrize`` on its weight, which renorms rows in
``forward`` but never projects the stored
``parametrizations.weight.original``. PyTorch's default init gives those
stored rows a norm of ~0.577, 2.3x the limit, so for the whole run the head
gets its gradient scaled by ``0.25 / r`` (0.43x per AdamW step, 0.19x per
SGD step). ``NormSafeInit`` brings them to ``0.5 x 0.25`` before the first
batch and records their largest norm / limit every epoch.

The data are synthetic (``synthetic_eeg.make_eeg``: pink noise plus
class-dependent bursts; 22 channels, 4 classes); nothing is downloaded.
EEGNeX learns this small task slowly: after 4 epochs its accuracy is still
near chance (0.25); the example shows the mechanics, not a result (see
``benchmarks/braindecode_curves.py`` for curves).

Run (after ``pip install -e '.[torch]'``)::

    python examples/braindecode_eegnex.py
"""
import os
import sys
import warnings

# braindecode's import warns about an mne montage name (not ours)
warnings.filterwarnings('ignore', category=FutureWarning)

import torch  # noqa: E402
from braindecode import EEGClassifier  # noqa: E402
from braindecode.models import EEGNeX  # noqa: E402
from skorch.dataset import ValidSplit  # noqa: E402

from normsafe_init.torch import NormSafeInit, audit  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from synthetic_eeg import make_eeg  # noqa: E402

HEAD = 'normsafe_final_layer.weight_max_over_limit'


def main(epochs=4, n_trials=256, n_times=128, sfreq=128.0):
    warnings.filterwarnings('ignore', category=UserWarning)
    torch.set_num_threads(2)
    X, y = make_eeg(n_trials, n_chans=22, n_times=n_times, sfreq=sfreq,
                    seed=0)
    torch.manual_seed(0)
    model = EEGNeX(n_chans=22, n_outputs=4, n_times=n_times)

    print('Before training (read only):')
    print(audit(model))
    print()

    clf = EEGClassifier(
        model,
        callbacks=[('normsafe', NormSafeInit(fraction=0.5))],
        # keep the epoch table narrow (the pinned fractions are in
        # clf.history too)
        callbacks__print_log__keys_ignored=[
            'normsafe_block_3.0.weight_pinned',
            'normsafe_final_layer.weight_pinned'],
        optimizer=torch.optim.AdamW, lr=1e-3, batch_size=32,
        max_epochs=epochs, train_split=ValidSplit(0.25, random_state=0),
    )
    clf.fit(X, y)

    print()
    print('stored head rows, largest norm / max_norm, per epoch: %s'
          % ', '.join('%.3f' % v for v in clf.history[:, HEAD]))
    record = dict(clf.callbacks_)['normsafe'].record
    print('changed by normsafe_init: %s' % ', '.join(record['changed']))


if __name__ == '__main__':
    main()
