"""The t interval of a mean from its N, mean and SD."""

from __future__ import annotations

import math

# scipy.special.stdtrit is the quantile scipy.stats.t.ppf evaluates; importing scipy.stats costs
# about a second more, and the report runs in every refresh.
from scipy.special import stdtrit


def mean_interval(
    n: int | None, mean: float | None, sd: float | None, level: float = 0.95
) -> tuple[float, float] | None:
    """Two-sided t interval of the mean; None with fewer than two values or no SD."""
    if n is None or n < 2 or mean is None or sd is None or not math.isfinite(sd):
        return None
    half_width = float(stdtrit(n - 1, 0.5 + level / 2)) * sd / math.sqrt(n)
    return mean - half_width, mean + half_width
