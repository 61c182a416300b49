"""Synthetic EEG-like data for the examples and benchmarks (numpy only).

**The data are synthetic.** No recording is involved: every trial is
pink (1/f) noise on ``n_chans`` channels, mixed a little across channels,
plus, in a few channels chosen by the class, a burst of oscillation in a
frequency band chosen by the class. It has the *shape* of a motor-imagery
data set (trials x channels x time, a class carried by band power in a few
channels, as in BCI Competition IV 2a: 22 channels, 4 classes) and nothing
else; results on it say nothing about real EEG.

Model of one trial of class ``c`` (``t`` in seconds, ``i`` a channel)::

    x_i(t) = sum_k M[i, k] p_k(t)                        (background)
           + snr * 1[i in G_c] * h(t) * a * sin(2 pi f t + phi)
    p_k      pink noise: white noise shaped by 1/sqrt(f) in the Fourier
             domain, scaled to unit standard deviation
    M        I + 0.1 * N(0, 1) / sqrt(n_chans), fixed per seed (volume
             conduction, roughly)
    G_c      ``chans_per_class`` consecutive channels, group ``c``
    f        drawn per trial and channel, uniform in band B_c:
             (8, 12) Hz (mu) for even c, (18, 26) Hz (beta) for odd c
    a        drawn per trial and channel, uniform in (0.75, 1.25)
    phi      drawn per trial and channel, uniform in (0, 2 pi)
    h(t)     a Hann window over the middle 80% of the trial

Everything is drawn from one ``numpy.random.RandomState(seed)``, so the
same arguments give the same arrays on every machine and numpy version
(RandomState's streams are frozen); no global random state is touched.

Example::

    >>> from synthetic_eeg import make_eeg
    >>> X, y = make_eeg(8, n_times=128, seed=1)
    >>> X.shape, X.dtype, y.dtype
    ((8, 22, 128), dtype('float32'), dtype('int64'))
    >>> sorted(set(y.tolist())) == [0, 1, 2, 3]
    True
"""
import numpy as np

__all__ = ['make_eeg', 'BANDS']

#: The two frequency bands (Hz) that carry the class, alternately.
BANDS = ((8.0, 12.0), (18.0, 26.0))


def _check_int(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or value < minimum:
        raise ValueError('%s must be an integer >= %d; got %r'
                         % (name, minimum, value))
    return int(value)


def _pink(rng, shape, n_times):
    """Pink noise of ``shape + (n_times,)``, unit std along the last axis."""
    white = rng.standard_normal(shape + (n_times,))
    spectrum = np.fft.rfft(white, axis=-1)
    freqs = np.arange(spectrum.shape[-1], dtype=float)
    freqs[0] = 1.0  # keep the (removed below) DC term finite
    spectrum /= np.sqrt(freqs)
    spectrum[..., 0] = 0.0
    pink = np.fft.irfft(spectrum, n=n_times, axis=-1)
    pink /= pink.std(axis=-1, keepdims=True) + 1e-12
    return pink


def make_eeg(n_trials, n_chans=22, n_times=256, n_classes=4, sfreq=128.0,
             seed=0, snr=0.6, chans_per_class=3):
    """Synthetic EEG-like trials with class-dependent band power.

    Parameters
    ----------
    n_trials : int
        Trials; the classes are balanced (``y = arange(n_trials) %
        n_classes``, then shuffled).
    n_chans, n_times : int
        Channels and samples per trial.
    n_classes : int
        Classes; class ``c`` raises the power of band ``BANDS[c % 2]`` in
        channels ``G_c`` (``chans_per_class`` channels starting at
        ``(c * chans_per_class) % n_chans``).
    sfreq : float
        Sampling rate in Hz; must exceed twice the top band edge (52 Hz).
    seed : int
        Seed of the one ``numpy.random.RandomState`` used.
    snr : float
        Oscillation amplitude relative to the unit-std background; smaller
        is harder (0.6 gives a task a small network learns in a few
        epochs, well above chance but not trivially).
    chans_per_class : int
        Channels per class group.

    Returns
    -------
    X : float32 array, shape (n_trials, n_chans, n_times)
    y : int64 array, shape (n_trials,), values in ``0 .. n_classes - 1``
    """
    n_trials = _check_int(n_trials, 'n_trials', 1)
    n_chans = _check_int(n_chans, 'n_chans', 1)
    n_times = _check_int(n_times, 'n_times', 8)
    n_classes = _check_int(n_classes, 'n_classes', 2)
    chans_per_class = _check_int(chans_per_class, 'chans_per_class', 1)
    if chans_per_class > n_chans:
        raise ValueError('chans_per_class must be <= n_chans (%d); got %r'
                         % (n_chans, chans_per_class))
    sfreq = float(sfreq)
    top = max(hi for _, hi in BANDS)
    if not sfreq > 2 * top:
        raise ValueError('sfreq must be > %g Hz (twice the top band edge); '
                         'got %r' % (2 * top, sfreq))
    snr = float(snr)
    if not snr >= 0:
        raise ValueError('snr must be a real number >= 0; got %r' % snr)

    rng = np.random.RandomState(seed)
    y = np.arange(n_trials, dtype=np.int64) % n_classes
    rng.shuffle(y)

    mix = np.eye(n_chans) + 0.1 * rng.standard_normal(
        (n_chans, n_chans)) / np.sqrt(n_chans)
    X = np.einsum('ik,nkt->nit', mix, _pink(rng, (n_trials, n_chans),
                                            n_times))

    t = np.arange(n_times) / sfreq
    start, width = int(0.1 * n_times), max(int(0.8 * n_times), 2)
    window = np.zeros(n_times)
    window[start:start + width] = np.hanning(width)

    lo = np.array([BANDS[c % 2][0] for c in range(n_classes)])
    hi = np.array([BANDS[c % 2][1] for c in range(n_classes)])
    shape = (n_trials, chans_per_class)
    freq = lo[y][:, None] + (hi - lo)[y][:, None] * rng.uniform(size=shape)
    amp = rng.uniform(0.75, 1.25, size=shape)
    phase = rng.uniform(0.0, 2 * np.pi, size=shape)
    burst = (snr * amp[..., None] * window
             * np.sin(2 * np.pi * freq[..., None] * t + phase[..., None]))
    offsets = np.arange(chans_per_class)
    for c in range(n_classes):
        rows = np.flatnonzero(y == c)
        chans = (c * chans_per_class + offsets) % n_chans
        X[rows[:, None], chans[None, :]] += burst[rows]
    return X.astype(np.float32), y


if __name__ == '__main__':
    X, y = make_eeg(200, seed=0)
    print('X', X.shape, X.dtype, 'y', y.shape, y.dtype,
          'classes', np.bincount(y).tolist())
