"""Generates the expected values of the NumPy conformance suite.

Each function below is the NumPy twin of tests/numpy/cases/<name>.ndx, line for line; every
`r_` value it returns is saved as tests/numpy/expected/<name>/<var>.npy with the dtype NumPy 2
gives. The Rust test crates/ndx/tests/numpy_conformance.rs runs each .ndx script and compares.

Regenerate (needs numpy and scipy; the tests themselves need no Python):
    python3 -m venv /tmp/np && /tmp/np/bin/pip install numpy scipy
    /tmp/np/bin/python tests/numpy/generate.py
"""

import os
import shutil

import numpy as np
from scipy.special import erf

HERE = os.path.dirname(os.path.abspath(__file__))
i32, i64, f32, f64 = np.int32, np.int64, np.float32, np.float64


def arith_promotion():
    xi32 = np.arange(-4, 5).astype(i32)
    xi64 = np.arange(-4, 5)
    xf32 = np.linspace(-2.0, 2.0, 9).astype(f32)
    xf64 = np.linspace(-2.0, 2.0, 9)
    xb = xi64 > 0
    return dict(
        r_i32_lit=xi32 + 1,
        r_i32_flit=xi32 * 1.5,
        r_f32_lit=xf32 * 2.0,
        r_i32_i64=xi32 + xi64,
        r_i32_f32=xi32 + xf32,
        r_i64_f32=xi64 * xf32,
        r_f32_f64=xf32 - xf64,
        r_b_i32=xb + xi32,
        r_bb=xb + xb,
        r_truediv=xi64 / 3,
        r_floordiv=xi64 // 3,
        r_mod=xi64 % 3,
        r_floordiv_neg=xi64 // -3,
        r_mod_neg=xi64 % -3,
        r_fmod=xf64 % 0.75,
        r_ffloordiv=xf64 // 0.75,
        r_pow_f=xf64**2.0,
        r_pow_i=xi64**2,
        r_neg=-xi32,
        r_cmp=xf32 < 0.5,
        r_eq=xi64 == 2,
        r_and=(xi64 > -2) & (xi64 < 3),
        r_or=(xi64 < -2) | (xi64 > 3),
        r_xor=(xi64 > 0) ^ (xi64 > 2),
        r_not=~xb,
        r_bitand=xi64 & 6,
        r_invert=~xi32,
        r_logical=np.logical_and(xi64 > -2, xi64 < 3),
    )


def int_div_zero():
    a = np.arange(-3, 4)
    z = np.zeros(7, dtype=i64)
    return dict(
        r_fd=a // z,
        r_md=a % z,
        r_fd32=a.astype(i32) // z.astype(i32),
        r_f=a.astype(f64) / 0.0,
    )


def math_f64():
    x = np.linspace(-0.9, 0.9, 7)
    p = np.linspace(0.5, 4.0, 8)
    return dict(
        r_abs=np.abs(x),
        r_sign=np.sign(x),
        r_sqrt=np.sqrt(p),
        r_cbrt=np.cbrt(x),
        r_exp=np.exp(x),
        r_exp2=np.exp2(x),
        r_expm1=np.expm1(x),
        r_log=np.log(p),
        r_log2=np.log2(p),
        r_log10=np.log10(p),
        r_log1p=np.log1p(x),
        r_sin=np.sin(x),
        r_cos=np.cos(x),
        r_tan=np.tan(x),
        r_arcsin=np.arcsin(x),
        r_arccos=np.arccos(x),
        r_arctan=np.arctan(x),
        r_arctan2=np.arctan2(x, 0.5),
        r_sinh=np.sinh(x),
        r_cosh=np.cosh(x),
        r_tanh=np.tanh(x),
        r_erf=erf(x),
        r_floor=np.floor(x * 3.0),
        r_ceil=np.ceil(x * 3.0),
        r_round=np.round(np.array([0.5, 1.5, 2.5, -0.5, -1.5, 0.49])),
        r_trunc=np.trunc(x * 3.0),
        r_min=np.minimum(x, 0.1),
        r_max=np.maximum(x, 0.1),
        r_clip=np.clip(x, -0.5, 0.5),
        r_pow=np.power(p, 0.5),
        r_where=np.where(x > 0.0, x, -1.0),
    )


def math_f32():
    x = np.linspace(-0.9, 0.9, 7).astype(f32)
    p = np.linspace(0.5, 4.0, 8).astype(f32)
    return dict(
        r_sqrt=np.sqrt(p),
        r_exp=np.exp(x),
        r_log=np.log(p),
        r_sin=np.sin(x),
        r_tanh=np.tanh(x),
        r_erf=erf(x).astype(f32),
        r_gelu=0.5 * x * (1.0 + np.tanh(0.7978845608 * (x + 0.044715 * x**3))),
        r_int_sqrt=np.sqrt(np.arange(5)),
    )


def special_values():
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0])
    with np.errstate(all="ignore"):
        return dict(
            r_isnan=np.isnan(x),
            r_isinf=np.isinf(x),
            r_isfinite=np.isfinite(x),
            r_min=np.minimum(x, 0.5),
            r_max=np.maximum(x, 0.5),
            r_exp=np.exp(x),
            r_sign=np.sign(x),
            r_sum=np.sum(x),
            r_max_red=np.max(x),
            r_argmax=np.argmax(x),
            r_argmin=np.argmin(np.array([3.0, np.nan, 1.0])),
            r_cast=np.array([1.9, -1.9, 0.5]).astype(i32),
        )


def reductions():
    a = (np.arange(24).astype(f64) * 0.5 - 3.0).reshape(2, 3, 4)
    ai = np.arange(24).reshape(2, 3, 4)
    k = ((np.arange(812) * 37) % 101).astype(f32).reshape(4, 203) - 50.0
    kn = np.where(np.arange(812).reshape(4, 203) == 300, f32(np.nan), k)
    return dict(
        r_argmax_rows=np.argmax(k, axis=1),
        r_argmin_rows=np.argmin(kn, axis=-1),
        r_argmax_rows_f64=np.argmax(kn.astype(f64) * -1.0, axis=1),
        r_argmin_rows_f64=np.argmin(k.astype(f64), axis=1),
        r_any_rows=np.any(kn > 48.5, axis=1),
        r_all_rows=np.all(k[:, :60] > -45.0, axis=-1),
        r_count_rows=np.sum(kn > 10.0, axis=1),
        r_count_all=np.sum(k.astype(f64) < -20.0),
        r_sum=np.sum(a),
        r_sum0=np.sum(a, axis=0),
        r_sum_neg=np.sum(a, axis=-1),
        r_sum_tuple=np.sum(a, axis=(0, 2)),
        r_sum_keep=np.sum(a, axis=1, keepdims=True),
        r_prod=np.prod(a[0, :, :2] + 4.0, axis=1),
        r_mean=np.mean(a, axis=1),
        r_mean_int=np.mean(ai),
        r_var=np.var(a, axis=2),
        r_std=np.std(a),
        r_std_ddof=np.std(a, axis=0, ddof=1),
        r_min=np.min(a, axis=1),
        r_max=np.max(a),
        r_argmin=np.argmin(a),
        r_argmax1=np.argmax(a, axis=1),
        r_any=np.any(a > 8.0, axis=2),
        r_all=np.all(a > -3.5),
        r_sum_i32=np.sum(ai.astype(i32)),
        r_sum_bool=np.sum(ai > 10),
        r_cumsum=np.cumsum(ai, axis=1),
        r_cumprod=np.cumprod(a[0, 0, :] + 4.0),
        r_cumsum_flat=np.cumsum(ai),
        r_cumsum_expr0=np.cumsum(a * a.shape[0] - 1.0, axis=0),
        r_cumsum_view1=np.cumsum(a[:, ::-1, :] + a[0], axis=-2),
        r_cumprod_t=np.cumprod(a.T.astype(f32) * f32(0.5) + f32(1.0), axis=2),
        r_cumsum_bool=np.cumsum(ai % 3 == 0, axis=1),
        r_cumsum_i32=np.cumsum(ai.astype(i32) - 5),
        r_outer=np.sum(a[0, 0, :][:, None] * a[1, 2, :][None, :]),
    )


def indexing():
    a = np.arange(20).reshape(4, 5)
    b = a.copy()
    b[1:3, :] = 0
    c = a.copy()
    v = c[::2]
    v[0] = 100
    d = a.copy().astype(f64)
    d += 0.5
    d[0, :] *= 2.0
    e = a.copy()
    e[e > 12] = -1
    f = a.copy()
    f[[0, 2]] = 7
    return dict(
        r_row=a[1],
        r_col=a[:, 2],
        r_rev=a[::-1, ::2],
        r_step=a[1:4:2, -1],
        r_newaxis=a[:, None, 0],
        r_ellipsis=a[..., 1],
        r_scalar=a[2, 3],
        r_b=b,
        r_c=c,
        r_d=d,
        r_take=a[np.array([3, 0, -1])],
        r_take_col=a[:, [4, 0]],
        r_mask=a[a % 3 == 0],
        r_e=e,
        r_f=f,
    )


def shapes():
    a = np.arange(24.0).reshape(2, 3, 4)
    return dict(
        r_reshape=a.reshape(4, -1),
        r_t=a.T,
        r_transpose=np.transpose(a, (1, 0, 2)),
        r_swap=np.swapaxes(a, 0, 2),
        r_expand=np.expand_dims(a[0], 1),
        r_squeeze=np.squeeze(a.reshape(1, 2, 1, 12)),
        r_bcast=np.broadcast_to(np.arange(4), (3, 4)),
        r_ravel=np.ravel(a.T),
        r_cat0=np.concatenate([a, a], axis=0),
        r_cat1=np.concatenate([a[0], a[1].astype(i64)], axis=1),
        r_stack=np.stack([np.arange(3), np.arange(3) * 2], axis=1),
        r_contig=np.ascontiguousarray(a.T),
        r_fortran=np.asfortranarray(a),
        r_shares=np.shares_memory(a, a.T),
        r_shares_copy=np.shares_memory(a, a.copy()),
        r_shape0=np.int64(a.shape[0] * 10),
        r_bias=np.arange(12.0).reshape(3, 4) + np.array([10.0, 20.0, 30.0, 40.0]),
        r_bcast3=np.arange(3).reshape(3, 1) * np.arange(4) + np.arange(2).reshape(2, 1, 1),
    )


def constructors():
    return dict(
        r_zeros=np.zeros((2, 3)),
        r_ones_i32=np.ones(4, dtype=i32),
        r_full=np.full((2, 2), 7),
        r_full_f=np.full(3, 2.5, dtype=f32),
        r_zl=np.zeros_like(np.arange(3)),
        r_ol=np.ones_like(np.linspace(0.0, 1.0, 3), dtype=f32),
        r_arange=np.arange(5),
        r_arange2=np.arange(2, 11, 3),
        r_arange_f=np.arange(0.0, 1.0, 0.25),
        r_arange_neg=np.arange(5, 0, -2),
        r_linspace=np.linspace(0.0, 1.0, 5),
        r_linspace_f32=np.linspace(-1.0, 1.0, 4, dtype=f32),
        r_eye=np.eye(3),
        r_eye_i=np.eye(2, dtype=i64),
        r_list=np.array([[1, 2], [3, 4]]),
        r_list_f=np.array([1, 2.5]),
        r_list_b=np.array([True, False]),
    )


def sorting():
    a = np.array([[3.0, 1.0, 2.0, 9.0], [7.0, 5.0, 5.0, 0.0], [4.0, 8.0, 6.0, 1.0]])
    return dict(
        r_sort=np.sort(a),
        r_sort0=np.sort(a, axis=0),
        r_argsort=np.argsort(a, axis=1, kind="stable"),
        r_median=np.median(a),
        r_median0=np.median(a, axis=0),
        r_pct=np.percentile(a, 30.0),
        r_pct1=np.percentile(a, 75.0, axis=1),
        r_pcts=np.percentile(a, [10.0, 50.0, 90.0]),
        r_sort_nan=np.sort(np.array([2.0, np.nan, 1.0, -1.0])),
        r_sort_i=np.sort(np.array([5, -2, 9, 0])),
    )


def functions():
    def axpy(a, x, y):
        return f32(a) * x + y

    def sq(x):
        return x * x

    def softmax(x):
        m = np.max(x, axis=-1, keepdims=True)
        e = np.exp(x - m)
        return e / np.sum(e, axis=-1, keepdims=True)

    x = np.linspace(0.0, 1.0, 5).astype(f32)
    return dict(
        r_axpy=axpy(2.0, x, x),
        r_sq_i=sq(np.arange(4)),
        r_sq_f=sq(x),
        r_softmax=softmax(np.linspace(-1.0, 2.0, 6).reshape(2, 3)),
    )


def control_flow():
    acc = np.zeros(4)
    for i in range(5):
        acc = acc + np.arange(4) * i
    y = np.ones(3)
    k = 0
    while k < 4:
        if k % 2 == 0:
            y = y * 2.0
        else:
            y = y + 1.0
        k += 1
    z = np.zeros(6, dtype=i64)
    for j in range(6, 0, -2):
        z[j - 1] = j
    return dict(r_acc=acc, r_y=y, r_k=np.int64(k), r_z=z)


def dtypes_mixed():
    xi = np.array([-3, 0, 2, 7], dtype=i32)
    xf = np.array([0.5, -1.5, 2.25, 4.0], dtype=f32)
    xb = np.array([True, False, True, True])
    return dict(
        r_where_mixed=np.where(xb, xi, xf),
        r_clip_int=np.clip(xi, -1, 3),
        r_min_mixed=np.minimum(xi, xf),
        r_abs_int=np.abs(xi),
        r_sign_int=np.sign(xi),
        r_sum_i32=np.sum(xi),
        r_prod_i32=np.prod(xi + 4),
        r_mean_bool=np.mean(xb),
        r_max_i32=np.max(xi),
        r_any_int=np.any(xi),
        r_all_f=np.all(xf),
        r_cmp_mixed=xi < xf,
        r_cast_f_i=xf.astype(i64),
        r_cast_b=xi.astype(bool),
        r_pow_mixed=xf**2,
        r_truediv_i32=xi / np.array([1, 2, 3, 4], dtype=i32),
        r_cumprod_int=np.cumprod(xi + 4),
        r_floor_int=np.floor(xi),
        r_round_f32=np.round(xf),
        r_sqrt_f32=np.sqrt(np.abs(xf)),
        r_idx_f32=xf[[3, 0]],
        r_mask_i32=xi[xb],
        r_argmax_i32=np.argmax(xi),
        r_std_i32=np.std(xi),
        r_var_f32=np.var(xf),
    )


def kernels():
    h, w, max_iter = 60, 90, 50
    x0, x1, y0, y1 = -2.25, 0.75, -1.0, 1.0
    j = np.arange(w, dtype=f64)
    i = np.arange(h, dtype=f64)
    cx = (x0 + (x1 - x0) * j / f64(w))[np.newaxis, :] + np.zeros((h, 1))
    cy = (y0 + (y1 - y0) * i / f64(h))[:, np.newaxis] + np.zeros((1, w))
    zx = np.zeros((h, w))
    zy = np.zeros((h, w))
    n = np.zeros((h, w), dtype=i32)
    for _ in range(max_iter):
        live = zx * zx + zy * zy <= 4.0
        t = zx * zx - zy * zy + cx
        zy = np.where(live, 2.0 * zx * zy + cy, zy)
        zx = np.where(live, t, zx)
        n += live
    u = np.zeros((32, 32))
    u[12:20, 12:20] = 100.0
    v = u.copy()

    def diffuse(u, v, alpha):
        c = u[1:-1, 1:-1]
        v[1:-1, 1:-1] = c + alpha * (u[:-2, 1:-1] + u[2:, 1:-1] + u[1:-1, :-2] + u[1:-1, 2:] - 4.0 * c)

    for _ in range(30):
        diffuse(u, v, 0.2)
        diffuse(v, u, 0.2)
    k = np.arange(100000)
    x = ((k * k * 7919 + k) % 1013).astype(f64) / 10.0 - 0.5
    hist = np.histogram(x, bins=20, range=(0.0, 100.0))[0].astype(i64)
    a = np.sin(np.arange(50) * 0.3).astype(f32)
    scan = np.cumsum(a, dtype=f32)
    ar = np.arange(12345)
    isum = np.int64(np.sum(ar * ar % 7))
    b = (np.arange(48) * 0.5).reshape(6, 8)
    view = b.T[::2, 1:5]
    rowsums = np.array([sum(view[r, c] * (c + 1) for c in range(view.shape[1])) for r in range(view.shape[0])])
    return dict(r_mandelbrot=n, r_heat=u, r_hist=hist, r_scan=scan, r_isum=isum, r_rowsums=rowsums)
def contract():
    def vals(n, k):
        return (np.arange(n) % k - k // 2).astype(f64) * 0.5

    a = vals(12, 7).reshape(3, 4)
    b = vals(20, 5).reshape(4, 5)
    c = vals(10, 3).reshape(5, 2)
    af, bf = a.astype(f32), b.astype(f32)
    sq = vals(16, 9).reshape(4, 4)
    t3 = vals(24, 5).reshape(2, 3, 4)
    t4 = vals(120, 11).reshape(2, 3, 4, 5)
    ai = (np.arange(12) % 5 - 2).reshape(3, 4)
    bi = (np.arange(20, dtype=i32) % 3 - 1).reshape(4, 5)
    g1 = vals(4900, 13).reshape(70, 70)[:, :65]
    g2 = vals(5850, 17).reshape(65, 90)
    p = vals(6, 5).reshape(2, 3)
    q = vals(8, 3).reshape(2, 4)
    big = vals(3 * 4 * 5 * 6, 7).reshape(3, 4, 5, 6)
    r = vals(10, 4).reshape(2, 5)
    s = vals(12, 5).reshape(2, 6)
    e = np.einsum
    return dict(
        r_ein_mm=e("ij,jk->ik", a, b),
        r_ein_implicit=e("ij,jk", a, b),
        r_ein_f32=e("ij,jk->ik", af, bf),
        r_ein_mixed=e("ij,jk->ik", af, b),
        r_ein_int=e("ij,jk->ik", ai, bi),
        r_ein_i32=e("ij,jk", ai.astype(i32), bi),
        r_ein_bool=e("ij,jk->ik", ai > 0, bi > 0),
        r_ein_t=e("ij->ji", a),
        r_ein_diag=e("ii->i", sq),
        r_ein_tr=e("ii", sq),
        r_ein_sum=e("ijk->", t3),
        r_ein_sum1=e("ijk->ik", t3),
        r_ein_outer=e("i,j->ij", vals(3, 3), vals(4, 5)),
        r_ein_dot=e("i,i", vals(6, 4), vals(6, 5)),
        r_ein_hadamard=e("ij,ij->ij", a, a),
        r_ein_batch=e("bij,bjk->bik", t3, vals(40, 9).reshape(2, 4, 5)),
        r_ein_ellipsis=e("...ij,jk->...ik", t3, b),
        r_ein_ellipsis_bc=e("...ij,...jk->...ik", t3, vals(20, 3).reshape(1, 4, 5)),
        r_ein_perm=e("ijkl->ljik", t4),
        r_ein_tensor=e("ijkl,jk->li", t4, vals(12, 7).reshape(3, 4)),
        r_ein_three=e("ij,jk,kl->il", a, b, c, optimize=True),
        r_ein_four=e("pi,qj,ijkl,rk,sl->pqrs", p, q, big, r, s, optimize=True),
        r_ein_limit=e("pi,qj,ijkl,rk,sl->pqrs", p, q, big, r, s),
        r_ein_repeat=e("iij->j", vals(18, 7).reshape(3, 3, 2)),
        r_ein_gemm=e("ij,jk->ik", g1, g2),
        r_ein_gemm_t=e("ji,kj->ik", g1.T, g2.T),
        r_mm=a @ b,
        r_mm_f32=af @ bf,
        r_mm_vec=np.matmul(vals(4, 3), b),
        r_mm_vec2=np.matmul(a, vals(4, 3)),
        r_mm_vv=vals(4, 3) @ vals(4, 5),
        r_mm_batch=vals(24, 7).reshape(2, 1, 3, 4) @ vals(60, 11).reshape(3, 4, 5),
        r_mm_int=ai @ bi,
        r_mm_big=g1 @ g2,
        r_dot=np.dot(a, b),
        r_dot_nd=np.dot(t3, vals(60, 7).reshape(3, 4, 5)),
        r_dot_vec=np.dot(t3, vals(4, 3)),
        r_dot_scalar=np.dot(a, 2.0),
        r_inner=np.inner(a, a),
        r_inner_nd=np.inner(t3, vals(20, 3).reshape(5, 4)),
        r_outer=np.outer(vals(3, 3), vals(4, 5)),
        r_outer_2d=np.outer(p, vals(2, 3)),
        r_td=np.tensordot(a, b, axes=1),
        r_td2=np.tensordot(t3, vals(12, 5).reshape(3, 4), axes=2),
        r_td_lists=np.tensordot(t4, vals(20, 7).reshape(5, 4), axes=([3, 2], [0, 1])),
        r_td0=np.tensordot(p, vals(2, 3), axes=0),
        r_trace=np.trace(sq),
        r_trace_off=np.trace(a, offset=1),
        r_trace_neg=np.trace(a, offset=-1),
        r_trace_3d=np.trace(t3),
        r_trace_int=np.trace(ai.astype(i32)),
        **contract_fused(vals, g1, g2),
    )


def contract_fused(vals, g1, g2):
    ab = (np.arange(1200) % 7 - 3).reshape(30, 40)
    bb = (np.arange(800) % 5 - 2).reshape(40, 20)
    c20 = vals(400, 9).reshape(20, 20)
    e = np.einsum
    return dict(
        r_fused_int=e("ij,jk->ik", ab, bb),
        r_fused_mm_int=ab @ bb,
        r_fused_i32_wrap=e("i,i", np.full(5000, 1000000, dtype=i32), np.full(5000, 1000, dtype=i32)),
        r_fused_bool=e("ij,jk->ik", ab > 0, bb > 0),
        r_fused_rowdot=e("ij,ij->i", g1, g1),
        r_fused_hadamard=e("ij,ij->ij", g1, g2.T[:70, :65]),
        r_fused_sum=e("ij->", g1),
        r_fused_limit=e("ij,jk,kl->il", c20, c20.T, c20),
        r_fused_f32=e(
            "bij,bjk->bik",
            vals(9000, 5).reshape(1000, 3, 3).astype(f32),
            vals(9000, 7).reshape(1000, 3, 3).astype(f32),
        ),
    )


def rows():
    def softmax(x):
        e = np.exp(x - np.max(x, axis=-1, keepdims=True))
        return e / np.sum(e, axis=-1, keepdims=True)

    def layernorm(x, g, b):
        mu = np.mean(x, axis=-1, keepdims=True)
        var = np.mean((x - mu) * (x - mu), axis=-1, keepdims=True)
        return (x - mu) / np.sqrt(var + f32(1e-5)) * g + b

    x = np.linspace(-1.0, 1.0, 300).astype(f32).reshape(1, 300) * np.linspace(0.5, 4.0, 37).astype(f32).reshape(37, 1)
    g = np.linspace(0.5, 1.5, 300).astype(f32)
    b = np.linspace(4.0, 5.0, 300).astype(f32)
    x3 = np.linspace(-2.0, 3.0, 1200).astype(f32).reshape(4, 6, 50)

    def rmsnorm(x, g):
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + f32(1e-6)) * g

    xc = np.ascontiguousarray(np.linspace(-3.0, 5.0, 1050000).astype(f32).reshape(300, 3500).T)
    return dict(
        r_layernorm_chain=layernorm(xc, g, b)[::25],
        r_rmsnorm_chain=rmsnorm(xc, g)[::25],
        r_softmax=softmax(x),
        r_layernorm=layernorm(x, g, b),
        r_softmax3=softmax(x3),
        r_shifted=x3 - np.max(x3, axis=-1, keepdims=True) - f32(10.0),
        r_scaled=x / (np.max(x, axis=-1, keepdims=True) - np.min(x, axis=-1, keepdims=True)),
    )


def contract_epilogue():
    def vals(n, k):
        return (np.arange(n) % k - k // 2).astype(f64) * 0.5

    x = vals(200 * 64, 13).reshape(200, 64)
    w = vals(64 * 48, 11).reshape(64, 48)
    bias = vals(48, 7)
    xf, wf, bf = x.astype(f32), w.astype(f32), bias.astype(f32)
    t3 = vals(16 * 40 * 64, 9).reshape(16, 40, 64)
    w64 = vals(64 * 70, 5).reshape(64, 70)
    sq = vals(60 * 60, 7).reshape(60, 60)
    e = np.einsum
    return dict(
        r_relu=np.maximum(x @ w + bias, 0.0),
        r_relu_f32=np.maximum(xf @ wf + bf, f32(0.0)),
        r_bias_left=bias + x @ w,
        r_scale=f32(0.25) * (xf @ wf) - f32(1.0),
        r_tanh=np.tanh(xf @ wf * f32(0.001)) * bf,
        r_where=np.where(x @ w > 0.0, x @ w, 0.5 * bias),
        r_einsum_epi=np.maximum(e("ij,jk->ik", x, w) - bias, 0.0),
        r_dot_epi=np.abs(np.dot(x, w)) + 1.0,
        r_td_epi=np.tensordot(x, w, axes=1) * 2.0,
        r_batch_epi=np.maximum(t3 @ w64, 0.0),
        r_cast_epi=(x @ w).astype(f32) + bf,
        r_into=np.maximum(x @ w + bias, 0.0),
        r_overlap=np.maximum(sq @ sq.T, 1.0),
        r_prod_exp=np.exp(x * 0.01) @ np.abs(w),
        r_prod_scale=(2.0 * x) @ w,
        r_prod_center=e("ij,jk->ik", x - 0.5, w),
        r_prod_both=(x + 1.0) @ (w * 0.5),
        r_presum=e("ijk,kl->il", t3, w64),
        r_presum_f32=e("ijk,kl->il", t3.astype(f32), w64.astype(f32)),
        r_presum_t=e("jik,kl->il", t3, w64),
    )


CASES = [
    arith_promotion,
    int_div_zero,
    math_f64,
    math_f32,
    special_values,
    reductions,
    indexing,
    shapes,
    constructors,
    sorting,
    functions,
    control_flow,
    dtypes_mixed,
    kernels,
    contract,
    rows,
    contract_epilogue,
]


def main():
    out_root = os.path.join(HERE, "expected")
    shutil.rmtree(out_root, ignore_errors=True)
    with np.errstate(all="ignore"):
        for case in CASES:
            d = os.path.join(out_root, case.__name__)
            os.makedirs(d)
            for name, value in case().items():
                np.save(os.path.join(d, name + ".npy"), np.asarray(value))
    print(f"wrote {len(CASES)} cases to {out_root}")


if __name__ == "__main__":
    main()
