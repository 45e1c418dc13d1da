"""Electrochemical impedance spectroscopy: equivalent circuits, CNLS fitting, lin-KK validation.

Circuit strings use the impedance.py syntax (Murbach et al., J. Open Source Softw. 5 (2020) 2349):
elements are joined in series with ``-`` and in parallel with ``p(a, b, ...)``; every element has a
type prefix and an index, e.g. ``"R0-p(R1,CPE1)-p(R2-Wo1,C2)"``.  Parameter names follow impedance.py:
one-parameter elements use their own name (``R0``, ``C1``, ``W1``, ``L1``), multi-parameter elements
append ``_0``, ``_1`` (``CPE1_0`` = Q, ``CPE1_1`` = alpha, ``Wo1_0`` = Z0, ``Wo1_1`` = tau).

Element impedances (omega = 2 pi f, j = sqrt(-1)), all SI (ohm, F, H, s):

=======  =============================================  ==================================
R        Z = R                                          R in ohm
C        Z = 1 / (j omega C)                            C in F
L        Z = j omega L                                  L in H
CPE      Z = 1 / (Q (j omega)^alpha)                    Q in S s^alpha, 0 < alpha <= 1
W        Z = A_W (1 - j) / sqrt(omega)                  semi-infinite Warburg, A_W in ohm s^-1/2
Wo       Z = Z0 coth(sqrt(j omega tau)) / sqrt(j omega tau)   finite-length, open (reflective)
Ws       Z = Z0 tanh(sqrt(j omega tau)) / sqrt(j omega tau)   finite-length, short (transmissive)
=======  =============================================  ==================================

Reference for the elements: Lasia, *Electrochemical Impedance Spectroscopy and its Applications*,
Springer 2014, ch. 4 and 9; Orazem & Tribollet, *Electrochemical Impedance Spectroscopy*, 2nd ed.,
Wiley 2017, ch. 9 and 11.

Which resistance is "bulk" in the named circuits
------------------------------------------------
* ``BLOCKING_SIMPLE = "R0-CPE1"``: ss|electrolyte|ss cell where the bulk arc lies above the
  highest measured frequency; the bulk resistance is ``R0`` (the high-frequency real intercept).
* ``BLOCKING_ARC = "R0-p(R1,CPE1)-CPE2"``: the bulk arc is resolved. ``R0`` is the cable/contact
  (and possibly grain) series resistance and ``R1`` is the electrolyte bulk arc, so the total bulk
  resistance used for conductivity is ``R0 + R1`` (:func:`bulk_resistance`). If the arc is a grain
  boundary contribution use ``R0`` only; the choice is a named argument, never implicit.
* ``SYMMETRIC_LI_ONE_ARC = "R0-p(R1,CPE1)"``: Li|E|Li; ``R0`` = bulk, ``R1`` = interfacial.
* ``SYMMETRIC_LI_TWO_ARCS = "R0-p(R1,CPE1)-p(R2,CPE2)"``: Li|E|Li with SEI + charge transfer;
  interfacial resistance = ``R1 + R2`` (:func:`interfacial_resistance`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import least_squares

METHOD_VERSION = "eis-fit/1"
LINKK_METHOD_VERSION = "eis-linkk/1"

BLOCKING_SIMPLE = "R0-CPE1"
BLOCKING_ARC = "R0-p(R1,CPE1)-CPE2"
SYMMETRIC_LI_ONE_ARC = "R0-p(R1,CPE1)"
SYMMETRIC_LI_TWO_ARCS = "R0-p(R1,CPE1)-p(R2,CPE2)"

FloatArray = NDArray[np.float64]
ComplexArray = NDArray[np.complex128]

# element type -> (number of parameters, units of each parameter)
_ELEMENTS: dict[str, tuple[str, ...]] = {
    "R": ("Ohm",),
    "C": ("F",),
    "L": ("H",),
    "CPE": ("Ohm^-1 s^a", ""),
    "W": ("Ohm s^-1/2",),
    "Wo": ("Ohm", "s"),
    "Ws": ("Ohm", "s"),
}


class CircuitSyntaxError(ValueError):
    """Raised for a circuit string that does not follow the impedance.py grammar."""


# --------------------------------------------------------------------------------------------
# element impedances and their analytic parameter derivatives
# --------------------------------------------------------------------------------------------
def _element_z_and_grad(
    kind: str, p: FloatArray, omega: FloatArray, jw: ComplexArray, want_grad: bool
) -> tuple[ComplexArray, list[ComplexArray]]:
    """Impedance of one element and dZ/dp_i for each of its parameters."""
    n = omega.shape[0]
    if kind == "R":
        z = np.full(n, p[0], dtype=np.complex128)
        return z, ([np.ones(n, dtype=np.complex128)] if want_grad else [])
    if kind == "C":
        z = 1.0 / (p[0] * jw)
        return z, ([-z / p[0]] if want_grad else [])
    if kind == "L":
        z = p[0] * jw
        return z, ([jw.astype(np.complex128)] if want_grad else [])
    if kind == "CPE":
        q, alpha = p[0], p[1]
        log_jw = np.log(jw)
        z = np.exp(-alpha * log_jw) / q
        return z, ([-z / q, -z * log_jw] if want_grad else [])
    if kind == "W":
        base = (1.0 - 1.0j) / np.sqrt(omega)
        return p[0] * base, ([base.astype(np.complex128)] if want_grad else [])
    if kind in ("Wo", "Ws"):
        z0, tau = p[0], p[1]
        s = np.sqrt(jw * tau)
        th = np.tanh(s)
        if kind == "Wo":
            g = 1.0 / (s * th)  # coth(s)/s
            z = z0 * g
            if not want_grad:
                return z, []
            coth = 1.0 / th
            csch2 = coth * coth - 1.0
            dz_dtau = -z0 * (s * csch2 + coth) / (2.0 * tau * s)
        else:
            g = th / s
            z = z0 * g
            if not want_grad:
                return z, []
            sech2 = 1.0 - th * th
            dz_dtau = z0 * (s * sech2 - th) / (2.0 * tau * s)
        return z, [g, dz_dtau]
    raise CircuitSyntaxError(f"unknown element type {kind!r}")


# --------------------------------------------------------------------------------------------
# parsing: a tiny recursive-descent parser producing a tree of ("s"|"p", children) / element leaves
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Leaf:
    name: str
    kind: str
    start: int  # index of the first parameter in the flat vector
    n: int


@dataclass(frozen=True)
class _Node:
    op: Literal["s", "p"]
    children: tuple[_Node | _Leaf, ...]


_TOKEN = re.compile(r"\s*(p\(|\(|\)|,|-|[A-Za-z][A-Za-z0-9_]*)")


def _element_kind(name: str) -> str:
    """Element type = name without digits and underscores, as impedance.py does (``R_0`` -> ``R``)."""
    kind = "".join(ch for ch in name if not ch.isdigit() and ch != "_")
    if kind not in _ELEMENTS:
        raise CircuitSyntaxError(f"unknown element {name!r} (known types: {sorted(_ELEMENTS)})")
    return kind


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens: list[str] = []
        pos = 0
        cleaned = text.strip()
        while pos < len(cleaned):
            m = _TOKEN.match(cleaned, pos)
            if m is None or m.end() == pos:
                raise CircuitSyntaxError(f"cannot parse circuit {text!r} at position {pos}")
            self.tokens.append(m.group(1))
            pos = m.end()
        self.i = 0
        self.leaves: list[_Leaf] = []
        self.n_params = 0

    def _peek(self) -> str | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def _take(self) -> str:
        tok = self._peek()
        if tok is None:
            raise CircuitSyntaxError("unexpected end of circuit string")
        self.i += 1
        return tok

    def parse(self) -> _Node | _Leaf:
        node = self._series()
        if self._peek() is not None:
            raise CircuitSyntaxError(f"unexpected token {self._peek()!r}")
        return node

    def _series(self) -> _Node | _Leaf:
        items = [self._term()]
        while self._peek() == "-":
            self._take()
            items.append(self._term())
        return items[0] if len(items) == 1 else _Node("s", tuple(items))

    def _term(self) -> _Node | _Leaf:
        tok = self._take()
        if tok == "p(":
            items = [self._series()]
            while self._peek() == ",":
                self._take()
                items.append(self._series())
            if self._take() != ")":
                raise CircuitSyntaxError("missing ')' in parallel block")
            if len(items) < 2:
                raise CircuitSyntaxError("a parallel block p(...) needs at least two branches")
            return _Node("p", tuple(items))
        if tok in ("(", ")", ",", "-"):
            raise CircuitSyntaxError(f"unexpected token {tok!r}")
        kind = _element_kind(tok)
        if any(leaf.name == tok for leaf in self.leaves):
            raise CircuitSyntaxError(f"element name {tok!r} used twice")
        leaf = _Leaf(tok, kind, self.n_params, len(_ELEMENTS[kind]))
        self.leaves.append(leaf)
        self.n_params += leaf.n
        return leaf


@dataclass(frozen=True)
class Circuit:
    """A compiled equivalent circuit: ``circuit(params, freq_Hz) -> Z`` (complex ndarray, ohm).

    ``params`` is a sequence in the order of :attr:`param_names` or a mapping name -> value.
    """

    text: str
    param_names: tuple[str, ...]
    param_units: tuple[str, ...]
    elements: tuple[tuple[str, str], ...]  # (element name, element type)
    _tree: _Node | _Leaf = field(repr=False)
    _leaves: tuple[_Leaf, ...] = field(repr=False)

    def as_vector(self, params: Mapping[str, float] | ArrayLike) -> FloatArray:
        if isinstance(params, Mapping):
            missing = [n for n in self.param_names if n not in params]
            if missing:
                raise KeyError(f"missing parameters {missing} for circuit {self.text!r}")
            return np.array([float(params[n]) for n in self.param_names], dtype=float)
        vec = np.asarray(params, dtype=float).ravel()
        if vec.shape[0] != len(self.param_names):
            raise ValueError(
                f"circuit {self.text!r} has {len(self.param_names)} parameters, got {vec.shape[0]}"
            )
        return vec

    def __call__(self, params: Mapping[str, float] | ArrayLike, freq_Hz: ArrayLike) -> ComplexArray:
        z, _ = self.evaluate(self.as_vector(params), np.asarray(freq_Hz, dtype=float), False)
        return z

    def jacobian(self, params: Mapping[str, float] | ArrayLike, freq_Hz: ArrayLike) -> ComplexArray:
        """dZ/dp, shape (n_freq, n_params), analytic."""
        _, jac = self.evaluate(self.as_vector(params), np.asarray(freq_Hz, dtype=float), True)
        assert jac is not None
        return jac

    def evaluate(
        self, p: FloatArray, freq_Hz: FloatArray, want_jac: bool
    ) -> tuple[ComplexArray, ComplexArray | None]:
        omega = 2.0 * np.pi * freq_Hz
        jw: ComplexArray = (1j * omega).astype(np.complex128)
        jac = np.zeros((omega.shape[0], p.shape[0]), dtype=np.complex128) if want_jac else None

        def rec(node: _Node | _Leaf) -> tuple[ComplexArray, list[int]]:
            if isinstance(node, _Leaf):
                z, grads = _element_z_and_grad(
                    node.kind, p[node.start : node.start + node.n], omega, jw, want_jac
                )
                if jac is not None:
                    for k, g in enumerate(grads):
                        jac[:, node.start + k] = g
                return z, list(range(node.start, node.start + node.n))
            parts = [rec(c) for c in node.children]
            idx = [i for _, ids in parts for i in ids]
            if node.op == "s":
                return sum((z for z, _ in parts), np.zeros_like(omega, dtype=np.complex128)), idx
            inv = sum((1.0 / z for z, _ in parts), np.zeros_like(omega, dtype=np.complex128))
            z_par = 1.0 / inv
            if jac is not None:
                # d(1/sum(1/Zi))/dp = Z^2 / Zi^2 * dZi/dp for p inside branch i
                for z_i, ids in parts:
                    if ids:
                        jac[:, ids] *= ((z_par / z_i) ** 2)[:, None]
            return z_par, idx

        z, _ = rec(self._tree)
        return z, jac


def parse_circuit(circuit: str) -> Circuit:
    """Compile an impedance.py-style circuit string into a vectorised callable.

    Example: ``parse_circuit("R0-p(R1,C1)")(dict(R0=10, R1=100, C1=1e-6), f)`` evaluates
    Z = R0 + R1 / (1 + j omega R1 C1); at f -> 0 this is 110 ohm, at f -> inf 10 ohm.
    Reference: impedance.py circuit grammar (Murbach et al. 2020).
    """
    parser = _Parser(circuit)
    tree = parser.parse()
    names: list[str] = []
    units: list[str] = []
    for leaf in parser.leaves:
        u = _ELEMENTS[leaf.kind]
        if leaf.n == 1:
            names.append(leaf.name)
        else:
            names.extend(f"{leaf.name}_{k}" for k in range(leaf.n))
        units.extend(u)
    return Circuit(
        text=circuit,
        param_names=tuple(names),
        param_units=tuple(units),
        elements=tuple((leaf.name, leaf.kind) for leaf in parser.leaves),
        _tree=tree,
        _leaves=tuple(parser.leaves),
    )


# --------------------------------------------------------------------------------------------
# spectrum features
# --------------------------------------------------------------------------------------------
def _sorted_desc(freq_Hz: ArrayLike, z: ArrayLike) -> tuple[FloatArray, ComplexArray]:
    f = np.asarray(freq_Hz, dtype=float)
    zz = np.asarray(z, dtype=np.complex128)
    order = np.argsort(-f)
    return f[order], zz[order]


def high_frequency_intercept(freq_Hz: ArrayLike, z: ArrayLike) -> float:
    """Re(Z) where Im(Z) crosses zero at the high-frequency end (ohm).

    Scanning from the highest frequency down, the first sign change of Im(Z) between two
    neighbouring points is located by linear interpolation in Im:
    R_hf = Re1 + (Re2 - Re1) * (0 - Im1) / (Im2 - Im1).
    Without a crossing (the spectrum never reaches the real axis) the minimum Re(Z) among the
    highest-frequency tenth of the points (at least 3) is returned.
    Reference: Orazem & Tribollet 2017, sec. 18.1 (graphical analysis of Nyquist plots).
    """
    f, zz = _sorted_desc(freq_Hz, z)
    im = zz.imag
    sign_change = np.nonzero(np.signbit(im[:-1]) != np.signbit(im[1:]))[0]
    if sign_change.size:
        i = int(sign_change[0])
        im1, im2 = im[i], im[i + 1]
        re1, re2 = zz.real[i], zz.real[i + 1]
        if im2 == im1:
            return float(re1)
        return float(re1 + (re2 - re1) * (0.0 - im1) / (im2 - im1))
    n = max(3, f.size // 10)
    return float(np.min(zz.real[:n]))


# --------------------------------------------------------------------------------------------
# automatic initial guess
# --------------------------------------------------------------------------------------------
def _apex_frequencies(f: FloatArray, zz: ComplexArray) -> list[float]:
    """Frequencies of local maxima of -Im(Z) (descending frequency), largest peaks first in order."""
    mim = -zz.imag
    if mim.size < 3:
        return []
    inner = (mim[1:-1] > mim[:-2]) & (mim[1:-1] >= mim[2:]) & (mim[1:-1] > 0)
    idx = np.nonzero(inner)[0] + 1
    return [float(f[i]) for i in idx]


def _collect_arcs(tree: _Node | _Leaf) -> list[_Node]:
    """Parallel blocks in the order they appear (first = highest frequency by convention)."""
    out: list[_Node] = []

    def rec(n: _Node | _Leaf) -> None:
        if isinstance(n, _Node):
            if n.op == "p":
                out.append(n)
            for c in n.children:
                rec(c)

    rec(tree)
    return out


def _leaves_of(node: _Node | _Leaf) -> list[_Leaf]:
    if isinstance(node, _Leaf):
        return [node]
    return [leaf for c in node.children for leaf in _leaves_of(c)]


def _initial_guesses(circ: Circuit, f: FloatArray, zz: ComplexArray, n_starts: int) -> list[FloatArray]:
    """Physically motivated starting points (see :func:`fit_circuit`)."""
    f_max, f_min = float(f[0]), float(f[-1])
    r_hf = max(high_frequency_intercept(f, zz), 1e-12 * float(np.max(np.abs(zz))))
    # real-axis span covered by arcs: up to the -Im valley before a low-frequency tail, if any
    mim = -zz.imag
    valley = np.nonzero((mim[1:-1] < mim[:-2]) & (mim[1:-1] <= mim[2:]))[0] + 1
    re_lf = float(zz.real[valley[-1]]) if valley.size else float(zz.real[-1])
    span_all = max(float(zz.real[-1]) - r_hf, 1e-3 * r_hf)
    span = max(re_lf - r_hf, 1e-3 * r_hf) if valley.size else span_all
    arcs = _collect_arcs(circ._tree)
    n_arcs = len(arcs)
    apex = _apex_frequencies(f, zz)
    # candidate apex frequencies for each arc, from data peaks plus a log-spaced fallback grid
    log_grid = np.logspace(np.log10(f_max) - 0.5, np.log10(f_min) + 0.5, max(n_arcs, 1) + 2)[1:-1]
    shares_list: list[np.ndarray] = []
    if n_arcs:
        shares_list.append(np.full(n_arcs, 1.0 / n_arcs))
        if n_arcs == 2:
            shares_list += [np.array([0.7, 0.3]), np.array([0.3, 0.7])]
    else:
        shares_list.append(np.zeros(0))
    apex_sets: list[list[float]] = []
    if len(apex) >= n_arcs and n_arcs:
        apex_sets.append(apex[:n_arcs])
        if len(apex) > n_arcs:
            apex_sets.append(apex[-n_arcs:])
    apex_sets.append([float(x) for x in log_grid[:n_arcs]])
    if n_arcs == 1 and apex:
        apex_sets.append([float(np.sqrt(f_max * f_min))])

    omega_min = 2 * np.pi * f_min
    z_lf = zz[-1]
    top_level = (
        circ._tree.children if isinstance(circ._tree, _Node) and circ._tree.op == "s" else ((circ._tree,))
    )
    series_leaves = [c for c in top_level if isinstance(c, _Leaf)]
    first_series_r = next((leaf for leaf in series_leaves if leaf.kind == "R"), None)

    guesses: list[FloatArray] = []
    for alpha in (0.9, 0.75):
        for shares in shares_list:
            for apex_f in apex_sets:
                p = np.empty(len(circ.param_names))
                p[:] = np.nan
                for leaf in circ._leaves:
                    s = leaf.start
                    if leaf is first_series_r:
                        p[s] = r_hf
                    elif leaf.kind == "L":
                        im_hf = float(zz.imag[0])
                        p[s] = max(im_hf / (2 * np.pi * f_max), 1e-12) if im_hf > 0 else 1e-9
                for k, arc in enumerate(arcs):
                    r_arc = span * float(shares[k])
                    w_apex = 2 * np.pi * apex_f[k]
                    arc_leaves = _leaves_of(arc)
                    rs = [lf for lf in arc_leaves if lf.kind == "R"]
                    for lf in rs:
                        p[lf.start] = r_arc / len(rs)
                    for lf in arc_leaves:
                        if lf.kind == "C":
                            p[lf.start] = 1.0 / (w_apex * r_arc)
                        elif lf.kind == "CPE":
                            p[lf.start] = 1.0 / (r_arc * w_apex**alpha)
                            p[lf.start + 1] = alpha
                        elif lf.kind in ("Wo", "Ws"):
                            p[lf.start] = max(span_all - span, r_arc)
                            p[lf.start + 1] = 1.0 / omega_min
                        elif lf.kind == "W":
                            p[lf.start] = max(abs(z_lf.imag), 1e-12) * np.sqrt(omega_min) / 2
                        elif lf.kind == "L":
                            p[lf.start] = 1e-9
                # remaining top-level series elements (tails and blocking capacitances)
                for leaf in circ._leaves:
                    s = leaf.start
                    if not np.isnan(p[s]):
                        continue
                    if leaf.kind == "R":
                        p[s] = max(span, r_hf) * 0.5
                    elif leaf.kind == "C":
                        p[s] = 1.0 / (omega_min * max(abs(z_lf.imag), 1e-12))
                    elif leaf.kind == "CPE":
                        a_b = 0.85 if alpha == 0.9 else 0.7
                        p[s] = np.sin(a_b * np.pi / 2) / (max(abs(z_lf.imag), 1e-12) * omega_min**a_b)
                        p[s + 1] = a_b
                    elif leaf.kind == "W":
                        p[s] = max(abs(z_lf.imag), 1e-12) * np.sqrt(omega_min)
                    elif leaf.kind in ("Wo", "Ws"):
                        p[s] = max(span_all - span, 0.1 * span)
                        p[s + 1] = 1.0 / omega_min
                    elif leaf.kind == "L":
                        p[s] = 1e-9
                guesses.append(p)
    # deduplicate and cap
    unique: list[FloatArray] = []
    for g in guesses:
        if not any(np.allclose(g, u) for u in unique):
            unique.append(g)
    return unique[:n_starts]


# --------------------------------------------------------------------------------------------
# fitting
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EISFit:
    """Result of a complex non-linear least-squares fit.

    ``rmse_ohm`` = sqrt(sum |Z_fit - Z|^2 / N) (the impedance.py definition);
    ``chi2`` = sum of squared weighted residuals; ``chi2_reduced`` = chi2 / (2N - P);
    ``residuals_real`` / ``residuals_imag`` are (Z_fit - Z) / |Z| per point.
    """

    circuit: str
    params: dict[str, float]
    stderr: dict[str, float]
    units: dict[str, str]
    rmse_ohm: float
    chi2: float
    chi2_reduced: float
    residuals_real: FloatArray
    residuals_imag: FloatArray
    n_points: int
    weighting: str
    n_starts: int
    success: bool
    message: str
    method: str = "CNLS (scipy least_squares, trf)"
    version: str = METHOD_VERSION

    def z_fit(self, freq_Hz: ArrayLike) -> ComplexArray:
        """Model impedance at ``freq_Hz`` with the fitted parameters."""
        return parse_circuit(self.circuit)(self.params, freq_Hz)


def _inside(x0: FloatArray, lo: FloatArray, hi: FloatArray) -> FloatArray:
    """Move a starting point strictly inside the bounds (TRF needs an interior start)."""
    x = np.asarray(x0, dtype=float).copy()
    span = np.where(np.isfinite(hi - lo), hi - lo, np.maximum(np.abs(x), 1.0))
    x = np.where(x <= lo, lo + 1e-10 * span, x)
    x = np.where(x >= hi, hi - 1e-10 * span, x)
    return x


def _stderr_from_jacobian(jm: FloatArray, s2: float) -> FloatArray:
    """sqrt(diag((J^T J)^-1) s^2) via an SVD of the column-scaled Jacobian (robust to scales)."""
    scale = np.linalg.norm(jm, axis=0)
    scale[scale == 0] = 1.0
    _, sv, vt = np.linalg.svd(jm / scale, full_matrices=False)
    keep = sv > np.finfo(float).eps * max(jm.shape) * sv[0]
    vt_k = vt[keep] / sv[keep, None]
    cov = (vt_k.T @ vt_k) / np.outer(scale, scale) * s2
    err = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    if not np.all(keep):
        err[:] = np.nan  # singular: parameters not identifiable
    return err


def _arc_tau(leaves: list[_Leaf], p: FloatArray) -> float:
    """Characteristic time of a p(R, C|CPE) block: R C or (R Q)^(1/alpha); nan otherwise."""
    r = sum(p[lf.start] for lf in leaves if lf.kind == "R")
    for lf in leaves:
        if lf.kind == "C":
            return float(r * p[lf.start])
        if lf.kind == "CPE" and p[lf.start + 1] > 0:
            return float((r * p[lf.start]) ** (1.0 / p[lf.start + 1]))
    return float("nan")


def _sort_equivalent_arcs(circ: Circuit, p: FloatArray) -> FloatArray:
    """Reorder interchangeable top-level parallel blocks by increasing tau (decreasing f)."""
    tree = circ._tree
    if not (isinstance(tree, _Node) and tree.op == "s"):
        return p
    blocks = [c for c in tree.children if isinstance(c, _Node) and c.op == "p"]
    groups: dict[tuple[str, ...], list[_Node]] = {}
    for b in blocks:
        groups.setdefault(tuple(lf.kind for lf in _leaves_of(b)), []).append(b)
    out = p.copy()
    for members in groups.values():
        if len(members) < 2:
            continue
        leaves = [_leaves_of(b) for b in members]
        taus = np.array([_arc_tau(lv, p) for lv in leaves])
        if not np.all(np.isfinite(taus)):
            continue
        order = np.argsort(taus, kind="stable")
        for slot, src in enumerate(order):
            for lf_dst, lf_src in zip(leaves[slot], leaves[src], strict=True):
                out[lf_dst.start : lf_dst.start + lf_dst.n] = p[lf_src.start : lf_src.start + lf_src.n]
    return out


def _default_bounds(circ: Circuit) -> tuple[FloatArray, FloatArray]:
    lo = np.zeros(len(circ.param_names))
    hi = np.full(len(circ.param_names), np.inf)
    for leaf in circ._leaves:
        if leaf.kind == "CPE":
            hi[leaf.start + 1] = 1.0
    return lo, hi


def fit_circuit(
    circuit: str | Circuit,
    freq_Hz: ArrayLike,
    z: ArrayLike,
    initial_guess: Mapping[str, float] | Sequence[float] | None = None,
    bounds: tuple[ArrayLike, ArrayLike] | None = None,
    weighting: Literal["modulus", "unit"] = "modulus",
    n_starts: int = 8,
    ftol: float = 1e-13,
    xtol: float = 1e-8,
    gtol: float = 1e-8,
    max_nfev: int = 100_000,
    sort_arcs: bool | None = None,
) -> EISFit:
    """Fit an equivalent circuit to an impedance spectrum by complex non-linear least squares.

    Minimises sum_i w_i^2 [(Re Zm_i - Re Z_i)^2 + (Im Zm_i - Im Z_i)^2] over the parameters p, with
    w_i = 1/|Z_i| ("modulus", Macdonald & Garber 1977; Orazem & Tribollet 2017 ch. 19) or 1
    ("unit", what impedance.py does without ``weight_by_modulus``). Bounds default to
    0 <= p < inf and 0 <= alpha <= 1 for CPEs (as impedance.py). Solver: scipy.optimize.least_squares
    (trust-region reflective) with the analytic Jacobian of the circuit.

    Starting point: ``initial_guess`` (a single local fit, comparable to impedance.py) or, when None,
    up to ``n_starts`` automatic candidates -- R0 from the high-frequency real intercept
    (:func:`high_frequency_intercept`), arc resistances from the real-axis span split over the
    parallel blocks, capacitances C = 1 / (2 pi f_apex R) from the -Im(Z) apex frequencies
    (CPE Q = 1 / (R (2 pi f_apex)^alpha)), diffusion Z0 from the low-frequency tail -- keeping the
    lowest cost.

    Termination defaults (ftol = 1e-13, xtol = gtol = 1e-8) are those impedance.py passes to
    curve_fit, so a fit from the same initial guess stops at the same point; in flat valleys
    (poorly determined Warburg parameters) tighter tolerances walk further for a tiny cost gain.

    Labelling of arcs: series blocks of identical structure (e.g. the two p(R,CPE) of
    SYMMETRIC_LI_TWO_ARCS) are interchangeable, so with ``sort_arcs`` (default: True for automatic
    guesses, False when ``initial_guess`` is given, which keeps the caller's labels as impedance.py
    does) they are reported in order of decreasing characteristic frequency: arc 1 = highest f,
    tau = R C or (R Q)^(1/alpha).

    Standard errors: cov = (J^T J)^-1 s^2 with s^2 = chi2 / (2N - P) (as scipy curve_fit).

    Hand check: for "R0-p(R1,C1)" with R0 = 10, R1 = 100, C1 = 1e-6 the apex of the arc is at
    f = 1 / (2 pi R1 C1) = 1591.5 Hz, where Z = 10 + 50 - 50j ohm.
    """
    circ = circuit if isinstance(circuit, Circuit) else parse_circuit(circuit)
    f = np.asarray(freq_Hz, dtype=float).ravel()
    zz = np.asarray(z, dtype=np.complex128).ravel()
    if f.shape != zz.shape:
        raise ValueError("freq_Hz and z must have the same length")
    if not (np.all(np.isfinite(f)) and np.all(np.isfinite(zz)) and np.all(f > 0)):
        raise ValueError("freq_Hz must be positive and finite, z finite")
    n_par = len(circ.param_names)
    if 2 * f.size <= n_par:
        raise ValueError(f"{f.size} points cannot determine {n_par} parameters")
    if weighting == "modulus":
        w = 1.0 / np.abs(zz)
    elif weighting == "unit":
        w = np.ones_like(f)
    else:
        raise ValueError(f"unknown weighting {weighting!r}")
    lo, hi = (
        _default_bounds(circ)
        if bounds is None
        else (
            np.asarray(bounds[0], float),
            np.asarray(bounds[1], float),
        )
    )
    ww = np.concatenate([w, w])
    zd = np.concatenate([zz.real, zz.imag])
    omega_sort = np.argsort(-f)

    def resid(p: FloatArray) -> FloatArray:
        zm, _ = circ.evaluate(p, f, False)
        return (np.concatenate([zm.real, zm.imag]) - zd) * ww

    def jac(p: FloatArray) -> FloatArray:
        _, jm = circ.evaluate(p, f, True)
        assert jm is not None
        return np.concatenate([jm.real, jm.imag], axis=0) * ww[:, None]

    if initial_guess is not None:
        starts = [circ.as_vector(initial_guess)]
    else:
        starts = _initial_guesses(circ, f[omega_sort], zz[omega_sort], n_starts)

    def solve(x0: FloatArray, nfev: int, xs: str | float) -> Any:
        return least_squares(
            resid,
            x0,
            jac=jac,
            bounds=(lo, hi),
            method="trf",
            ftol=ftol,
            xtol=xtol,
            gtol=gtol,
            max_nfev=nfev,
            x_scale=xs,
        )

    best = None
    for x0 in starts:
        x0c = _inside(x0, lo, hi)
        try:
            # automatic starts: a short scaled run each, the best one is polished below
            sol = solve(
                x0c, max_nfev if len(starts) == 1 else 40 * (n_par + 1), 1.0 if len(starts) == 1 else "jac"
            )
        except (ValueError, FloatingPointError):  # pragma: no cover - defensive
            continue
        if not np.isfinite(sol.cost):
            continue
        if best is None or sol.cost < best.cost:
            best = sol
    if best is None:
        raise RuntimeError("EIS fit failed from every starting point")
    if len(starts) > 1:
        polished = solve(best.x, max_nfev, 1.0)
        if polished.cost <= best.cost:
            best = polished
    p = best.x
    if sort_arcs if sort_arcs is not None else initial_guess is None:
        p = _sort_equivalent_arcs(circ, p)
    r = resid(p)
    dof = max(2 * f.size - n_par, 1)
    chi2 = float(r @ r)
    s2 = chi2 / dof
    err = _stderr_from_jacobian(jac(p), s2)
    zm, _ = circ.evaluate(p, f, False)
    dz = zm - zz
    absz = np.abs(zz)
    return EISFit(
        circuit=circ.text,
        params=dict(zip(circ.param_names, map(float, p), strict=True)),
        stderr=dict(zip(circ.param_names, map(float, err), strict=True)),
        units=dict(zip(circ.param_names, circ.param_units, strict=True)),
        rmse_ohm=float(np.sqrt(np.mean(np.abs(dz) ** 2))),
        chi2=chi2,
        chi2_reduced=s2,
        residuals_real=dz.real / absz,
        residuals_imag=dz.imag / absz,
        n_points=int(f.size),
        weighting=weighting,
        n_starts=len(starts),
        success=bool(best.success),
        message=str(best.message),
    )


def bulk_resistance(fit: EISFit, include_arc: bool = True) -> float:
    """Bulk resistance of a blocking-electrode fit (ohm).

    ``BLOCKING_SIMPLE``: R_bulk = R0. ``BLOCKING_ARC``: R_bulk = R0 + R1 when ``include_arc``
    (the arc is the electrolyte bulk/grain response), else R0. Hand check: R0 = 12, R1 = 30 ->
    R_bulk = 42 ohm.
    """
    r = fit.params["R0"]
    if include_arc and "R1" in fit.params:
        r += fit.params["R1"]
    return float(r)


def interfacial_resistance(fit: EISFit) -> float:
    """Interfacial resistance of a Li|E|Li fit: R1 (+ R2 for two arcs), ohm. E.g. 300 + 172 = 472."""
    return float(sum(v for k, v in fit.params.items() if k in ("R1", "R2")))


# --------------------------------------------------------------------------------------------
# lin-KK
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LinKKResult:
    """Lin-KK validation (Schönleber et al. 2014).

    ``residuals_real``/``residuals_imag`` = (Z - Z_KK) / |Z|; ``passed`` = max |residual| < threshold.
    """

    M: int
    mu: float
    residuals_real: FloatArray
    residuals_imag: FloatArray
    max_abs_residual: float
    rms_residual: float
    threshold: float
    passed: bool
    method: str = "lin-KK (Schönleber 2014), complex fit, mu criterion"
    version: str = LINKK_METHOD_VERSION


def lin_kk(
    freq_Hz: ArrayLike,
    z: ArrayLike,
    c: float = 0.85,
    max_M: int = 50,
    threshold: float = 0.02,
    add_capacitance: bool = False,
    add_inductance: bool = True,
) -> LinKKResult:
    """Linear Kramers-Kronig test with M Voigt (RC) elements and the mu over-fitting criterion.

    Model: Z_KK(omega) = R_0 + j omega L + sum_k R_k / (1 + j omega tau_k) [+ 1/(j omega C)] with
    tau_k log-spaced from 1/omega_max to 1/omega_min (tau_1 = 1/omega_max, tau_M = 1/omega_min). The
    R_k are found by linear least squares on real and imaginary parts weighted by 1/|Z|.
    M is increased from 1 until mu = 1 - sum_{R_k<0} |R_k| / sum_{R_k>=0} R_k < c (c = 0.85).
    Reference: M. Schönleber, D. Klotz, E. Ivers-Tiffée, Electrochim. Acta 131 (2014) 20-27.
    Hand check: tau for M = 3 over 1 Hz..100 Hz is 1/(2 pi) * {0.01, 0.1, 1} s.
    """
    f = np.asarray(freq_Hz, dtype=float).ravel()
    zz = np.asarray(z, dtype=np.complex128).ravel()
    omega = 2 * np.pi * f
    w = 1.0 / np.abs(zz)
    t_min, t_max = 1.0 / omega.max(), 1.0 / omega.min()
    result: tuple[int, float, FloatArray] | None = None
    for m_el in range(1, max_M + 1):
        taus = np.array([t_min]) if m_el == 1 else np.geomspace(t_min, t_max, m_el)
        basis = 1.0 / (1.0 + 1j * omega[:, None] * taus[None, :])
        cols = [np.ones_like(omega, dtype=np.complex128)[:, None], basis]
        if add_inductance:
            cols.append((1j * omega)[:, None])
        if add_capacitance:
            cols.append((1.0 / (1j * omega))[:, None])
        a = np.concatenate(cols, axis=1)
        a_ri = np.concatenate([a.real, a.imag], axis=0) * np.concatenate([w, w])[:, None]
        b_ri = np.concatenate([zz.real, zz.imag]) * np.concatenate([w, w])
        coef, *_ = np.linalg.lstsq(a_ri, b_ri, rcond=None)
        rk = coef[1 : 1 + m_el]
        pos = rk[rk >= 0].sum()
        neg = -rk[rk < 0].sum()
        mu = 1.0 - neg / pos if pos > 0 else -np.inf
        zkk = a @ coef
        result = (m_el, float(mu), zkk)
        if mu <= c:
            break
    assert result is not None
    m_el, mu, zkk = result
    res = (zz - zkk) / np.abs(zz)
    rr, ri = res.real.astype(float), res.imag.astype(float)
    mx = float(max(np.max(np.abs(rr)), np.max(np.abs(ri))))
    return LinKKResult(
        M=m_el,
        mu=mu,
        residuals_real=rr,
        residuals_imag=ri,
        max_abs_residual=mx,
        rms_residual=float(np.sqrt(np.mean(np.concatenate([rr, ri]) ** 2))),
        threshold=threshold,
        passed=mx < threshold,
    )
