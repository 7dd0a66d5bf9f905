//! Binding call arguments to a builtin's parameters, NumPy-style: positional first, then
//! keywords by name; unknown keywords, duplicates and missing arguments are located errors.

use crate::error::{err_at, Diag};
use crate::value::Val;
use ndx_syntax::Span;

/// Evaluated arguments of one call.
pub(crate) struct Args {
    /// The called name.
    pub name: String,
    /// The whole call.
    pub span: Span,
    /// Positional arguments with their spans.
    pub pos: Vec<(Val, Span)>,
    /// Keyword arguments: name, name span, value, value span.
    pub kw: Vec<(String, Span, Val, Span)>,
}

/// Arguments bound to a parameter list.
pub(crate) struct Bound {
    name: String,
    span: Span,
    params: &'static [&'static str],
    slots: Vec<Option<(Val, Span)>>,
}

impl Args {
    /// Binds to `params` (in positional order; every parameter may also be given by keyword).
    pub(crate) fn bind(&self, params: &'static [&'static str]) -> Result<Bound, Diag> {
        if self.pos.len() > params.len() {
            let extra = self.pos.get(params.len()).map_or(self.span, |p| p.1);
            return Err(err_at(
                "E0701",
                extra,
                format!(
                    "`{}` takes at most {} positional argument(s) but {} were given",
                    self.name,
                    params.len(),
                    self.pos.len()
                ),
            )
            .with_note(signature(&self.name, params)));
        }
        let mut slots: Vec<Option<(Val, Span)>> = vec![None; params.len()];
        for (i, p) in self.pos.iter().enumerate() {
            slots[i] = Some(p.clone());
        }
        for (k, kspan, v, vspan) in &self.kw {
            let Some(i) = params.iter().position(|p| p == k) else {
                return Err(err_at(
                    "E0702",
                    *kspan,
                    format!("`{}` has no parameter `{k}`", self.name),
                )
                .with_note(signature(&self.name, params)));
            };
            if slots[i].is_some() {
                return Err(err_at(
                    "E0703",
                    *kspan,
                    format!("argument `{k}` of `{}` given twice", self.name),
                ));
            }
            slots[i] = Some((v.clone(), *vspan));
        }
        Ok(Bound {
            name: self.name.clone(),
            span: self.span,
            params,
            slots,
        })
    }
}

impl Bound {
    /// A required argument.
    pub(crate) fn req(&self, i: usize) -> Result<(Val, Span), Diag> {
        match self.slots.get(i).cloned().flatten() {
            Some(v) => Ok(v),
            None => {
                let p = self.params.get(i).copied().unwrap_or("?");
                Err(err_at(
                    "E0704",
                    self.span,
                    format!("`{}` is missing its argument `{p}`", self.name),
                )
                .with_note(signature(&self.name, self.params)))
            }
        }
    }

    /// An optional argument.
    pub(crate) fn opt(&self, i: usize) -> Option<(Val, Span)> {
        self.slots.get(i).cloned().flatten()
    }

    /// The call's span.
    pub(crate) fn span(&self) -> Span {
        self.span
    }
}

fn signature(name: &str, params: &[&str]) -> String {
    format!("usage: {name}({})", params.join(", "))
}
