r"""The exact kernel step of convolutional dictionary learning (``method="exact"``).

With the feature maps fixed, the energy is a quadratic in the kernels' taps. Its matrix and
vector (``_conv_normal_equations``) come from FFT correlations of the maps, less the terms
the image border cuts off; ``_conv_filter_step`` minimises it over unit balls by projected
FISTA. Used by ``conv_learning.learn_conv_filters``.
"""

from __future__ import annotations

import torch

from .. import optim
from ..runtime import generator

__all__: list[str] = []


def _work_dtype(t: torch.Tensor) -> torch.dtype:
    # the kernel step is solved in float64, except where the device has none (Apple's MPS)
    return torch.float32 if t.device.type == "mps" else torch.float64


def _fft_length(n: int) -> int:
    # the smallest length >= n with no prime factor above 5: FFTs of such lengths are fast
    while True:
        k = n
        for f in (2, 3, 5):
            while k % f == 0:
                k //= f
        if k == 1:
            return n
        n += 1


def _cross_spectra(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    # sum_n conj(A[n, a, f]) B[n, b, f] for every frequency f, as (F, a, b). Written as one real
    # batched product: conj(A) B = (Ar Br + Ai Bi) + i (Ar Bi - Ai Br)
    a = torch.cat([A.real, A.imag]).permute(2, 1, 0).contiguous()  # (F, a, 2N)
    b = torch.cat([torch.cat([B.real, B.imag]), torch.cat([B.imag, -B.real])], dim=1)
    out = torch.bmm(a, b.permute(2, 0, 1).contiguous())  # (F, a, 2b)
    nb = B.shape[1]
    return torch.complex(out[..., :nb], out[..., nb:])


def _frame_taps(size: int, dtype: torch.dtype, device) -> tuple[torch.Tensor, torch.Tensor]:
    # The p = size // 2 output rows just above the image (and just below) are cut by the crop.
    # Only taps near the kernel's edge reach into the image from there: from the frame row
    # t - p above the image, tap u < p reads image row t - u; from the row H + t below it, tap
    # p + 1 + w reads row H - p + (t + p - 1 - w). S[(u, u'), (x, x')] counts the frame rows where
    # taps u and u' read the strip rows x and x' (local indices 0..p-1 of the top or bottom strip).
    p = size // 2
    t = torch.arange(p, device=device)
    w = torch.arange(p, device=device)
    strip = torch.arange(p, device=device)

    def counts(read: torch.Tensor) -> torch.Tensor:
        hit = (read[:, :, None] == strip).to(dtype)  # (tap, frame row, strip row)
        return torch.einsum("atx,bty->abxy", hit, hit).reshape(p * p, p * p)

    top = counts(t[None, :] - w[:, None])
    bottom = counts(t[None, :] + p - 1 - w[:, None])
    return top, bottom


def _conv_normal_equations(
    Y: torch.Tensor, Z: torch.Tensor, size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The codes-fixed energy as a quadratic in the kernels: :math:`\tfrac12 k^\top G k - b^\top k`.

    ``k`` stacks the taps of the kernels, index ``(i, u, v)``. With :math:`c = ` ``size // 2``
    and :math:`r` running over the pixels of the images (the crop of ``conv_reconstruct``),

    .. math:: G_{iuv,\,ju'v'} = \sum_{n,r} Z_{ni}[r_1 + c - u,\, r_2 + c - v]\,
              Z_{nj}[r_1 + c - u',\, r_2 + c - v'],\qquad
              b_{iuv} = \sum_{n,r} Y_n[r]\, Z_{ni}[r_1 + c - u,\, r_2 + c - v].

    Summed over the whole plane, :math:`G` would depend on the lag :math:`(u - u', v - v')`
    only: it is the correlation of the maps at lags up to ``size - 1``, one FFT per map. The
    crop removes the output rows and columns within ``c`` of the image; their terms involve
    only the ``c`` rows (or columns) along each edge and are subtracted (and the corners, which
    both remove, added back). ``G`` is ``(m size², m size²)``; no design matrix is built.
    """
    N, m, H, W = Z.shape
    p, s, dev = size // 2, size, Z.device
    q = 2 * p  # the largest lag between two taps
    nl = 2 * q + 1
    lag = torch.arange(-q, q + 1, device=dev)
    h2, w2 = _fft_length(H + q), _fft_length(W + q)  # no wrap-around at lags up to q
    Zf = torch.fft.rfft2(Z, s=(h2, w2))
    spec = _cross_spectra(Zf.reshape(N, m, -1), Zf.reshape(N, m, -1))  # (F, m, m)
    C = torch.fft.irfft2(spec.permute(1, 2, 0).reshape(m, m, h2, -1), s=(h2, w2))
    C = C[:, :, lag % h2][:, :, :, lag % w2]  # C[i, j, d] = sum_n,x Z_ni[x] Z_nj[x + d]
    Yf = torch.fft.rfft2(Y, s=(h2, w2))
    B = torch.fft.irfft2((Zf * Yf.conj()[:, None]).sum(0), s=(h2, w2))
    u = torch.arange(s, device=dev)
    b = B[:, (p - u) % h2][:, :, (p - u) % w2].reshape(-1)
    d = u[:, None] - u[None, :] + q  # lag index of the tap pair (u, u')
    # G[i, u, v, j, u', v'] = C[i, j, d[u, u'], d[v, v']]: windows of C, read backwards in u', v'
    G = C.unfold(2, s, 1).unfold(3, s, 1).permute(0, 2, 3, 1, 4, 5).flip(4, 5).contiguous()
    if p == 0:
        return G.reshape(m, m), b
    S_top, S_bottom = _frame_taps(s, Z.dtype, dev)
    near = (slice(0, p), slice(p + 1, s))  # the taps that reach the top / bottom strip

    def strip_correlations(strip: torch.Tensor, n: int) -> torch.Tensor:
        # (N, m, p, L): the correlations along L of every pair of strip rows, (m, m, p*p, nl)
        f = torch.fft.rfft(strip, n=n, dim=-1).reshape(N, m * p, -1)
        c = torch.fft.irfft(_cross_spectra(f, f), n=n, dim=0)[lag % n]
        return c.reshape(nl, m, p, m, p).permute(1, 3, 2, 4, 0).reshape(m, m, p * p, nl)

    Zt = Z.transpose(2, 3)
    for k, S in enumerate((S_top, S_bottom)):
        edge = slice(0, p) if k == 0 else slice(H - p, H)
        R = (S @ strip_correlations(Z[:, :, edge], w2)).reshape(m, m, p, p, nl)[..., d]
        G[:, near[k], :, :, near[k], :] -= R.permute(0, 2, 4, 1, 3, 5)
        edge = slice(0, p) if k == 0 else slice(W - p, W)
        R = (S @ strip_correlations(Zt[:, :, edge], h2)).reshape(m, m, p, p, nl)[..., d]
        G[:, :, near[k], :, :, near[k]] -= R.permute(0, 4, 2, 1, 5, 3)
    for k, Sr in enumerate((S_top, S_bottom)):
        rows = slice(0, p) if k == 0 else slice(H - p, H)
        for k2, Sc in enumerate((S_top, S_bottom)):
            cols = slice(0, p) if k2 == 0 else slice(W - p, W)
            blk = Z[:, :, rows, cols].reshape(N, m * p, p)  # (n, (i, x1), x2)
            T = torch.einsum("nax,nby->abxy", blk, blk).reshape(m, p, m, p, p, p)
            T = T.permute(0, 2, 1, 3, 4, 5).reshape(m, m, p * p, p * p)
            Q = (Sr @ T @ Sc.T).reshape(m, m, p, p, p, p)  # (i, j, u, u', v, v')
            G[:, near[k], near[k2], :, near[k], near[k2]] += Q.permute(0, 2, 4, 1, 3, 5)
    return G.reshape(m * s * s, m * s * s), b


def _conv_filter_step(
    Y: torch.Tensor, K: torch.Tensor, Z: torch.Tensor, steps: int
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """The kernel half-step of ``method="exact"``: returns the new kernels and codes, and
    ``0.5 * ||Y - sum_i K_i * Z_i||**2`` after it (see :func:`learn_conv_filters`)."""
    m, s = K.shape[0], K.shape[1]
    dt = _work_dtype(Z)
    G, b = _conv_normal_equations(Y.to(dt), Z.to(dt), s)
    half_yy = 0.5 * float((Y.to(dt) ** 2).sum())
    k0 = K.to(dt).reshape(-1)

    def objective(k: torch.Tensor) -> float:  # 0.5 ||Y - recon||^2 - 0.5 ||Y||^2
        return 0.5 * float(k @ (G @ k)) - float(b @ k)

    # the step 1/L needs L >= the largest eigenvalue of G: power iteration, with a margin. Were
    # L still too small, the final check below keeps the old kernels: the energy cannot rise.
    v = torch.randn(b.shape[0], generator=generator(0), dtype=torch.float64).to(b)
    v = optim.power_iteration(lambda u: G @ u, v, 20, eps=1e-30)
    L = 1.1 * float(v @ (G @ v))
    if not L > 0:  # every map is zero: the kernels do not matter
        return K, Z, half_yy
    k, x, t = k0, k0, 1.0
    for _ in range(steps):
        k_new = (x - (G @ x - b) / L).view(m, -1)
        k_new = (k_new / k_new.norm(dim=1, keepdim=True).clamp_min(1.0)).reshape(-1)  # on the balls
        if float((x - k_new) @ (k_new - k)) > 0:  # restart the momentum
            t = 1.0
        t, weight = optim.fista_momentum(t)
        x = k_new + weight * (k_new - k)
        k = k_new
    if objective(k) > objective(k0):
        k = k0
    err = objective(k) + half_yy
    # back to unit norm: K_i / a_i with Z_i * a_i reconstructs the same and, as a_i <= 1, lowers
    # the L1 term. A kernel that came out zero keeps its old shape and loses its (useless) map.
    a = k.view(m, -1).norm(dim=1)
    dead = a <= 1e-12
    Knew = torch.where(dead[:, None], k0.view(m, -1), k.view(m, -1) / a.clamp_min(1e-12)[:, None])
    scale = torch.where(dead, torch.zeros_like(a), a)
    return Knew.view(m, s, s).to(K), Z * scale.to(Z)[None, :, None, None], err
