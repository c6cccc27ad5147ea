"""Mixed precision: which layers take int4 weights (w4a8) so the model fits the flash
budget, and which int16 activations (w8a16), while losing the least fidelity (README: mixed precision).

Sensitivity: each choosable layer is quantized w4a8 alone, then w8a16 alone (the rest
w8a8), and the output's noise power against the float model is measured on
calibration samples; the change from all-w8a8 is that choice's cost (w8a16's is a
gain, negative). Noise from different layers adds nearly independently, so the sum of
the changes is a separable proxy of the total.

Search: a 0/1 integer program, solved exactly by scipy's milp (HiGHS): minimize the
summed noise subject to the flash saved covering what the budget asks, at most one
choice per layer. It is a knapsack, which a greedy ratio rule can get wrong by a whole
layer; milp is exact and takes milliseconds at these sizes (tens of layers). The
chosen assignment's true fidelity is then measured, and the driver confirms flash and
arena with the real build, excluding w8a16 layers while the arena is over the SRAM
budget (int16 activations take twice the bytes, and the peak is not separable).

w8a16 is offered only where it cuts the noise by at least WIDE_MIN_GAIN of the
all-w8a8 noise: its kernels take about twice the instructions of int8 ones (README:
mixed precision), which a gain within the measurement's noise does not pay for.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import BudgetError
from ..ir import Graph
from .fidelity import Int8Runner, sqnr_db
from .observe import FloatRunner
from .precision import choosable_layers
from .ptq import quantize_graph

MAX_SAMPLES = 64
PARETO_POINTS = 6
WIDE_MIN_GAIN = 0.02
INT64_BIAS_EXTRA = 4  # flash bytes per output channel: a w8a16 layer's bias is int64


@dataclass(frozen=True)
class Latency:
    """The latency budget as the integer program sees it: each choice's milliseconds over
    its layer's w8a8 ones, as measured, and how many the choices may add together."""

    budget_ms: float
    allowance_ms: float
    added_ms: dict[tuple[str, str], float]  # (layer, precision) -> ms over w8a8


@dataclass(frozen=True)
class LayerChoice:
    name: str
    precision: str  # w4a8 or w8a16
    saved_bytes: int  # flash saved (int4 weights) or, negative, spent (int64 bias)
    noise: float  # output noise power added (negative: removed), relative to the signal


class MixedSearch:
    """Sensitivities measured once; assignments solved for any weight budget."""

    def __init__(
        self,
        graph: Graph,
        ranges: dict,
        samples: list[list[np.ndarray]],
        hessians: dict | None = None,
        progress: Callable[[str, int], Callable[[], None]] | None = None,
    ):
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
            count, channels = graph[op.inputs[1]].size, graph[op.outputs[0]].shape[-1]
            self.choices.append(
                LayerChoice(name, "w4a8", count - (count + 1) // 2, max(self._added_noise({name: "w4a8"}), 0.0))
            )
            gain = self._added_noise({name: "w8a16"})
            if gain < -WIDE_MIN_GAIN * self.base:
                self.choices.append(LayerChoice(name, "w8a16", -INT64_BIAS_EXTRA * channels, gain))
            if tick:
                tick()

    def _added_noise(self, assignment: dict[str, str]) -> float:
        return self._noise(self.fidelity(assignment)[0]) - self.base

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
        return sum(c.saved_bytes for c in self.choices if c.saved_bytes > 0)

    def assign(
        self,
        must_save: int,
        exclude: frozenset[LayerChoice] = frozenset(),
        wide_code: int = 0,
        latency: Latency | None = None,
    ) -> dict[str, str]:
        """The least-noise choices (at most one per layer, none of `exclude`) saving at
        least `must_save` bytes; w8a16 layers wherever they gain and the flash allows,
        the first of them paying `wide_code` bytes for the 16x8 kernels' code; with
        `latency`, the choices' added milliseconds within its allowance."""
        if must_save > self.max_saving():
            raise BudgetError(
                f"even int4 weights in every layer leave the model {must_save - self.max_saving():,} B over the flash budget"
            )
        choices = [c for c in self.choices if c not in exclude]
        if not choices:
            return {}
        from scipy.optimize import Bounds, LinearConstraint, milp

        # columns: one per choice, then "the 16x8 kernels are linked" (needed by any w8a16 choice)
        saved = np.array([c.saved_bytes for c in choices] + [-wide_code], dtype=float)
        noise = np.array([c.noise for c in choices] + [0.0])
        scale = np.abs(noise).max() or 1.0
        noise = noise / scale + 1e-6 * saved / max(np.abs(saved).max(), 1.0)  # scaled for the solver; ties: save less
        layers = sorted({c.name for c in choices})
        one_per_layer = np.array([[c.name == name for c in choices] + [False] for name in layers], dtype=float)
        needs_kernels = np.array(
            [[c is w for c in choices] + [-1] for w in choices if w.precision == "w8a16"], dtype=float
        ).reshape(-1, len(saved))
        constraints = [LinearConstraint(saved[None, :], lb=must_save), LinearConstraint(one_per_layer, ub=1)]
        if len(needs_kernels):
            constraints.append(LinearConstraint(needs_kernels, ub=0))
        if latency is not None:
            added = np.array([latency.added_ms.get((c.name, c.precision), 0.0) for c in choices] + [0.0])
            constraints.append(LinearConstraint(added[None, :], ub=latency.allowance_ms))
        result = milp(noise, constraints=constraints, integrality=np.ones(len(saved)), bounds=Bounds(0, 1))
        if not result.success:
            within = f" within {latency.budget_ms:g} ms" if latency is not None else ""
            raise BudgetError(f"no precision assignment saves the {must_save:,} B the flash budget asks{within}")
        return {c.name: c.precision for c, x in zip(choices, result.x) if x > 0.5}

    def pareto(
        self,
        chosen: dict[str, str],
        weights_bytes: int,
        wide_code: int = 0,
        latency: tuple[float, Latency] | None = None,
    ) -> list[dict]:
        """Assignments over a sweep of savings (all w8a8 to all w4a8) with their measured
        fidelity; `weights_bytes` is the all-w8a8 constant size, `chosen` marked. With
        `latency` (the all-w8a8 build's ms, the choices' added ms), each point's ms too."""
        points, seen = [], set()
        for fraction in np.linspace(0.0, 1.0, PARETO_POINTS):
            assignment = self.assign(int(fraction * self.max_saving()), wide_code=wide_code)
            if frozenset(assignment.items()) not in seen:
                seen.add(frozenset(assignment.items()))
                points.append(assignment)
        if frozenset(chosen.items()) not in seen:
            points.append(chosen)
        rows = []
        for assignment in points:
            sqnr, agree = self.fidelity(assignment)
            saved = sum(c.saved_bytes for c in self.choices if assignment.get(c.name) == c.precision)
            count = Counter(assignment.values())
            row = {
                "weights_bytes": weights_bytes - saved,
                "w4a8_layers": count["w4a8"],
                "w8a16_layers": count["w8a16"],
                "sqnr_db": sqnr,
                "top1_agreement": agree,
                "chosen": assignment == chosen,
            }
            if latency is not None:
                base_ms, table = latency
                row["latency_ms"] = round(
                    base_ms + sum(table.added_ms.get(item, 0.0) for item in assignment.items()), 3
                )
            rows.append(row)
        return sorted(rows, key=lambda r: r["weights_bytes"])

    def sensitivity_table(self) -> list[dict]:
        """Per layer: int4's saving and added noise, and w8a16's noise change where it is offered."""
        rows: dict[str, dict] = {}
        for c in self.choices:
            row = rows.setdefault(c.name, {"layer": c.name})
            if c.precision == "w4a8":
                row |= {"w4a8_saves_bytes": c.saved_bytes, "w4a8_noise": float(f"{c.noise:.3g}")}
            else:
                row["w8a16_noise"] = float(f"{c.noise:.3g}")
        return list(rows.values())
