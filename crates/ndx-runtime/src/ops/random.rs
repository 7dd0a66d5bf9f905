//! Reproducible random numbers: one PCG64 stream per session, reseeded by `seed(n)`.
//! A stream's output depends only on its seed and the sequence of calls; floats are drawn as
//! f64 and cast, `rand` stays strictly below 1 after the cast to f32.

use crate::array::{checked_size, Array};
use crate::dtype::{DType, Scalar};
use crate::error::{Result, RuntimeError};
use rand::seq::SliceRandom;
use rand::{Rng as _, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use rand_pcg::Pcg64;

/// A seeded random stream (the session state behind NumPy's `np.random.seed` and friends).
#[derive(Clone, Debug)]
pub struct Rng {
    gen: Pcg64,
}

fn float_dtype(dtype: DType) -> Result<()> {
    if dtype.is_float() {
        Ok(())
    } else {
        Err(RuntimeError::Invalid(format!(
            "random floats need dtype f32 or f64, not {dtype}"
        )))
    }
}

impl Rng {
    /// A stream determined by `seed` (`np.random.seed(seed)`).
    pub fn new(seed: u64) -> Rng {
        Rng {
            gen: Pcg64::seed_from_u64(seed),
        }
    }

    /// The next 64 random bits (seeds for kernels' counter-based streams).
    pub fn next_u64(&mut self) -> u64 {
        use rand::RngCore;
        self.gen.next_u64()
    }

    fn fill(
        &mut self,
        shape: &[usize],
        dtype: DType,
        mut f: impl FnMut(&mut Pcg64) -> f64,
    ) -> Result<Array> {
        float_dtype(dtype)?;
        let n = checked_size(shape, dtype.size())?;
        let flat = super::construct::filled(dtype, n, |_| Scalar::F64(f(&mut self.gen)))?;
        let dims: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
        flat.reshape(&dims)
    }

    /// `np.random.rand(*shape)`: uniform on [0, 1); dtype f32 or f64.
    pub fn rand(&mut self, shape: &[usize], dtype: DType) -> Result<Array> {
        // Cast to f32 can round up to 1.0; keep the half-open interval.
        self.fill(shape, dtype, |g| g.random::<f64>())
            .and_then(|a| clamp_below_one(a, dtype))
    }

    /// `np.random.randn(*shape)`: standard normal; dtype f32 or f64.
    pub fn randn(&mut self, shape: &[usize], dtype: DType) -> Result<Array> {
        self.fill(shape, dtype, |g| StandardNormal.sample(g))
    }

    /// `np.random.uniform(lo, hi, shape)`: uniform on [lo, hi); finite bounds, dtype f32 or f64.
    pub fn uniform(&mut self, lo: f64, hi: f64, shape: &[usize], dtype: DType) -> Result<Array> {
        if !(lo.is_finite() && hi.is_finite()) {
            return Err(RuntimeError::Invalid(
                "uniform: bounds must be finite".into(),
            ));
        }
        self.fill(shape, dtype, |g| lo + (hi - lo) * g.random::<f64>())
    }

    /// `np.random.normal(mean, std, shape)`: `std` must be non-negative; dtype f32 or f64.
    pub fn normal(&mut self, mean: f64, std: f64, shape: &[usize], dtype: DType) -> Result<Array> {
        if std.is_nan() || std < 0.0 {
            return Err(RuntimeError::Invalid(format!(
                "normal: scale must be non-negative, got {std}"
            )));
        }
        self.fill(shape, dtype, |g| {
            let z: f64 = StandardNormal.sample(g);
            mean + std * z
        })
    }

    /// `np.random.permutation(n)`: a random order of `0..n` (i64), Fisher-Yates.
    pub fn permutation(&mut self, n: usize) -> Result<Array> {
        checked_size(&[n], 8)?;
        let mut v: Vec<i64> = (0..n as i64).collect();
        v.shuffle(&mut self.gen);
        Array::from_vec(v, &[n])
    }
}

fn clamp_below_one(a: Array, dtype: DType) -> Result<Array> {
    if dtype == DType::F32 {
        let below = Scalar::F32(1.0f32 - f32::EPSILON / 2.0);
        a.for_each_offset(|o| {
            if a.read(o).to_f64() >= 1.0 {
                a.write(o, below);
            }
        });
    }
    Ok(a)
}
