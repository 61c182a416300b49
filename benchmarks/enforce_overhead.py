"""What ``enforce_constraints`` costs per training step (CPU).

For each model (braindecode 1.8 ``EEGNeX`` and ``FBCNet``, 22 channels,
4 classes, 128 samples at 128 Hz; batch 32, AdamW), after ``make_safe``:
rounds of ``--steps`` training steps (zero_grad, forward, cross-entropy,
backward, ``optimizer.step()``) alternate between no hook and the hook of
``enforce_constraints`` (registered / removed between rounds, so both
conditions see the same machine load), and the projection alone
(``handle.project()``) is timed on its own. Printed per model: the median
wall time of a step without and with the hook and their ratio, the mean
process CPU time of a step (all threads) without and with it and their
ratio, and the projection's CPU time as a fraction of a step's (the
steadier numbers on a shared machine).

Usage::

    python benchmarks/enforce_overhead.py [--rounds 6] [--steps 5]
        [--threads 2] [--out benchmarks/results]

Writes ``enforce_overhead.md`` into ``--out``.
"""
import argparse
import logging
import os
import sys
import time
import warnings

import numpy as np
import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from normsafe_init.torch import enforce_constraints, make_safe  # noqa: E402

N_CHANS, N_OUTPUTS, N_TIMES, SFREQ, BATCH = 22, 4, 128, 128.0, 32


def build(name):
    from braindecode.models import EEGNeX, FBCNet
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        if name == 'EEGNeX':
            return EEGNeX(n_chans=N_CHANS, n_outputs=N_OUTPUTS,
                          n_times=N_TIMES)
        return FBCNet(n_chans=N_CHANS, n_outputs=N_OUTPUTS, n_times=N_TIMES,
                      sfreq=SFREQ)


def measure(name, rounds, steps):
    model = build(name)
    make_safe(model)
    optimizer = torch.optim.AdamW(model.parameters())
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(BATCH, N_CHANS, N_TIMES, generator=gen)
    y = torch.randint(0, N_OUTPUTS, (BATCH,), generator=gen)
    times = {False: [], True: []}
    cpu = {False: [], True: []}

    def step():
        optimizer.zero_grad()
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()

    step()   # warm-up
    handle = None
    for r in range(rounds):
        for enforce in ((False, True) if r % 2 == 0 else (True, False)):
            if enforce:
                handle = enforce_constraints(model, optimizer)
            for _ in range(steps):
                start, start_cpu = time.perf_counter(), time.process_time()
                step()
                times[enforce].append(time.perf_counter() - start)
                cpu[enforce].append(time.process_time() - start_cpu)
            if handle is not None:
                handle.remove()
                handle = None
    handle = enforce_constraints(model, optimizer)
    projections, project_cpu = [], []
    for _ in range(200):
        start, start_cpu = time.perf_counter(), time.process_time()
        handle.project()
        projections.append(time.perf_counter() - start)
        project_cpu.append(time.process_time() - start_cpu)
    handle.remove()
    n_params = sum(p.numel() for p in model.parameters())
    constrained = sum(p.tensor.numel() for p in handle.projections)
    return dict(model=name, without=float(np.median(times[False])),
                with_=float(np.median(times[True])),
                cpu_without=float(np.mean(cpu[False])),
                cpu_with=float(np.mean(cpu[True])),
                project=float(np.median(projections)),
                project_cpu=float(np.mean(project_cpu)),
                n_params=n_params, constrained=constrained,
                names=', '.join(handle.names), steps=len(times[False]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--rounds', type=int, default=6)
    parser.add_argument('--steps', type=int, default=5)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--models', default='EEGNeX,FBCNet')
    parser.add_argument('--out', default=os.path.join(REPO, 'benchmarks',
                                                      'results'))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    logging.getLogger('normsafe_init').setLevel(logging.WARNING)
    import braindecode
    rows = [measure(name, args.rounds, args.steps)
            for name in args.models.split(',')]
    lines = ['# enforce_constraints: cost per training step (CPU)', '',
             'braindecode %s, torch %s, %d thread(s); batch %d of %d x %d, '
             'AdamW; median over %d steps per condition, the two conditions '
             'alternating in rounds of %d; projection alone: median of 200 '
             'calls. Wall times (median) and the process CPU time '
             '(`time.process_time`, all threads, mean): on a machine shared '
             'with other jobs the wall-time ratio carries their noise; CPU '
             'time and the projection alone against the step are the '
             'steadier figures.' % (
                 braindecode.__version__, torch.__version__, args.threads,
                 BATCH, N_CHANS, N_TIMES, rows[0]['steps'] if rows else 0,
                 args.steps), '',
             '| model | parameters | constrained (projected) | step without '
             '| step with | wall ratio | CPU without | CPU with | CPU ratio | '
             'projection alone | projection / step |',
             '|---|---|---|---|---|---|---|---|---|---|---|']
    for row in rows:
        lines.append('| %s | %d | %d (%s) | %.1f ms | %.1f ms | %.3f | '
                     '%.1f ms | %.1f ms | %.3f | %.3f ms | %.1e |' % (
                         row['model'], row['n_params'], row['constrained'],
                         row['names'], 1e3 * row['without'],
                         1e3 * row['with_'], row['with_'] / row['without'],
                         1e3 * row['cpu_without'], 1e3 * row['cpu_with'],
                         row['cpu_with'] / row['cpu_without'],
                         1e3 * row['project'],
                         row['project_cpu'] / row['cpu_without']))
    text = '\n'.join(lines) + '\n'
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, 'enforce_overhead.md'), 'w') as handle:
        handle.write(text)
    print(text)


if __name__ == '__main__':
    main()
