"""Fixture registry: every fixture is a builder function that fills a Graph."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

# Tolerances (the Swift side should accept |got - ref| <= atol + rtol * |ref| elementwise).
EXACT = dict(rtol=1e-5, atol=1e-6)     # elementwise / data movement ops
ACCUM = dict(rtol=1e-4, atol=1e-5)     # ops that accumulate (conv, gemm, pooling, softmax, ...)
NET = dict(rtol=1e-3, atol=1e-4)       # whole networks (atol is rescaled by the output magnitude)


@dataclass
class Fixture:
    name: str
    build: Callable
    opset: int = 17
    rtol: float = 1e-5
    atol: float = 1e-6
    kind: str = "op"                    # "op" | "network"
    description: str = ""
    argmax_axis: int | None = None      # networks: axis over which argmax should be compared
    extra: dict = field(default_factory=dict)


FIXTURES: list[Fixture] = []


def add(name: str, build: Callable, opset: int = 17, tol: dict = EXACT, kind: str = "op",
        description: str = "", argmax_axis: int | None = None):
    if any(f.name == name for f in FIXTURES):
        raise ValueError(f"duplicate fixture name {name}")
    FIXTURES.append(Fixture(name, build, opset, tol["rtol"], tol["atol"], kind, description,
                            argmax_axis))
