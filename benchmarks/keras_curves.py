"""Learning curves of EEGNet (Keras 3) with and without NormSafeInit, on
synthetic EEG-like data.

The model is ``examples/keras_eegnet.py``'s EEGNet-8,2: its head
``Dense(4, kernel_constraint=max_norm(0.25))`` on 64 features draws
glorot_uniform unit norms near 1.37 (5.5x the limit), which Keras clips onto
0.25 after the first optimizer step; its depthwise spatial filter carries
``max_norm(1.)`` (axis 0) and starts near half of it.

Conditions (same initial weights, data and dropout stream per seed):

``none``
    Keras's own behaviour. The callback runs with ``action='report'``, which
    changes nothing and draws nothing; it is there only to log the same
    ``normsafe_*`` metrics.
``rescale``
    ``NormSafeInit(fraction=0.5, action='rescale')``.
``action@f``
    e.g. ``rescale@1.0``: fraction ``f`` for this condition; with
    ``rescale@1.0`` the largest head column lands on the limit and the
    others under it, about Keras's weight scale without the pinning.

Data: :func:`synthetic_eeg.make_eeg` (**synthetic**: pink noise plus a
class-dependent mu/beta burst in 3 of 22 channels; not a recording), 128
samples at 128 Hz, ``snr`` 1.5; a fresh data set per seed (data seed 100 +
seed), 576 train and 192 valid trials.

Training: Adam(3e-3), batch 32, sparse categorical cross-entropy, Keras's
default BatchNormalization momentum (0.99), as ``EEGModels`` has it.

Per run and epoch: train/valid loss and accuracy, and for the head and the
spatial filter the largest norm / limit and the fraction of vectors pinned
at the limit (within 1e-4 relative).

Usage::

    KERAS_BACKEND=torch python benchmarks/keras_curves.py [--epochs 15]
        [--seeds 5] [--conditions none,rescale,rescale@1.0] [--fraction 0.5]
        [--threads 1] [--out benchmarks/results]

Writes ``keras_curves.csv``, ``keras_curves.png`` and ``keras_curves.md``.
"""
import argparse
import csv
import logging
import os
import sys
import time

os.environ.setdefault('KERAS_BACKEND', 'torch')

import numpy as np  # noqa: E402

# Benchmark the checkout this file lives in.
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.join(REPO, 'examples'))

import keras  # noqa: E402

from keras_eegnet import eegnet  # noqa: E402
from synthetic_eeg import make_eeg  # noqa: E402
from normsafe_init.keras import NormSafeInit  # noqa: E402

N_TRAIN, N_VALID, N_TIMES, SNR = 576, 192, 128, 1.5
LR, BATCH, BN_MOMENTUM = 3e-3, 32, 0.99
TRACKED = ('dense', 'spatial')
FIELDS = (['condition', 'seed', 'epoch', 'loss', 'accuracy', 'val_loss',
           'val_accuracy']
          + ['%s_%s' % (w, k) for w in TRACKED
             for k in ('max_over_limit', 'pinned')] + ['seconds'])


def parse_condition(text, fraction):
    action, _, frac = text.partition('@')
    return (action, float(frac) if frac else fraction)


def make_split(seed):
    X, y = make_eeg(N_TRAIN + N_VALID, n_chans=22, n_times=N_TIMES,
                    n_classes=4, sfreq=128.0, seed=100 + seed, snr=SNR)
    X = X[..., None]
    return (X[:N_TRAIN], y[:N_TRAIN]), (X[N_TRAIN:], y[N_TRAIN:])


def one_run(condition, seed, epochs, fraction, split):
    (x, y), (xv, yv) = split
    action, frac = parse_condition(condition, fraction)
    keras.utils.set_random_seed(seed)
    model = eegnet(bn_momentum=BN_MOMENTUM)
    model.compile(optimizer=keras.optimizers.Adam(LR),
                  loss='sparse_categorical_crossentropy',
                  metrics=['accuracy'])
    callback = NormSafeInit(
        fraction=frac, action='report' if action == 'none' else action)
    start = time.time()
    history = model.fit(x, y, validation_data=(xv, yv), epochs=epochs,
                        batch_size=BATCH, verbose=0, callbacks=[callback])
    seconds = time.time() - start
    h = history.history
    rows = []
    for epoch in range(epochs):
        row = {'condition': condition, 'seed': seed, 'epoch': epoch + 1,
               'seconds': round(seconds, 2)}
        for key in ('loss', 'accuracy', 'val_loss', 'val_accuracy'):
            row[key] = float(h[key][epoch])
        for w in TRACKED:
            for k in ('max_over_limit', 'pinned'):
                row['%s_%s' % (w, k)] = float(h['normsafe_%s_%s' % (w, k)]
                                              [epoch])
        rows.append(row)
    return rows, callback.record


def write_csv(rows, path):
    with open(path, 'w', newline='') as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        for row in rows:
            writer.writerow(row)


def curves(rows, condition, key):
    """``(epochs, per-seed array (seeds, epochs))`` of ``key``."""
    sel = [r for r in rows if r['condition'] == condition]
    seeds = sorted(set(r['seed'] for r in sel))
    epochs = sorted(set(r['epoch'] for r in sel))
    table = np.array([[next(r[key] for r in sel if r['seed'] == s
                            and r['epoch'] == e) for e in epochs]
                      for s in seeds])
    return epochs, table


def write_png(rows, conditions, path):
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        print('matplotlib missing: no %s' % path)
        return
    keys = [('val_loss', 'valid loss'), ('val_accuracy', 'valid accuracy'),
            ('dense_pinned', 'head columns pinned at the limit')]
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for ax, (key, title) in zip(axes, keys):
        for condition in conditions:
            epochs, table = curves(rows, condition, key)
            mean = table.mean(axis=0)
            line, = ax.plot(epochs, mean, marker='o', label=condition)
            ax.fill_between(epochs, table.min(axis=0), table.max(axis=0),
                            color=line.get_color(), alpha=0.15)
        ax.set_title(title)
        ax.set_xlabel('epoch')
        ax.grid(alpha=0.3)
    axes[1].axhline(0.25, color='grey', lw=0.8, ls=':')
    axes[0].legend()
    fig.suptitle('EEGNet (Keras 3, torch backend) on synthetic EEG-like '
                 'data: mean and min-max over seeds')
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print('wrote %s' % path)


def _ms(values):
    return '%.3f ± %.3f' % (np.mean(values), np.std(values))


def markdown(rows, conditions, records, epochs, seeds, total):
    show = sorted(set([1, 2, 3, 4, 5, 6, 8, 10, epochs])
                  & set(range(1, epochs + 1)))
    lines = [
        '# EEGNet (Keras 3) learning curves with and without NormSafeInit',
        '',
        'Generated by `benchmarks/keras_curves.py` (%d seed(s): %s; %d '
        'epochs; %.0f s in all). **Synthetic EEG-like data** '
        '(`examples/synthetic_eeg.py`; not a recording), %d train / %d valid '
        'trials, 22 channels x %d samples, snr %g. Adam(%g), batch %d, '
        'BatchNormalization momentum %g. keras %s, backend %s.'
        % (len(seeds), ', '.join(str(s) for s in seeds), epochs, total,
           N_TRAIN, N_VALID, N_TIMES, SNR, LR, BATCH, BN_MOMENTUM,
           keras.__version__, keras.backend.backend()),
        '',
        'Mean ± SD over seeds at the end of each shown epoch.',
        '',
    ]
    for key, title in (('val_accuracy', 'Valid accuracy'),
                       ('val_loss', 'Valid loss'),
                       ('dense_pinned', 'Head columns pinned at max_norm '
                        '0.25 (within 1e-4), mean over seeds')):
        lines += ['**%s**' % title, '',
                  '| epoch | ' + ' | '.join(conditions) + ' |',
                  '|---:|' + '---:|' * len(conditions)]
        for epoch in show:
            cells = []
            for condition in conditions:
                values = [r[key] for r in rows if r['condition'] == condition
                          and r['epoch'] == epoch]
                cells.append('%.2f' % np.mean(values) if key == 'dense_pinned'
                             else _ms(values))
            lines.append('| %d | %s |' % (epoch, ' | '.join(cells)))
        lines.append('')
    others = [c for c in conditions if c != 'none']
    if 'none' in conditions and others:
        lines += ['**Paired by seed against `none`: mean difference in valid '
                  'accuracy (seeds better / worse)**', '',
                  '| epoch | ' + ' | '.join(others) + ' |',
                  '|---:|' + '---:|' * len(others)]
        for epoch in show:
            base = dict((r['seed'], r['val_accuracy']) for r in rows
                        if r['condition'] == 'none' and r['epoch'] == epoch)
            cells = []
            for condition in others:
                diff = np.array([r['val_accuracy'] - base[r['seed']]
                                 for r in rows if r['condition'] == condition
                                 and r['epoch'] == epoch])
                cells.append('%+.3f (%d / %d)' % (diff.mean(),
                                                  (diff > 0).sum(),
                                                  (diff < 0).sum()))
            lines.append('| %d | %s |' % (epoch, ' | '.join(cells)))
        lines.append('')
    lines += ['**Epochs until the valid accuracy first reaches 0.5 / 0.8 '
              '(per seed; `-` never within the run)**', '',
              '| condition | seeds %s |' % ', '.join(str(s) for s in seeds),
              '|---|---|']
    for condition in conditions:
        cells = []
        for seed in seeds:
            acc = [r['val_accuracy'] for r in rows
                   if r['condition'] == condition and r['seed'] == seed]
            cells.append('/'.join(
                next((str(i + 1) for i, a in enumerate(acc) if a >= level),
                     '-') for level in (0.5, 0.8)))
        lines.append('| %s | %s |' % (condition, ', '.join(cells)))
    lines += ['', 'Caveats: one synthetic task, %d seeds; the spread across '
              'seeds is as large as most differences, so read the paired '
              'counts, not single means. Every condition starts from the '
              'same draw, data and dropout stream per seed and differs only '
              'in what the callback did before the first step. Nothing here '
              'says how real EEG behaves.' % len(seeds), '']
    lines += ['What the callback did at the start (seed %d):' % seeds[0],
              '']
    for condition in conditions:
        record = records[(condition, seeds[0])]
        parts = []
        for layer in record['layers']:
            repair = layer['repair']
            before = layer['constraints'][0]['before']['max']
            after = repair['after'][0]['max']
            parts.append('%s max norm %.3g -> %.3g (%s)' % (
                layer['name'], before, after, repair['applied']))
        lines.append('- `%s`: %s' % (condition, '; '.join(parts)))
    return '\n'.join(lines) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--epochs', type=int, default=15)
    parser.add_argument('--seeds', type=int, default=5)
    parser.add_argument('--conditions', default='none,rescale,rescale@1.0')
    parser.add_argument('--fraction', type=float, default=0.5)
    parser.add_argument('--threads', type=int, default=1,
                        help='torch intra-op threads (torch backend only; '
                        '1 keeps a shared machine from oversubscribing)')
    parser.add_argument('--out', default=os.path.join(REPO, 'benchmarks',
                                                      'results'))
    args = parser.parse_args(argv)
    if keras.backend.backend() == 'torch':
        import torch
        torch.set_num_threads(args.threads)
    logging.getLogger('normsafe_init').setLevel(logging.WARNING)
    conditions = args.conditions.split(',')
    seeds = list(range(args.seeds))
    rows, records = [], {}
    start = time.time()
    for seed in seeds:
        split = make_split(seed)
        for condition in conditions:
            run_rows, record = one_run(condition, seed, args.epochs,
                                       args.fraction, split)
            rows += run_rows
            records[(condition, seed)] = record
            last = run_rows[-1]
            print('%-12s seed %d: valid loss %.4f, accuracy %.3f, head pinned'
                  ' %.2f (%.0f s)' % (condition, seed, last['val_loss'],
                                      last['val_accuracy'],
                                      last['dense_pinned'], last['seconds']))
            sys.stdout.flush()
    total = time.time() - start
    os.makedirs(args.out, exist_ok=True)
    write_csv(rows, os.path.join(args.out, 'keras_curves.csv'))
    write_png(rows, conditions, os.path.join(args.out, 'keras_curves.png'))
    text = markdown(rows, conditions, records, args.epochs, seeds, total)
    with open(os.path.join(args.out, 'keras_curves.md'), 'w') as handle:
        handle.write(text)
    print(text)


if __name__ == '__main__':
    main()
