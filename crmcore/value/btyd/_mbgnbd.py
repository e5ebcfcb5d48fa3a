"""MBG/NBD model (Batislam, Denizel & Filiztekin 2007)."""

from __future__ import annotations

from typing import ClassVar

from crmcore.value.btyd._bgnbd import _BetaGeoFamily

__all__ = ["ModifiedBetaGeoModel"]


class ModifiedBetaGeoModel(_BetaGeoFamily):
    """MBG/NBD model: the BG/NBD with a possible dropout right after the first purchase.

    While alive, a customer buys as a Poisson process with rate ``lambda ~ Gamma(r, alpha)``;
    at time 0 and after each repeat purchase he drops out with probability
    ``p ~ Beta(a, b)``. Unlike the BG/NBD, a customer without repeat purchases may be inactive.

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty ``c * sum(theta^2)`` added to the mean negative log-likelihood.
    tol : float, default 1e-10
        Optimiser tolerance.
    max_iter : int, default 2000
        Maximum optimiser iterations.
    initial_params : mapping, optional
        Starting values ``{"r": ..., "alpha": ..., "a": ..., "b": ...}``.

    Attributes
    ----------
    params_ : pandas.Series
        ``r, alpha, a, b``.
    covariance_ : pandas.DataFrame
        Symmetric delta-method covariance.
    log_likelihood_, aic_, bic_, n_obs_, time_unit_, converged_, n_iter_
        Fit statistics (log-likelihood on the caller's time scale).

    Notes
    -----
    ``LL = A1 + A2 + log(exp(A3) + exp(A4))`` with ``A1 = lnG(r + x) - lnG(r) + r ln alpha``,
    ``A2 = lnG(a + b) + lnG(b + x + 1) - lnG(b) - lnG(a + b + x + 1)``,
    ``A3 = -(r + x) ln(alpha + T)`` and ``A4 = ln a - ln(b + x) - (r + x) ln(alpha + t_x)``
    (the second term now present for ``x = 0`` too), with analytic gradient and Hessian.
    ``P(alive) = 1 / (1 + a / (b + x) ((alpha + T) / (alpha + t_x))^(r + x))``;
    ``E[X(T, T + t)] = (a + b + x) / (a - 1) [1 - ((alpha + T) / (alpha + T + t))^(r + x)
    2F1(r + x, b + x + 1; a + b + x; t / (alpha + T + t))] P(alive)``; the removable
    singularity at ``a = 1`` is handled as in :class:`BetaGeoModel`.

    References
    ----------
    Batislam, E. P., Denizel, M. & Filiztekin, A. (2007). Empirical validation and comparison
    of models for customer base analysis. International Journal of Research in Marketing
    24(3), 201-209.

    Examples
    --------
    >>> from crmcore.datasets import load_cdnow_summary
    >>> from crmcore.value import ModifiedBetaGeoModel
    >>> model = ModifiedBetaGeoModel().fit(load_cdnow_summary())
    >>> model.params_.round(3).to_dict()
    {'r': 0.525, 'alpha': 6.183, 'a': 0.891, 'b': 1.614}
    """

    _lifetimes_class: ClassVar[str | None] = "ModifiedBetaGeoFitter"
    _modified: ClassVar[bool] = True
