"""Is a weight a fresh draw of its init, or trained? (placeholder: the
statistical judgment lands with its own module)."""
from __future__ import absolute_import, division, print_function

from ._record import Record

__all__ = ['Verdict', 'judge_analysis']


class Verdict(Record):
    """``trained`` (bool), ``evidence`` (why, for the log), ``rests_on``
    (what the verdict rests on), ``tests`` (the numbers)."""

    _fields = ('trained', 'evidence', 'rests_on', 'tests')

    def __init__(self, trained, evidence=None, rests_on=None, tests=None):
        self.trained = bool(trained)
        self.evidence = evidence
        self.rests_on = rests_on
        self.tests = tests or {}

    @property
    def fresh(self):
        return not self.trained

    @classmethod
    def host(cls, reason):
        """Trained on the host's word (``reason``), or fresh when None."""
        return cls(reason is not None, reason,
                   'the host' if reason is not None else None)


def judge_analysis(weight, analysis):
    """The verdict on an analysed weight from its own values."""
    return Verdict(False, None, 'no test of the values yet')
