"""Queueing theory the model must agree with when every mechanism is off.

With Poisson arrivals, exponential efforts and one route, the model is a Jackson
network: each department is an M/M/c station and the mean lead time is the sum of
the stations' mean sojourn times.
"""

from __future__ import annotations

import math


def erlang_c(servers: int, offered_load: float) -> float:
    """Probability an arrival waits in an M/M/c queue (Erlang C), ``a = lambda / mu``."""
    c, a = servers, offered_load
    if a >= c:
        return 1.0
    # Sum a^k/k! iteratively to stay stable for large c.
    term, total = 1.0, 1.0
    for k in range(1, c):
        term *= a / k
        total += term
    last = term * a / c  # a^c / c!
    waiting = last * c / (c - a)
    return waiting / (total + waiting)


def mmc_sojourn(arrival_rate: float, service_rate: float, servers: int) -> float:
    """Mean time in an M/M/c station: ``C(c, a) / (c*mu - lambda) + 1/mu``."""
    a = arrival_rate / service_rate
    if a >= servers:
        return math.inf
    return erlang_c(servers, a) / (servers * service_rate - arrival_rate) + 1.0 / service_rate


def chain_lead_time(arrival_rate: float, stations: list[tuple[float, int]]) -> float:
    """Mean lead time through a chain of (mean effort, servers) M/M/c stations."""
    return sum(mmc_sojourn(arrival_rate, 1.0 / mean, c) for mean, c in stations)
