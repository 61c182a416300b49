"""Learning curves of a seed-like conv + FC network with and without
NormSafeInit, trained with real pylearn2 on scikit-learn's 8x8 digits.

The network mirrors the seed's failure (pylearn2-facts §0, §5): two bc01
``ConvRectifiedLinear`` layers with ``max_kernel_norm``, then a fully
connected ``RectifiedLinear`` h2 whose fan-in (64 x 4 x 4 = 1024) makes the
declared ``istdev`` 0.08 draw every column near 0.08 * sqrt(1024) = 2.56,
above ``max_col_norm`` 1.9365, then a ``Softmax``. Without the extension
pylearn2's ``Train.setup()`` projects every h2 column onto the limit.

Conditions: ``none`` (pylearn2's own projection), and NormSafeInit with
``rescale``, ``clip`` and ``reinit`` at the same ``fraction``. A condition
``action@f`` (e.g. ``rescale@1.0``) uses fraction ``f`` instead: with
``rescale@1.0`` the largest h2 column lands on the limit and the others just
under it, i.e. about pylearn2's weight scale without the pinning, which
separates "smaller initial scale" from "columns held at the limit".

Data: ``sklearn.datasets.load_digits`` (1797 images, ships with
scikit-learn; nothing downloaded), upsampled 2x to 16x16 (pixel
replication), scaled to [0, 1]; a fixed split after one fixed permutation:
1200 train, the next 550 valid (47 unused, so both sizes are multiples of
the batch size 50).

Per run and epoch it records train/valid NLL and misclassification (from
``model.monitor.channels[...].val_record``), the fraction of h2 columns
pinned at the limit (within 1e-4 relative) and max col norm / limit.

Usage::

    python benchmarks/learning_curves.py [--epochs 12] [--seeds 3]
        [--conditions none,rescale,clip,reinit,rescale@1.0] [--fraction 0.5]
        [--out benchmarks/results]

Writes ``learning_curves.csv``, ``learning_curves.png`` and
``learning_curves.md`` into ``--out``.
"""
from __future__ import absolute_import, division, print_function

import argparse
import csv
import logging
import os
import sys
import time

import numpy as np

# Benchmark the checkout this file lives in, not whatever copy of the
# package the environment happens to have installed.
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

LIMIT = 1.9365
LR = 0.1
PINNED_RTOL = 1e-4
CHANNELS = ('train_y_nll', 'valid_y_nll', 'train_y_misclass',
            'valid_y_misclass')


def load_data():
    """Fixed train/valid DenseDesignMatrix pair with a bc01-compatible
    topological view (b, 0, 1, c) of 16x16x1 images."""
    from sklearn.datasets import load_digits
    from pylearn2.datasets.dense_design_matrix import DenseDesignMatrix
    digits = load_digits()
    images = digits.images.astype('float32') / 16.0          # (1797, 8, 8)
    images = np.kron(images, np.ones((1, 2, 2), dtype='float32'))  # 16x16
    perm = np.random.RandomState(1234).permutation(len(images))
    images = images[perm][:, :, :, None]                      # b01c
    y = digits.target[perm].astype('int64')[:, None]
    n_train = 1200
    train = DenseDesignMatrix(topo_view=images[:n_train], y=y[:n_train],
                              axes=('b', 0, 1, 'c'), y_labels=10)
    valid = DenseDesignMatrix(topo_view=images[n_train:n_train + 550],
                              y=y[n_train:n_train + 550],
                              axes=('b', 0, 1, 'c'), y_labels=10)
    return train, valid


def build_model(seed):
    from pylearn2.models import mlp
    from pylearn2.space import Conv2DSpace
    layers = [
        mlp.ConvRectifiedLinear(layer_name='h0', output_channels=16,
                                kernel_shape=[5, 5], pool_shape=[2, 2],
                                pool_stride=[2, 2], irange=0.2,
                                max_kernel_norm=LIMIT),
        mlp.ConvRectifiedLinear(layer_name='h1', output_channels=64,
                                kernel_shape=[3, 3], pool_type=None,
                                pool_shape=None, pool_stride=None,
                                irange=0.1, max_kernel_norm=LIMIT),
        mlp.RectifiedLinear(layer_name='h2', dim=64, istdev=0.08,
                            max_col_norm=LIMIT),
        mlp.Softmax(layer_name='y', n_classes=10, irange=0.05,
                    max_col_norm=LIMIT),
    ]
    space = Conv2DSpace(shape=[16, 16], num_channels=1,
                        axes=('b', 0, 1, 'c'))
    return mlp.MLP(layers=layers, input_space=space, batch_size=50,
                   seed=seed)


def h2_weights(model):
    return model.layers[2].transformer.get_params()[0].get_value()


class NormRecorder(object):
    """Records h2's pinned fraction and max norm / limit at every monitor
    call (the first call is epoch 0, after Train.setup's projection)."""

    def __init__(self):
        self.pinned = []
        self.max_over = []

    def setup(self, model, dataset, algorithm):
        pass

    def on_save(self, model, dataset, algorithm):
        pass

    def on_monitor(self, model, dataset, algorithm):
        norms = np.sqrt((h2_weights(model).astype('float64') ** 2).sum(0))
        self.pinned.append(float(np.mean(
            np.abs(norms - LIMIT) <= PINNED_RTOL * LIMIT)))
        self.max_over.append(float(norms.max() / LIMIT))


def run_one(condition, seed, epochs, fraction, data):
    from pylearn2.train import Train
    from pylearn2.training_algorithms.sgd import SGD
    from pylearn2.termination_criteria import EpochCounter
    train, valid = data
    model = build_model(seed)
    w_init = h2_weights(model)
    init_over = float(np.sqrt((w_init.astype('float64') ** 2).sum(0)).min()
                      / LIMIT)
    algorithm = SGD(learning_rate=LR, batch_size=50,
                    monitoring_dataset={'train': train, 'valid': valid},
                    termination_criterion=EpochCounter(max_epochs=epochs),
                    seed=[seed, 10, 5])
    recorder = NormRecorder()
    extensions = []
    if condition != 'none':
        from normsafe_init import NormSafeInit
        action, _, frac = condition.partition('@')
        extensions.append(NormSafeInit(
            fraction=float(frac) if frac else fraction, action=action,
            seed=seed))
    extensions.append(recorder)
    trainer = Train(dataset=train, model=model, algorithm=algorithm,
                    extensions=extensions)
    t0 = time.time()
    trainer.main_loop()
    seconds = time.time() - t0
    ch = model.monitor.channels
    curves = dict((name, [float(v) for v in ch[name].val_record])
                  for name in CHANNELS)
    rows = []
    for epoch in range(len(curves['valid_y_nll'])):
        row = {'condition': condition, 'seed': seed, 'epoch': epoch}
        for name in CHANNELS:
            row[name] = curves[name][epoch]
        row['h2_pinned_frac'] = recorder.pinned[epoch]
        row['h2_max_norm_over_limit'] = recorder.max_over[epoch]
        rows.append(row)
    print('%-8s seed %d: %.1f s; h2 min init norm/limit %.3f; epoch-0 '
          'pinned %.3f; final valid nll %.4f misclass %.4f'
          % (condition, seed, seconds, init_over, recorder.pinned[0],
             curves['valid_y_nll'][-1], curves['valid_y_misclass'][-1]))
    sys.stdout.flush()
    return rows, seconds


def summarise(rows, conditions):
    """{condition: {stat: (mean, sd)}} over seeds."""
    out = {}
    for cond in conditions:
        per_seed = {}
        for r in rows:
            if r['condition'] == cond:
                per_seed.setdefault(r['seed'], []).append(r)
        stats = {}
        for key, fn in (
                ('final_valid_nll', lambda rs: rs[-1]['valid_y_nll']),
                ('best_valid_nll', lambda rs: min(x['valid_y_nll']
                                                  for x in rs)),
                ('final_valid_mis', lambda rs: rs[-1]['valid_y_misclass']),
                ('best_valid_mis', lambda rs: min(x['valid_y_misclass']
                                                  for x in rs)),
                ('final_train_nll', lambda rs: rs[-1]['train_y_nll']),
                ('epoch0_pinned', lambda rs: rs[0]['h2_pinned_frac']),
                ('final_pinned', lambda rs: rs[-1]['h2_pinned_frac'])):
            vals = np.array([fn(sorted(rs, key=lambda x: x['epoch']))
                             for rs in per_seed.values()])
            stats[key] = (vals.mean(), vals.std(ddof=1) if len(vals) > 1
                          else 0.0)
        stats['n'] = len(per_seed)
        out[cond] = stats
    return out


def write_markdown(path, summary, conditions, args, seconds):
    def ms(v, fmt='%.4f'):
        return (fmt + ' ± ' + fmt) % v
    lines = [
        '# Learning curves: seed-like conv+FC net on 8x8 digits (16x16)',
        '',
        'Epochs %d, seeds %s, NormSafeInit fraction %g, SGD lr %g, '
        'batch 50; mean ± sd over seeds. Pinned = fraction of h2 columns '
        'within 1e-4 (relative) of max_col_norm %g; epoch 0 is after '
        "Train.setup's projection." % (args.epochs, args.seed_list,
                                       args.fraction, LR, LIMIT),
        '',
        '| condition | n | final valid NLL | best valid NLL | '
        'final valid misclass | best valid misclass | final train NLL | '
        'h2 pinned @ epoch 0 | h2 pinned @ end |',
        '|---|---|---|---|---|---|---|---|---|',
    ]
    for cond in conditions:
        s = summary[cond]
        lines.append('| %s | %d | %s | %s | %s | %s | %s | %s | %s |' % (
            cond, s['n'], ms(s['final_valid_nll']), ms(s['best_valid_nll']),
            ms(s['final_valid_mis']), ms(s['best_valid_mis']),
            ms(s['final_train_nll']), ms(s['epoch0_pinned'], '%.2f'),
            ms(s['final_pinned'], '%.2f')))
    lines += ['', 'Wall time per run (incl. compile, shared 2-core machine): '
              + ', '.join('%s %.0f s' % (c, np.mean(seconds[c]))
                          for c in conditions), '']
    with open(path, 'w') as f:
        f.write('\n'.join(lines))
    print('\n'.join(lines))


def plot(path, rows, conditions):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    panels = (('valid_y_nll', 'valid NLL'), ('valid_y_misclass',
                                             'valid misclassification'),
              ('train_y_nll', 'train NLL'),
              ('h2_pinned_frac', 'h2 columns pinned at limit'))
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.6))
    for ax, (key, title) in zip(axes, panels):
        for cond in conditions:
            seeds = sorted(set(r['seed'] for r in rows
                               if r['condition'] == cond))
            curves = np.array([[r[key] for r in sorted(
                (r for r in rows if r['condition'] == cond
                 and r['seed'] == s), key=lambda x: x['epoch'])]
                for s in seeds])
            x = np.arange(curves.shape[1])
            mean = curves.mean(0)
            line, = ax.plot(x, mean, label=cond)
            ax.fill_between(x, curves.min(0), curves.max(0),
                            color=line.get_color(), alpha=0.2)
        ax.set_title(title)
        ax.set_xlabel('epoch')
        if key != 'h2_pinned_frac':
            ax.set_yscale('log')
    axes[0].legend()
    fig.suptitle('mean over seeds, band = min..max', fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=70)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--epochs', type=int, default=12)
    parser.add_argument('--seeds', type=int, default=3,
                        help='number of seeds (1..N)')
    parser.add_argument('--conditions', default='none,rescale,clip,reinit')
    parser.add_argument('--fraction', type=float, default=0.5)
    parser.add_argument('--out', default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), 'results'))
    args = parser.parse_args(argv)
    args.seed_list = list(range(1, args.seeds + 1))
    conditions = args.conditions.split(',')
    if not os.path.isdir(args.out):
        os.makedirs(args.out)
    data = load_data()
    import normsafe_init
    print('normsafe_init from %s' % os.path.dirname(normsafe_init.__file__))
    logging.getLogger('pylearn2').setLevel(logging.WARNING)
    logging.getLogger('normsafe_init').setLevel(logging.WARNING)
    rows = []
    seconds = dict((c, []) for c in conditions)
    for seed in args.seed_list:
        for cond in conditions:
            r, s = run_one(cond, seed, args.epochs, args.fraction, data)
            rows += r
            seconds[cond].append(s)
    fields = (['condition', 'seed', 'epoch'] + list(CHANNELS) +
              ['h2_pinned_frac', 'h2_max_norm_over_limit'])
    with open(os.path.join(args.out, 'learning_curves.csv'), 'w') as f:
        writer = csv.DictWriter(f, fieldnames=fields, lineterminator='\n')
        writer.writeheader()
        for r in rows:
            writer.writerow(dict((k, ('%.6g' % v) if isinstance(v, float)
                                  else v) for k, v in r.items()))
    summary = summarise(rows, conditions)
    write_markdown(os.path.join(args.out, 'learning_curves.md'), summary,
                   conditions, args, seconds)
    plot(os.path.join(args.out, 'learning_curves.png'), rows, conditions)
    return 0


if __name__ == '__main__':
    sys.exit(main())
