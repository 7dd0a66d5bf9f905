//! Double-double arithmetic on vectors: a value `x + y` held as two floats with
//! `|y| <= ulp(x) / 2`, built on `fma` (products are exact with one `fma`).
//!
//! Names follow SLEEF's `dd.h`: `add` assumes `|x| >= |y|` (fast two-sum), `add2` does not
//! (Knuth's two-sum); `_d` in a name takes a plain float operand where a pair would be.

use super::M;
use cranelift_codegen::ir::Value;

/// A double-double (or float-float) value `x + y`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct D2 {
    pub x: Value,
    pub y: Value,
}

impl M<'_, '_, '_, '_> {
    /// The constant pair `(h, l)`.
    pub fn d2c(&mut self, h: f64, l: f64) -> D2 {
        D2 {
            x: self.c(h),
            y: self.c(l),
        }
    }
    /// `v` as a pair with a zero tail.
    pub fn d2(&mut self, v: Value) -> D2 {
        D2 {
            x: v,
            y: self.c(0.0),
        }
    }
    /// The rounded value `x + y`.
    pub fn d2v(&mut self, d: D2) -> Value {
        self.add(d.x, d.y)
    }
    pub fn d2sel(&mut self, m: Value, a: D2, b: D2) -> D2 {
        D2 {
            x: self.sel(m, a.x, b.x),
            y: self.sel(m, a.y, b.y),
        }
    }
    pub fn d2scale(&mut self, a: D2, s: f64) -> D2 {
        D2 {
            x: self.mul_c(a.x, s),
            y: self.mul_c(a.y, s),
        }
    }
    pub fn d2normalize(&mut self, t: D2) -> D2 {
        let s = self.add(t.x, t.y);
        let d = self.sub(t.x, s);
        D2 {
            x: s,
            y: self.add(d, t.y),
        }
    }

    /// `x + y`, `|x| >= |y|`.
    pub fn dd_add_d_d(&mut self, x: Value, y: Value) -> D2 {
        let s = self.add(x, y);
        let t = self.sub(x, s);
        D2 {
            x: s,
            y: self.add(t, y),
        }
    }
    /// `x + y`, any magnitudes.
    pub fn dd_add2_d_d(&mut self, x: Value, y: Value) -> D2 {
        let s = self.add(x, y);
        let v = self.sub(s, x);
        let sv = self.sub(s, v);
        let a = self.sub(x, sv);
        let b = self.sub(y, v);
        D2 {
            x: s,
            y: self.add(a, b),
        }
    }
    /// `x + y`, `|x| >= |y|`.
    pub fn dd_add_d2_d(&mut self, x: D2, y: Value) -> D2 {
        let s = self.add(x.x, y);
        let t = self.sub(x.x, s);
        let t = self.add(t, y);
        D2 {
            x: s,
            y: self.add(t, x.y),
        }
    }
    /// `x + y`, any magnitudes.
    pub fn dd_add2_d2_d(&mut self, x: D2, y: Value) -> D2 {
        let s = self.add(x.x, y);
        let v = self.sub(s, x.x);
        let sv = self.sub(s, v);
        let a = self.sub(x.x, sv);
        let b = self.sub(y, v);
        let w = self.add(a, b);
        D2 {
            x: s,
            y: self.add(w, x.y),
        }
    }
    /// `x + y`, `|x| >= |y|`.
    pub fn dd_add_d_d2(&mut self, x: Value, y: D2) -> D2 {
        let s = self.add(x, y.x);
        let t = self.sub(x, s);
        let t = self.add(t, y.x);
        D2 {
            x: s,
            y: self.add(t, y.y),
        }
    }
    /// `x + y`, `|x| >= |y|`.
    pub fn dd_add(&mut self, x: D2, y: D2) -> D2 {
        let s = self.add(x.x, y.x);
        let t = self.sub(x.x, s);
        let t = self.add(t, y.x);
        let t = self.add(t, x.y);
        D2 {
            x: s,
            y: self.add(t, y.y),
        }
    }

    /// `x * y` exactly.
    pub fn dd_mul_d_d(&mut self, x: Value, y: Value) -> D2 {
        let s = self.mul(x, y);
        D2 {
            x: s,
            y: self.fmapn(x, y, s),
        }
    }
    pub fn dd_mul_d2_d(&mut self, x: D2, y: Value) -> D2 {
        let s = self.mul(x.x, y);
        let e = self.fmapn(x.x, y, s);
        D2 {
            x: s,
            y: self.fma(x.y, y, e),
        }
    }
    pub fn dd_mul(&mut self, x: D2, y: D2) -> D2 {
        let s = self.mul(x.x, y.x);
        let e = self.fmapn(x.x, y.x, s);
        let e = self.fma(x.y, y.x, e);
        D2 {
            x: s,
            y: self.fma(x.x, y.y, e),
        }
    }
    /// `x * y` rounded to one float.
    pub fn dd_mul_v(&mut self, x: D2, y: D2) -> Value {
        let a = self.mul(x.x, y.y);
        let a = self.fma(x.y, y.x, a);
        self.fma(x.x, y.x, a)
    }
    pub fn dd_squ(&mut self, x: D2) -> D2 {
        let s = self.mul(x.x, x.x);
        let e = self.fmapn(x.x, x.x, s);
        let x2 = self.add(x.x, x.x);
        D2 {
            x: s,
            y: self.fma(x2, x.y, e),
        }
    }
    /// `1 / d`.
    pub fn dd_rec(&mut self, d: D2) -> D2 {
        let one = self.c(1.0);
        let s = self.div(one, d.x);
        let e = self.fmanp(d.x, s, one);
        let e = self.fmanp(d.y, s, e);
        D2 {
            x: s,
            y: self.mul(s, e),
        }
    }
    /// `n / d`.
    pub fn dd_div(&mut self, n: D2, d: D2) -> D2 {
        let one = self.c(1.0);
        let t = self.div(one, d.x);
        let s = self.mul(n.x, t);
        let u = self.fmapn(t, n.x, s);
        let v = self.fmanp(d.x, t, one);
        let v = self.fmanp(d.y, t, v);
        let w = self.fma(n.y, t, u);
        D2 {
            x: s,
            y: self.fma(s, v, w),
        }
    }
}
