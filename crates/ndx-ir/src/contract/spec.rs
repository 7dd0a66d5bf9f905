//! Einsum spec parsing: letters, `,`, `->` and `...` checked against the operand shapes.

use super::Label;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A parsed spec, checked against the operand shapes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    /// One label per axis of each operand (a label repeated within an operand is a diagonal).
    pub inputs: Vec<Vec<Label>>,
    /// The output labels, distinct, in order.
    pub output: Vec<Label>,
    /// The size of every label (size-1 axes broadcast against larger ones).
    pub sizes: BTreeMap<Label, usize>,
}

/// A mistake in an einsum spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpecError {
    /// A character that is not a letter, `,`, `...` or `->`.
    BadChar(char),
    /// A `.` that is not part of `...`, or two ellipses in one term.
    BadEllipsis(String),
    /// More than one `->`.
    BadArrow,
    /// The spec names a different number of operands than were given.
    OperandCount {
        /// Terms in the spec.
        spec: usize,
        /// Operands given.
        given: usize,
    },
    /// A term names a different number of axes than its operand has.
    Rank {
        /// The operand.
        operand: usize,
        /// The term as written.
        term: String,
        /// Its number of dimensions.
        ndim: usize,
    },
    /// One letter with two sizes.
    Size {
        /// The letter.
        label: Label,
        /// The size first seen.
        first: usize,
        /// The operand it was seen in.
        first_operand: usize,
        /// The conflicting size.
        size: usize,
        /// The operand with the conflicting size.
        operand: usize,
    },
    /// The dimensions under `...` do not broadcast.
    Broadcast {
        /// The first size.
        first: usize,
        /// Its operand.
        first_operand: usize,
        /// The conflicting size.
        size: usize,
        /// Its operand.
        operand: usize,
    },
    /// An output letter that no input has.
    OutputUnknown(Label),
    /// An output letter written twice.
    OutputRepeated(Label),
    /// Inputs broadcast over `...` but the explicit output has no `...`.
    OutputEllipsis,
    /// No operands.
    NoOperands,
    /// More dimensions under `...` than there are labels for.
    TooManyDims(usize),
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpecError::BadChar(c) => write!(
                f,
                "invalid character '{}' in the einsum spec: subscripts must be letters, separated by ',' and followed by an optional '->' output",
                c.escape_default()
            ),
            SpecError::BadEllipsis(t) => write!(
                f,
                "invalid ellipsis in einsum term \"{t}\": write '...' at most once per term"
            ),
            SpecError::BadArrow => write!(f, "the einsum spec has more than one '->'"),
            SpecError::OperandCount { spec, given } => write!(
                f,
                "the einsum spec names {spec} operand(s) but {given} were given"
            ),
            SpecError::Rank { operand, term, ndim } => write!(
                f,
                "einsum term \"{term}\" does not fit operand {operand}, which has {ndim} dimension(s)"
            ),
            SpecError::Size {
                label,
                first,
                first_operand,
                size,
                operand,
            } => write!(
                f,
                "einsum index '{label}' has size {first} in operand {first_operand} but size {size} in operand {operand}"
            ),
            SpecError::Broadcast {
                first,
                first_operand,
                size,
                operand,
            } => write!(
                f,
                "the dimensions under '...' do not broadcast: {first} in operand {first_operand} against {size} in operand {operand}"
            ),
            SpecError::OutputUnknown(l) => write!(
                f,
                "einsum output index '{l}' does not appear in any input"
            ),
            SpecError::OutputRepeated(l) => {
                write!(f, "einsum output index '{l}' appears more than once")
            }
            SpecError::OutputEllipsis => write!(
                f,
                "the inputs broadcast over '...' but the einsum output has no '...' to hold those dimensions"
            ),
            SpecError::NoOperands => write!(f, "einsum needs at least one operand"),
            SpecError::TooManyDims(n) => {
                write!(f, "einsum cannot label the {n} dimensions under '...'")
            }
        }
    }
}

impl std::error::Error for SpecError {}

/// One term as written: letters, with the position of `...` if any.
struct Term {
    letters: Vec<char>,
    ellipsis: Option<usize>,
    text: String,
}

fn parse_term(t: &str) -> Result<Term, SpecError> {
    let mut letters = Vec::new();
    let mut ellipsis = None;
    let chars: Vec<char> = t.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_alphabetic() {
            letters.push(c);
            i += 1;
        } else if c == '.' {
            if chars.get(i..i + 3) != Some(&['.', '.', '.'][..]) || ellipsis.is_some() {
                return Err(SpecError::BadEllipsis(t.to_string()));
            }
            ellipsis = Some(letters.len());
            i += 3;
        } else {
            return Err(SpecError::BadChar(c));
        }
    }
    Ok(Term {
        letters,
        ellipsis,
        text: t.to_string(),
    })
}

/// Parses `spec` for operands of the given shapes (whitespace is ignored).
pub fn parse(spec: &str, shapes: &[Vec<usize>]) -> Result<Spec, SpecError> {
    let s: String = spec.chars().filter(|c| !c.is_whitespace()).collect();
    if shapes.is_empty() {
        return Err(SpecError::NoOperands);
    }
    let mut parts = s.split("->");
    let lhs = parts.next().unwrap_or("");
    let rhs = parts.next();
    if parts.next().is_some() {
        return Err(SpecError::BadArrow);
    }
    for c in s.chars() {
        if !(c.is_ascii_alphabetic() || matches!(c, ',' | '.' | '-' | '>')) {
            return Err(SpecError::BadChar(c));
        }
    }
    let check_arrows = |t: &str| match t.chars().find(|c| matches!(c, '-' | '>')) {
        Some(c) => Err(SpecError::BadChar(c)),
        None => Ok(()),
    };
    check_arrows(lhs)?;
    let terms: Vec<Term> = lhs.split(',').map(parse_term).collect::<Result<_, _>>()?;
    if terms.len() != shapes.len() {
        return Err(SpecError::OperandCount {
            spec: terms.len(),
            given: shapes.len(),
        });
    }
    let out_term = match rhs {
        Some(r) => {
            check_arrows(r)?;
            if r.contains(',') {
                return Err(SpecError::BadChar(','));
            }
            Some(parse_term(r)?)
        }
        None => None,
    };
    // How many dimensions each ellipsis covers, and the broadcast of those dimensions.
    let mut nell = Vec::with_capacity(terms.len());
    for (k, (t, shape)) in terms.iter().zip(shapes).enumerate() {
        let rank_err = || SpecError::Rank {
            operand: k,
            term: t.text.clone(),
            ndim: shape.len(),
        };
        match t.ellipsis {
            Some(_) => nell.push(
                shape
                    .len()
                    .checked_sub(t.letters.len())
                    .ok_or_else(rank_err)?,
            ),
            None if shape.len() == t.letters.len() => nell.push(0),
            None => return Err(rank_err()),
        }
    }
    let nb = nell.iter().copied().max().unwrap_or(0);
    let used: BTreeSet<char> = terms
        .iter()
        .flat_map(|t| t.letters.iter().copied())
        .chain(out_term.iter().flat_map(|t| t.letters.iter().copied()))
        .collect();
    let ell: Vec<Label> = ('A'..='Z')
        .chain('a'..='z')
        .filter(|c| !used.contains(c))
        .chain((0x3B1u32..0x3B1 + 4096).filter_map(char::from_u32))
        .take(nb)
        .collect();
    if ell.len() < nb {
        return Err(SpecError::TooManyDims(nb));
    }
    let mut inputs = Vec::with_capacity(terms.len());
    let mut sizes: BTreeMap<Label, usize> = BTreeMap::new();
    let mut seen: BTreeMap<Label, usize> = BTreeMap::new();
    for (k, (t, shape)) in terms.iter().zip(shapes).enumerate() {
        let mut labels = t.letters.clone();
        if let Some(at) = t.ellipsis {
            let mine = &ell[nb - nell[k]..];
            labels.splice(at..at, mine.iter().copied());
        }
        for (&l, &n) in labels.iter().zip(shape) {
            match sizes.get(&l).copied() {
                None => {
                    sizes.insert(l, n);
                    seen.insert(l, k);
                }
                Some(m) if m == n || n == 1 => {}
                Some(1) => {
                    sizes.insert(l, n);
                    seen.insert(l, k);
                }
                Some(m) => {
                    let first_operand = seen.get(&l).copied().unwrap_or(0);
                    return Err(if ell.contains(&l) {
                        SpecError::Broadcast {
                            first: m,
                            first_operand,
                            size: n,
                            operand: k,
                        }
                    } else {
                        SpecError::Size {
                            label: l,
                            first: m,
                            first_operand,
                            size: n,
                            operand: k,
                        }
                    });
                }
            }
        }
        inputs.push(labels);
    }
    let output = match out_term {
        Some(t) => {
            let mut out = Vec::new();
            for &l in &t.letters {
                if !sizes.contains_key(&l) {
                    return Err(SpecError::OutputUnknown(l));
                }
                if out.contains(&l) {
                    return Err(SpecError::OutputRepeated(l));
                }
                out.push(l);
            }
            match t.ellipsis {
                Some(at) => {
                    out.splice(at..at, ell.iter().copied());
                }
                None if nb > 0 => return Err(SpecError::OutputEllipsis),
                None => {}
            }
            out
        }
        None => {
            let mut count: BTreeMap<Label, usize> = BTreeMap::new();
            for t in &terms {
                for &l in &t.letters {
                    *count.entry(l).or_default() += 1;
                }
            }
            // `...` first, then the letters seen exactly once, in ASCII order (NumPy's rule).
            let mut out = ell.clone();
            out.extend(count.iter().filter(|(_, &n)| n == 1).map(|(&l, _)| l));
            out
        }
    };
    Ok(Spec {
        inputs,
        output,
        sizes,
    })
}

impl Spec {
    /// The spec in NumPy's canonical text, `...` spelled out with its labels.
    pub fn text(&self) -> String {
        let ins: Vec<String> = self.inputs.iter().map(|t| t.iter().collect()).collect();
        format!(
            "{}->{}",
            ins.join(","),
            self.output.iter().collect::<String>()
        )
    }

    /// The elements of a term (saturating).
    pub fn size_of(&self, labels: &[Label]) -> u128 {
        labels.iter().fold(1u128, |acc, l| {
            acc.saturating_mul(self.sizes.get(l).copied().unwrap_or(1) as u128)
        })
    }
}
