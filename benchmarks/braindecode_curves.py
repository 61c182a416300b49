"""Learning curves of braindecode models with and without
``normsafe_init.torch.make_safe``, on synthetic EEG-like data.

Models (braindecode 1.8, ``n_chans=22``, ``n_outputs=4``): ``EEGNeX``
(head ``LinearWithConstraint(max_norm=0.25)``, stored rows start at ~2.4x
the limit: the severe case) and ``FBCNet`` (head ``max_norm=0.5``, ~1.17x:
the mild case; a filter-bank model that learns band power, i.e. this
data, within the budget, which EEGNeX, and EEGNet in trial runs, do not).
Optimizers: ``AdamW`` (the one braindecode's tutorials pass to
``EEGClassifier``) at torch's defaults (lr 1e-3, weight_decay 0.01), and
plain ``SGD`` lr 0.01 (skorch's default, which ``EEGClassifier``
inherits).

Conditions, from the same initial weights (one torch seed per run):

``none``
    braindecode as is: the stored head rows keep norm ``r > c``; the
    effective rows are ``c`` and the gradient reaching the stored rows is
    scaled by ``c / r``.
``make_safe``
    ``make_safe(model)`` (fraction 0.5, rescale): stored rows at <= 0.5 c,
    the parametrization is the identity.
``clip@1.0``
    ``make_safe(model, fraction=1.0, action='clip')``: stored rows
    projected onto ``c``. The forward function is *identical* to ``none``
    at the start (same effective weights); only the gradient scaling
    differs. Separates "smaller initial head" from "scaled gradient".
``enforce``
    ``make_safe(model)`` and ``enforce_constraints(model, optimizer)``:
    after every optimizer step every constrained stored tensor is
    projected onto its limit (Keras's / pylearn2's max-norm), so the
    parametrization stays the identity for the whole run.

Measured per epoch: train loss, valid loss and accuracy, the head's
*effective step* (Frobenius norm of the change of the effective weight
``module.final_layer.weight``, i.e. after the parametrization, per
optimizer step, averaged over the epoch's steps) and the largest stored
row norm / limit. Data: ``examples/synthetic_eeg.make_eeg`` (seed 0,
synthetic: says nothing about real EEG), 22 channels, 128 samples at
128 Hz, a fixed train / valid split; dropout and batch order seeded per
run, identically across conditions (``make_safe`` uses no torch RNG).

Usage::

    python benchmarks/braindecode_curves.py [--epochs 8] [--seeds 2]
        [--models EEGNeX,FBCNet]
        [--conditions none,make_safe,clip@1.0,enforce]
        [--out benchmarks/results] [--quick]

Besides the curves, ``mechanism``: for every model, optimizer and seed one
step of ``none`` and of ``clip@1.0`` on the same batch (identical forward,
identical dropout): the ratio of the head's effective steps against the
prediction ``(c / r)**2`` (SGD) and ``~c / r`` (AdamW), ``r`` the stored
row norms.

Writes ``braindecode_curves.csv``, ``.png`` and ``.md`` into ``--out``.
"""
import argparse
import csv
import logging
import os
import sys
import time
import warnings

import numpy as np
import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.join(REPO, 'examples'))

from synthetic_eeg import make_eeg  # noqa: E402

from normsafe_init.torch import enforce_constraints, make_safe  # noqa: E402

N_CHANS, N_OUTPUTS, N_TIMES, SFREQ = 22, 4, 128, 128.0
N_VALID, BATCH = 128, 32
#: Training trials per model (FBCNet overfits 128 trials at once).
N_TRAIN = {'EEGNeX': 128, 'FBCNet': 384}
OPTIMIZERS = ('AdamW', 'SGD')
CONDITIONS = ('none', 'make_safe', 'clip@1.0', 'enforce')
FIELDS = ('model', 'optimizer', 'condition', 'seed', 'epoch', 'train_loss',
          'valid_loss', 'valid_acc', 'head_step', 'head_step_first',
          'head_max_over_limit', 'seconds')


def build(name, seed):
    from braindecode.models import FBCNet, EEGNeX
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        if name == 'EEGNeX':
            model = EEGNeX(n_chans=N_CHANS, n_outputs=N_OUTPUTS,
                           n_times=N_TIMES)
        elif name == 'FBCNet':
            model = FBCNet(n_chans=N_CHANS, n_outputs=N_OUTPUTS,
                           n_times=N_TIMES, sfreq=SFREQ)
        else:
            raise ValueError('model must be EEGNeX or FBCNet; got %r' % name)
    return model, model.final_layer


def optimizer_for(name, model):
    if name == 'AdamW':
        return torch.optim.AdamW(model.parameters())
    return torch.optim.SGD(model.parameters(), lr=0.01)


def prepare(model, condition):
    if condition in ('make_safe', 'enforce'):
        make_safe(model)
    elif condition == 'clip@1.0':
        make_safe(model, fraction=1.0, action='clip')
    elif condition != 'none':
        raise ValueError('unknown condition %r' % condition)


def stored_ratios(head):
    """Stored row norms / limit."""
    original = head.parametrizations.weight.original.detach()
    return (original.double().norm(dim=1)
            / head.parametrizations.weight[0].max_norm).numpy()


def stored_ratio(head):
    return float(stored_ratios(head).max())


def evaluate(model, X, y):
    model.eval()
    with torch.no_grad():
        logits = model(X)
        loss = torch.nn.functional.cross_entropy(logits, y).item()
        acc = (logits.argmax(1) == y).float().mean().item()
    model.train()
    return loss, acc


def run(model_name, opt_name, condition, seed, data, epochs, log):
    Xtr, ytr, Xva, yva = data[model_name]
    model, head = build(model_name, seed)
    prepare(model, condition)
    optimizer = optimizer_for(opt_name, model)
    handle = (enforce_constraints(model, optimizer)
              if condition == 'enforce' else None)
    torch.manual_seed(10_000 + seed)  # dropout: same stream per condition
    order = torch.Generator().manual_seed(20_000 + seed)
    rows, start = [], time.time()
    for epoch in range(1, epochs + 1):
        steps, losses = [], []
        perm = torch.randperm(len(ytr), generator=order)
        for i in range(0, len(ytr) - BATCH + 1, BATCH):
            idx = perm[i:i + BATCH]
            before = head.weight.detach().clone()
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(Xtr[idx]),
                                                     ytr[idx])
            loss.backward()
            optimizer.step()
            steps.append(float((head.weight.detach() - before).norm()))
            losses.append(loss.item())
        valid_loss, valid_acc = evaluate(model, Xva, yva)
        rows.append(dict(
            model=model_name, optimizer=opt_name, condition=condition,
            seed=seed, epoch=epoch, train_loss=np.mean(losses),
            valid_loss=valid_loss, valid_acc=valid_acc,
            head_step=np.mean(steps), head_step_first=steps[0],
            head_max_over_limit=stored_ratio(head),
            seconds=time.time() - start))
    if handle is not None:
        handle.remove()
    log('%-6s %-5s %-9s seed %d: valid acc %.3f loss %.3f, head step %.3g, '
        'stored/limit %.2f (%.0f s)' % (model_name, opt_name, condition, seed,
                                        rows[-1]['valid_acc'],
                                        rows[-1]['valid_loss'],
                                        np.mean([r['head_step']
                                                 for r in rows]),
                                        rows[-1]['head_max_over_limit'],
                                        rows[-1]['seconds']))
    return rows


def one_step(model_name, opt_name, condition, seed, data):
    """The head's effective step of the first optimizer step."""
    Xtr, ytr = data[model_name][:2]
    model, head = build(model_name, seed)
    ratios = stored_ratios(head)
    prepare(model, condition)
    optimizer = optimizer_for(opt_name, model)
    torch.manual_seed(10_000 + seed)
    before = head.weight.detach().clone()
    torch.nn.functional.cross_entropy(model(Xtr[:BATCH]),
                                      ytr[:BATCH]).backward()
    optimizer.step()
    return float((head.weight.detach() - before).norm()), ratios


def mechanism(args, data, log):
    """``[(model, optimizer, seed, measured, predicted), ...]``: step of
    ``none`` / step of ``clip@1.0`` from the same effective weights."""
    out = []
    for model in args.models:
        for opt in OPTIMIZERS:
            for seed in range(args.seeds):
                none, r = one_step(model, opt, 'none', seed, data)
                clip, _ = one_step(model, opt, 'clip@1.0', seed, data)
                r = np.maximum(r, 1.0)  # rows below the limit: no scaling
                predicted = (float(np.sqrt(np.mean(r ** -4))) if opt == 'SGD'
                             else float(np.mean(1 / r)))
                out.append((model, opt, seed, none / clip, predicted,
                            float(np.mean(r))))
                log('mechanism %-6s %-5s seed %d: step none / clip@1.0 = '
                    '%.3f (predicted %.3f)' % (model, opt, seed,
                                               none / clip, predicted))
    return out


def mean_sd(values, fmt='%.3f'):
    values = np.asarray(values, dtype=float)
    return (fmt + ' ± ' + fmt) % (values.mean(), values.std(ddof=1)
                                  if values.size > 1 else 0.0)


def summarize(rows, mech, args):
    """The markdown table."""
    lines = ['# braindecode heads with and without make_safe (synthetic '
             'EEG-like data)', '',
             'braindecode %s, torch %s; %d epochs, seeds %s, train %s / valid '
             '%d trials of 22 x %d samples, batch %d; mean ± sd over seeds. '
             'AdamW: torch defaults (lr 1e-3, weight_decay 0.01); SGD: lr '
             '0.01, no momentum. `head step` = ‖ΔW_eff‖_F of the head per '
             'optimizer step (effective weight, after the max-norm '
             'parametrization), mean over all steps; `1st step` = the first '
             'step alone; `ratio` = the condition\'s over `make_safe`\'s. '
             '`stored/limit` = largest stored head row norm / max_norm at '
             'the end of training, and the largest over the epochs (`max`). '
             '**The data are synthetic** (band-power classes in noise, '
             '`examples/synthetic_eeg.py`): they can show the mechanism '
             '(gradient scaling, drift of the stored rows, what each '
             'condition does to them) and whether a model learns at all '
             'within the budget; the accuracies say nothing about real '
             'EEG, and differences within about two sd over %d seed(s) are '
             'noise.' % (
                 args.braindecode, torch.__version__, args.epochs,
                 list(range(args.seeds)),
                 ', '.join('%s %d' % (m, N_TRAIN[m]) for m in args.models),
                 N_VALID, N_TIMES, BATCH, args.seeds),
             '']
    header = ('| model | optimizer | condition | final valid acc | best valid '
              'acc | final valid loss | head step | 1st step | step ratio | '
              '1st step ratio | stored/limit end | stored/limit max |')
    lines += [header, '|' + '---|' * 12]
    for model in args.models:
        for opt in OPTIMIZERS:
            base = [r for r in rows if r['model'] == model
                    and r['optimizer'] == opt
                    and r['condition'] == 'make_safe']
            base_step = np.mean([r['head_step'] for r in base]) if base else 0
            base_first = (np.mean([r['head_step_first'] for r in base
                                   if r['epoch'] == 1]) if base else 0)
            for cond in args.conditions:
                sel = [r for r in rows if r['model'] == model
                       and r['optimizer'] == opt and r['condition'] == cond]
                if not sel:
                    continue
                last = [r for r in sel if r['epoch'] == args.epochs]
                best = [max(r['valid_acc'] for r in sel if r['seed'] == s)
                        for s in sorted(set(r['seed'] for r in sel))]
                step = np.mean([r['head_step'] for r in sel])
                first = np.mean([r['head_step_first'] for r in sel
                                 if r['epoch'] == 1])
                worst = [max(r['head_max_over_limit'] for r in sel
                             if r['seed'] == s)
                         for s in sorted(set(r['seed'] for r in sel))]
                lines.append('| %s | %s | %s | %s | %s | %s | %.3g | %.3g | '
                             '%.2f | %.2f | %s | %s |' % (
                                 model, opt, cond,
                                 mean_sd([r['valid_acc'] for r in last]),
                                 mean_sd(best),
                                 mean_sd([r['valid_loss'] for r in last]),
                                 step, first,
                                 step / base_step if base_step else np.nan,
                                 first / base_first if base_first else np.nan,
                                 mean_sd([r['head_max_over_limit']
                                          for r in last], '%.2f'),
                                 mean_sd(worst, '%.2f')))
    lines += ['', '## Mechanism: one step from the same effective weights',
              '', '`none` (stored rows r > c) against `clip@1.0` (stored rows '
              'projected onto c): the forward function is identical, only the '
              'scaling of the gradient by c / r differs. Predicted ratio of '
              'the effective steps: SGD sqrt(mean((c/r)^4)), AdamW '
              'mean(c/r) (Adam normalises the gradient scale away, but the '
              'effective change of a renormed row is c/r times that of the '
              'stored row).', '',
              '| model | optimizer | mean r/c | measured none / clip@1.0 | '
              'predicted |', '|---|---|---|---|---|']
    for model in args.models:
        for opt in OPTIMIZERS:
            sel = [m for m in mech if m[0] == model and m[1] == opt]
            if sel:
                lines.append('| %s | %s | %.3f | %s | %s |' % (
                    model, opt, np.mean([m[5] for m in sel]),
                    mean_sd([m[3] for m in sel]),
                    mean_sd([m[4] for m in sel])))
    return '\n'.join(lines) + '\n'


def plot(rows, args, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    metrics = (('valid_acc', 'valid accuracy'), ('valid_loss', 'valid loss'),
               ('head_step', 'head effective step'),
               ('head_max_over_limit', 'stored head / limit'))
    fig, axes = plt.subplots(len(args.models) * len(metrics), len(OPTIMIZERS),
                             figsize=(10, 2.4 * len(args.models)
                                      * len(metrics)),
                             squeeze=False)
    for mi, model in enumerate(args.models):
        for k, (key, label) in enumerate(metrics):
            for oi, opt in enumerate(OPTIMIZERS):
                ax = axes[mi * len(metrics) + k, oi]
                for cond in args.conditions:
                    sel = [r for r in rows if r['model'] == model
                           and r['optimizer'] == opt
                           and r['condition'] == cond]
                    if not sel:
                        continue
                    epochs = sorted(set(r['epoch'] for r in sel))
                    values = np.array([[r[key] for r in sel if r['epoch'] == e]
                                       for e in epochs])
                    mean, sd = values.mean(1), values.std(1)
                    ax.plot(epochs, mean, label=cond)
                    ax.fill_between(epochs, mean - sd, mean + sd, alpha=0.2)
                ax.set_title('%s, %s' % (model, opt), fontsize=9)
                ax.set_ylabel(label, fontsize=8)
                ax.tick_params(labelsize=7)
                if key == 'head_step':
                    ax.set_yscale('log')
                if key == 'head_max_over_limit':
                    ax.axhline(1.0, color='grey', lw=0.6, ls=':')
                if mi == len(args.models) - 1 and k == len(metrics) - 1:
                    ax.set_xlabel('epoch', fontsize=8)
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--epochs', type=int, default=8)
    parser.add_argument('--seeds', type=int, default=2)
    parser.add_argument('--models', default='EEGNeX,FBCNet')
    parser.add_argument('--conditions', default=','.join(CONDITIONS))
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--out', default=os.path.join(REPO, 'benchmarks',
                                                      'results'))
    parser.add_argument('--quick', action='store_true',
                        help='2 epochs, 1 seed (a smoke test)')
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.seeds = 2, 1
    args.models = args.models.split(',')
    args.conditions = args.conditions.split(',')
    import braindecode
    args.braindecode = braindecode.__version__
    torch.set_num_threads(args.threads)
    logging.getLogger('normsafe_init').setLevel(logging.WARNING)
    data = {}
    for model in args.models:
        n = N_TRAIN[model]
        X, y = make_eeg(n + N_VALID, n_chans=N_CHANS, n_times=N_TIMES,
                        sfreq=SFREQ, seed=0)
        X, y = torch.from_numpy(X), torch.from_numpy(y)
        data[model] = (X[:n], y[:n], X[n:], y[n:])
    start = time.time()
    mech = mechanism(args, data, print)
    rows = []
    for model in args.models:
        for opt in OPTIMIZERS:
            for seed in range(args.seeds):
                for cond in args.conditions:
                    rows += run(model, opt, cond, seed, data, args.epochs,
                                print)
    os.makedirs(args.out, exist_ok=True)
    stem = os.path.join(args.out, 'braindecode_curves')
    with open(stem + '.csv', 'w', newline='') as handle:
        writer = csv.DictWriter(handle, FIELDS)
        writer.writeheader()
        for row in rows:
            writer.writerow(dict((k, ('%.6g' % v) if isinstance(v, float)
                                  else v) for k, v in row.items()))
    text = summarize(rows, mech, args)
    text += '\nWall time: %.0f s on %d thread(s).\n' % (time.time() - start,
                                                        args.threads)
    with open(stem + '.md', 'w') as handle:
        handle.write(text)
    plot(rows, args, stem + '.png')
    print(text)


if __name__ == '__main__':
    main()
