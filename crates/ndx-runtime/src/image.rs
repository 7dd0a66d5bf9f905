//! Writing arrays as PNG images (`save_png`), through the `png` crate.
//!
//! A 2-D array becomes an 8-bit grayscale image whose black and white are the array's minimum
//! and maximum (a constant array is black); NaN is black. A `(h, w, 3)` or `(h, w, 4)` array
//! becomes RGB or RGBA: floats are read as intensities in `[0, 1]`, integers and bools as
//! `0..=255`, both clamped.

use crate::{Array, Result, RuntimeError};
use std::path::Path;

/// Saves `a` as a PNG file at `path` (see the module docs for the mapping).
pub fn save_png(path: &Path, a: &Array) -> Result<()> {
    let shape = a.shape();
    let (h, w, channels) = match *shape {
        [h, w] => (h, w, 1usize),
        [h, w, c] if c == 3 || c == 4 => (h, w, c),
        _ => {
            return Err(RuntimeError::Invalid(format!(
                "save_png needs a 2-D array (grayscale) or an (h, w, 3) / (h, w, 4) array (RGB / RGBA), not shape {}",
                crate::array::fmt_shape(shape)
            )))
        }
    };
    let (wu, hu) = match (u32::try_from(w), u32::try_from(h)) {
        (Ok(w), Ok(h)) if w > 0 && h > 0 => (w, h),
        _ => {
            return Err(RuntimeError::Invalid(format!(
                "save_png cannot write an image of shape {}",
                crate::array::fmt_shape(shape)
            )))
        }
    };
    let values: Vec<f64> = a.to_scalars()?.into_iter().map(|s| s.to_f64()).collect();
    let bytes: Vec<u8> = if channels == 1 {
        let finite = values.iter().copied().filter(|v| v.is_finite());
        let lo = finite.clone().fold(f64::INFINITY, f64::min);
        let hi = finite.fold(f64::NEG_INFINITY, f64::max);
        let span = hi - lo;
        values
            .iter()
            .map(|&v| {
                if !v.is_finite() || span <= 0.0 {
                    0
                } else {
                    ((v - lo) / span * 255.0).round().clamp(0.0, 255.0) as u8
                }
            })
            .collect()
    } else {
        let scale = if a.dtype().is_float() { 255.0 } else { 1.0 };
        values
            .iter()
            .map(|&v| {
                if v.is_nan() {
                    0
                } else {
                    (v * scale).round().clamp(0.0, 255.0) as u8
                }
            })
            .collect()
    };
    let io = |e: std::io::Error| RuntimeError::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let enc = |e: png::EncodingError| RuntimeError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    };
    let file = std::fs::File::create(path).map_err(io)?;
    let mut e = png::Encoder::new(std::io::BufWriter::new(file), wu, hu);
    e.set_color(match channels {
        1 => png::ColorType::Grayscale,
        3 => png::ColorType::Rgb,
        _ => png::ColorType::Rgba,
    });
    e.set_depth(png::BitDepth::Eight);
    let mut writer = e.write_header().map_err(enc)?;
    writer.write_image_data(&bytes).map_err(enc)?;
    writer.finish().map_err(enc)
}
