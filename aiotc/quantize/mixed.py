"""Mixed precision: which layers take int4 weights (w4a8) so the model fits the flash
budget while losing the least fidelity (DESIGN §6).

Sensitivity: each choosable layer is quantized w4a8 alone (the rest w8a8) and the
output's noise power against the float model is measured on calibration samples; the
increase over all-w8a8 is that layer's cost. Noise from different layers adds nearly
independently, so the sum of the increases is a separable proxy of the total.

Search: a 0/1 integer program, solved exactly by scipy's milp (HiGHS): minimize the
summed noise subject to the bytes saved covering what the budget asks. It is a
knapsack, which a greedy ratio rule can get wrong by a whole layer; milp is exact and
takes milliseconds at these sizes (tens of layers). The chosen assignment's true
fidelity is then measured, and the driver confirms the flash with the real build.

w8a16 (int16 activations) is a choice of precision.py that this search does not
offer yet: w4a8 is what trades flash, and its arena is the int8 one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..errors import BudgetError
from ..ir import Graph
from .fidelity import Int8Runner, sqnr_db
from .observe import FloatRunner
from .precision import choosable_layers
from .ptq import quantize_graph

MAX_SAMPLES = 64
PARETO_POINTS = 6


@dataclass(frozen=True)
class LayerChoice:
    name: str
    saved_bytes: int  # flash saved by int4 weights
    noise: float  # output noise power added by int4 weights, relative to the signal


class MixedSearch:
    """Sensitivities measured once; assignments solved for any weight budget."""

    def __init__(self, graph: Graph, ranges: dict, samples: list[list[np.ndarray]], hessians: dict | None = None, progress: Callable[[str, int], Callable[[], None]] | None = None):
        self.graph, self.ranges, self.hessians = graph, ranges, hessians
        self.samples = samples[:MAX_SAMPLES]
        reference = FloatRunner(graph)
        self.want = [reference.outputs(s) for s in self.samples]
        layers = choosable_layers(graph)
        tick = progress("measuring layer sensitivity", len(layers) + 1) if progress else None
        self.base = self._noise(self.fidelity({})[0])
        if tick:
            tick()
        self.choices = []
        for name in layers:
            op = next(o for o in graph.ops if o.name == name)
            count = graph[op.inputs[1]].size
            sqnr = self.fidelity({name: "w4a8"})[0]
            self.choices.append(LayerChoice(name, count - (count + 1) // 2, max(self._noise(sqnr) - self.base, 0.0)))
            if tick:
                tick()

    @staticmethod
    def _noise(sqnr: float) -> float:
        return 10.0 ** (-sqnr / 10.0)

    def fidelity(self, assignment: dict[str, str]) -> tuple[float, float | None]:
        """(output SQNR dB, top-1 agreement or None) of an assignment on the samples."""
        runner = Int8Runner(quantize_graph(self.graph, self.ranges, assignment, self.hessians), reference_kernels=False)
        got = [runner.outputs(s) for s in self.samples]
        flat = lambda outs: np.concatenate([o.ravel() for o in outs])  # noqa: E731
        sqnr = sqnr_db(np.stack([flat(w) for w in self.want]), np.stack([flat(g) for g in got]))
        classifier = self.want[0][0].size > 1
        agree = float(np.mean([w[0].argmax() == g[0].argmax() for w, g in zip(self.want, got)])) if classifier else None
        return sqnr, agree

    def max_saving(self) -> int:
        return sum(c.saved_bytes for c in self.choices)

    def assign(self, must_save: int) -> dict[str, str]:
        """The least-noise set of w4a8 layers saving at least `must_save` bytes."""
        if must_save <= 0:
            return {}
        if must_save > self.max_saving():
            raise BudgetError(f"even int4 weights in every layer leave the model {must_save - self.max_saving():,} B over the flash budget")
        from scipy.optimize import Bounds, LinearConstraint, milp

        saved = np.array([c.saved_bytes for c in self.choices], dtype=float)
        noise = np.array([c.noise for c in self.choices])
        noise = noise / max(noise.max(), 1e-30) + 1e-6 * saved / saved.max()  # scaled for the solver; ties: save less
        result = milp(noise, constraints=LinearConstraint(saved[None, :], lb=must_save), integrality=np.ones(len(saved)), bounds=Bounds(0, 1))
        if not result.success:
            raise BudgetError(f"no precision assignment saves the {must_save:,} B the flash budget asks ({result.message})")
        return {c.name: "w4a8" for c, x in zip(self.choices, result.x) if x > 0.5}

    def pareto(self, chosen: dict[str, str], weights_bytes: int) -> list[dict]:
        """Assignments over a sweep of savings (all w8a8 to all w4a8) with their measured
        fidelity; `weights_bytes` is the all-w8a8 constant size, `chosen` marked."""
        points, seen = [], set()
        for fraction in np.linspace(0.0, 1.0, PARETO_POINTS):
            assignment = self.assign(int(fraction * self.max_saving()))
            if frozenset(assignment) not in seen:
                seen.add(frozenset(assignment))
                points.append(assignment)
        if frozenset(chosen) not in seen:
            points.append(chosen)
        rows = []
        for assignment in points:
            sqnr, agree = self.fidelity(assignment)
            saved = sum(c.saved_bytes for c in self.choices if c.name in assignment)
            rows.append({"weights_bytes": weights_bytes - saved, "w4a8_layers": len(assignment), "sqnr_db": sqnr, "top1_agreement": agree, "chosen": assignment == chosen})
        return sorted(rows, key=lambda r: r["weights_bytes"])

    def sensitivity_table(self) -> list[dict]:
        return [{"layer": c.name, "w4a8_saves_bytes": c.saved_bytes, "w4a8_noise": float(f"{c.noise:.3g}")} for c in self.choices]
