"""The exact law of ``S = sum_{i<=n} (X_i B_i)^2`` by inversion of the
entries' transform: the oracle the saddlepoint law of
:mod:`normsafe_init.laws.saddlepoint` is tested against (formerly
``normsafe_init._entry``, ``_sumlaw``, ``_moments``, ``_roots``). Its own
credentials are in ``tests/test_law_oracle.py``."""
