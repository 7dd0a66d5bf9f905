//! Einsum specs and contraction planning (LANGUAGE.md section 5; DESIGN.md, "Einsum planning").
//!
//! Everything here is a pure function of the spec text and the operand shapes:
//! - [`parse`] checks a spec against the shapes, expands `...` and fills in the implicit output;
//!   every mistake is a [`SpecError`] that names the offending letter or operand.
//! - [`plan`] picks a pairwise contraction order that minimises FLOPs as opt_einsum counts them:
//!   exhaustive search up to [`OPTIMAL_MAX`] operands, greedy beyond, and no search at all for
//!   one or two operands. No intermediate (a step result other than the final output) holds
//!   more elements than the memory limit; when no pairwise order fits, the remaining operands
//!   are contracted in one direct loop, as NumPy does.
//!
//! Invariants of a [`Plan`]: applying its steps in order to the operand list (each step removes
//! the operands at its positions and appends its result) leaves exactly one term whose labels
//! are the spec's output in order; every step's result labels are distinct and each appears in
//! one of its inputs; FLOP counts and sizes saturate instead of overflowing.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// An index label: the letter itself, or for a dimension under `...`, an unused ASCII letter
/// (Greek letters once those run out).
pub type Label = char;

/// Operand counts up to this are planned by exhaustive search; more use the greedy search.
pub const OPTIMAL_MAX: usize = 5;

/// A pairwise step runs as a GEMM when its per-batch `m * n * k` reaches this (float dtypes
/// only); smaller products run as direct loops, where a GEMM call costs more than it saves.
pub const GEMM_MIN: u128 = 4096;

/// Default cap on the elements of one intermediate: the largest operand or output, or 2^26
/// elements (256 MiB of `f32`), whichever is larger.
pub const DEFAULT_MEMORY_FLOOR: u128 = 1 << 26;

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

/// How a step runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepKind {
    /// A batched GEMM: `batch` independent `m x k` by `k x n` products.
    Gemm {
        /// Independent products.
        batch: u128,
        /// Rows.
        m: u128,
        /// Columns.
        n: u128,
        /// The contracted length.
        k: u128,
    },
    /// A direct loop over every label of the step.
    Loop,
}

/// One contraction of the plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// Positions, ascending, in the operand list as it is before this step.
    pub operands: Vec<usize>,
    /// The labels of those operands (distinct within each: diagonals are taken first).
    pub inputs: Vec<Vec<Label>>,
    /// The labels of the result, in its memory order (the output's order for the last step).
    pub result: Vec<Label>,
    /// FLOPs as opt_einsum counts them.
    pub flops: u128,
    /// The number of labels the step loops over.
    pub scaling: usize,
    /// GEMM or loop.
    pub kind: StepKind,
}

/// Planning options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PlanOptions {
    /// Cap on the elements of any intermediate; `None` for the default
    /// (the largest operand or output, at least [`DEFAULT_MEMORY_FLOOR`]).
    pub memory_limit: Option<u128>,
    /// True when the operands are floats (steps may run as GEMM).
    pub float: bool,
}

/// A contraction order with its costs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The parsed spec.
    pub spec: Spec,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// FLOPs of contracting everything in one loop.
    pub naive_flops: u128,
    /// FLOPs of the steps.
    pub opt_flops: u128,
    /// The labels of the naive loop.
    pub naive_scaling: usize,
    /// The largest number of labels of one step.
    pub opt_scaling: usize,
    /// Elements of the largest intermediate (a step result other than the output; 0 when
    /// there is none).
    pub largest: u128,
    /// The memory limit in force, in elements.
    pub memory_limit: u128,
}

/// Distinct labels of a term, in order of first appearance.
pub fn distinct(labels: &[Label]) -> Vec<Label> {
    let mut out: Vec<Label> = Vec::with_capacity(labels.len());
    for &l in labels {
        if !out.contains(&l) {
            out.push(l);
        }
    }
    out
}

type Set = BTreeSet<Label>;

/// opt_einsum's FLOP count of a contraction over `idx` of `terms` operands.
fn flop_count(idx: &Set, inner: bool, terms: usize, sizes: &BTreeMap<Label, usize>) -> u128 {
    let overall = idx.iter().fold(1u128, |acc, l| {
        acc.saturating_mul(sizes.get(l).copied().unwrap_or(1) as u128)
    });
    let factor = terms.saturating_sub(1).max(1) as u128 + u128::from(inner);
    overall.saturating_mul(factor)
}

fn set_size(s: &Set, sizes: &BTreeMap<Label, usize>) -> u128 {
    s.iter().fold(1u128, |acc, l| {
        acc.saturating_mul(sizes.get(l).copied().unwrap_or(1) as u128)
    })
}

/// The result of contracting `pos` among `sets`: the new set, the removed labels and all labels.
fn find_contraction(pos: &[usize], sets: &[Set], output: &Set) -> (Set, bool, Set) {
    let mut contract = Set::new();
    let mut remain = output.clone();
    for (i, s) in sets.iter().enumerate() {
        if pos.contains(&i) {
            contract.extend(s.iter().copied());
        } else {
            remain.extend(s.iter().copied());
        }
    }
    let result: Set = contract.intersection(&remain).copied().collect();
    let removed = contract.len() > result.len();
    (result, removed, contract)
}

fn apply(pos: &[usize], sets: &[Set], result: Set) -> Vec<Set> {
    let mut out: Vec<Set> = sets
        .iter()
        .enumerate()
        .filter(|(i, _)| !pos.contains(i))
        .map(|(_, s)| s.clone())
        .collect();
    out.push(result);
    out
}

/// A path: the positions contracted at each step.
type Path = Vec<Vec<usize>>;

struct Search<'a> {
    sizes: &'a BTreeMap<Label, usize>,
    output: &'a Set,
    limit: u128,
    best: Option<(u128, Path)>,
}

impl Search<'_> {
    /// Exhaustive depth-first search with pruning by the best cost so far.
    fn optimal(&mut self, sets: &[Set], cost: u128, path: &mut Path) {
        if let Some((b, _)) = &self.best {
            if cost >= *b {
                return;
            }
        }
        if sets.len() == 1 {
            self.best = Some((cost, path.clone()));
            return;
        }
        let mut any = false;
        for i in 0..sets.len() {
            for j in i + 1..sets.len() {
                let pos = [i, j];
                let (result, removed, contract) = find_contraction(&pos, sets, self.output);
                let last = sets.len() == 2;
                if !last && set_size(&result, self.sizes) > self.limit {
                    continue;
                }
                any = true;
                let c = cost.saturating_add(flop_count(&contract, removed, 2, self.sizes));
                let next = apply(&pos, sets, result);
                path.push(pos.to_vec());
                self.optimal(&next, c, path);
                path.pop();
            }
        }
        if !any {
            // Nothing pairwise fits under the limit: contract the rest in one loop.
            let all: Vec<usize> = (0..sets.len()).collect();
            let (_, removed, contract) = find_contraction(&all, sets, self.output);
            let c = cost.saturating_add(flop_count(&contract, removed, sets.len(), self.sizes));
            if self.best.as_ref().is_none_or(|(b, _)| c < *b) {
                let mut p = path.clone();
                p.push(all);
                self.best = Some((c, p));
            }
        }
    }

    /// Greedy: repeatedly the pair whose result shrinks the data most, cheapest first; pairs
    /// sharing a label before outer products.
    fn greedy(&self, sets: &[Set]) -> Path {
        let mut sets = sets.to_vec();
        let mut path = Vec::new();
        while sets.len() > 1 {
            let mut best: Option<((i128, u128), [usize; 2], Set)> = None;
            for outer in [false, true] {
                for i in 0..sets.len() {
                    for j in i + 1..sets.len() {
                        if !outer && sets[i].is_disjoint(&sets[j]) {
                            continue;
                        }
                        let pos = [i, j];
                        let (result, removed, contract) =
                            find_contraction(&pos, &sets, self.output);
                        let size = set_size(&result, self.sizes);
                        if sets.len() > 2 && size > self.limit {
                            continue;
                        }
                        let grow = clamp_i128(size)
                            .saturating_sub(clamp_i128(set_size(&sets[i], self.sizes)))
                            .saturating_sub(clamp_i128(set_size(&sets[j], self.sizes)));
                        let key = (grow, flop_count(&contract, removed, 2, self.sizes));
                        if best.as_ref().is_none_or(|(k, _, _)| key < *k) {
                            best = Some((key, pos, result));
                        }
                    }
                }
                if best.is_some() {
                    break;
                }
            }
            match best {
                Some((_, pos, result)) => {
                    sets = apply(&pos, &sets, result);
                    path.push(pos.to_vec());
                }
                None => {
                    path.push((0..sets.len()).collect());
                    break;
                }
            }
        }
        path
    }
}

fn clamp_i128(v: u128) -> i128 {
    i128::try_from(v).unwrap_or(i128::MAX)
}

/// Plans the contraction of `spec`.
pub fn plan(spec: &Spec, opts: PlanOptions) -> Plan {
    let sizes = &spec.sizes;
    let terms: Vec<Vec<Label>> = spec.inputs.iter().map(|t| distinct(t)).collect();
    let sets: Vec<Set> = terms.iter().map(|t| t.iter().copied().collect()).collect();
    let output: Set = spec.output.iter().copied().collect();
    let largest_io = terms
        .iter()
        .chain(std::iter::once(&spec.output))
        .map(|t| spec.size_of(t))
        .max()
        .unwrap_or(1);
    let limit = opts
        .memory_limit
        .unwrap_or_else(|| largest_io.max(DEFAULT_MEMORY_FLOOR));
    let all: Set = sets.iter().flatten().copied().collect();
    let naive_removed = all.len() > output.len();
    let naive_flops = flop_count(&all, naive_removed, sets.len(), sizes);
    let mut search = Search {
        sizes,
        output: &output,
        limit,
        best: None,
    };
    let path: Path = match sets.len() {
        0 => Vec::new(),
        1 => vec![vec![0]],
        2 => vec![vec![0, 1]],
        n if n <= OPTIMAL_MAX => {
            search.optimal(&sets, 0, &mut Vec::new());
            search.best.take().map(|(_, p)| p).unwrap_or_default()
        }
        _ => search.greedy(&sets),
    };
    // Replay the path with ordered labels.
    let mut cur: Vec<Vec<Label>> = terms;
    let mut steps = Vec::with_capacity(path.len());
    for pos in path {
        let cur_sets: Vec<Set> = cur.iter().map(|t| t.iter().copied().collect()).collect();
        let (result_set, removed, contract) = find_contraction(&pos, &cur_sets, &output);
        let inputs: Vec<Vec<Label>> = pos.iter().map(|&p| cur[p].clone()).collect();
        let last = cur.len() == pos.len();
        let result: Vec<Label> = if last {
            spec.output.clone()
        } else {
            result_order(&inputs, &result_set)
        };
        let kind = step_kind(&inputs, &result, spec, opts.float);
        steps.push(Step {
            flops: flop_count(&contract, removed, pos.len(), sizes),
            scaling: contract.len(),
            operands: pos.clone(),
            inputs,
            result: result.clone(),
            kind,
        });
        cur = cur
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !pos.contains(i))
            .map(|(_, t)| t)
            .collect();
        cur.push(result);
    }
    let opt_flops = steps
        .iter()
        .fold(0u128, |acc, s| acc.saturating_add(s.flops));
    Plan {
        naive_flops,
        opt_flops,
        naive_scaling: all.len(),
        opt_scaling: steps.iter().map(|s| s.scaling).max().unwrap_or(0),
        largest: steps
            .iter()
            .take(steps.len().saturating_sub(1))
            .map(|s| spec.size_of(&s.result))
            .max()
            .unwrap_or(0),
        memory_limit: limit,
        spec: spec.clone(),
        steps,
    }
}

/// Result order of an intermediate: batch labels, then the first operand's kept labels, then
/// the second's, each in the order its operand stores them (so GEMM writes it contiguously).
fn result_order(inputs: &[Vec<Label>], result: &Set) -> Vec<Label> {
    let mut out: Vec<Label> = Vec::with_capacity(result.len());
    if let [a, b] = inputs {
        out.extend(a.iter().filter(|l| result.contains(l) && b.contains(l)));
    }
    for t in inputs {
        for l in t {
            if result.contains(l) && !out.contains(l) {
                out.push(*l);
            }
        }
    }
    out
}

/// The GEMM groups of a pairwise step: (batch, m, n, k) label lists, in the first operand's
/// order for batch, m and k and the second's for n.
pub fn gemm_groups(a: &[Label], b: &[Label], result: &[Label]) -> [Vec<Label>; 4] {
    let batch: Vec<Label> = a
        .iter()
        .copied()
        .filter(|l| b.contains(l) && result.contains(l))
        .collect();
    let m: Vec<Label> = a
        .iter()
        .copied()
        .filter(|l| !b.contains(l) && result.contains(l))
        .collect();
    let n: Vec<Label> = b
        .iter()
        .copied()
        .filter(|l| !a.contains(l) && result.contains(l))
        .collect();
    let k: Vec<Label> = a
        .iter()
        .copied()
        .filter(|l| b.contains(l) && !result.contains(l))
        .collect();
    [batch, m, n, k]
}

fn step_kind(inputs: &[Vec<Label>], result: &[Label], spec: &Spec, float: bool) -> StepKind {
    let [a, b] = inputs else {
        return StepKind::Loop;
    };
    if !float {
        return StepKind::Loop;
    }
    let [batch, m, n, k] = gemm_groups(a, b, result);
    let (batch, m, n, k) = (
        spec.size_of(&batch),
        spec.size_of(&m),
        spec.size_of(&n),
        spec.size_of(&k),
    );
    if m.saturating_mul(n).saturating_mul(k) >= GEMM_MIN {
        StepKind::Gemm { batch, m, n, k }
    } else {
        StepKind::Loop
    }
}

/// NumPy's `%.3e`: `2.000e+10`.
fn sci(v: u128) -> String {
    let s = format!("{:.3e}", v as f64);
    match s.split_once('e') {
        Some((m, e)) => {
            let (sign, digits) = match e.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', e),
            };
            format!("{m}e{sign}{digits:0>2}")
        }
        None => s,
    }
}

fn term_text(t: &[Label]) -> String {
    t.iter().collect()
}

impl Plan {
    /// The path in NumPy's form: `[(0, 1), (0, 1)]`.
    pub fn path_text(&self) -> String {
        let steps: Vec<String> = self
            .steps
            .iter()
            .map(|s| {
                let p: Vec<String> = s.operands.iter().map(|p| p.to_string()).collect();
                if p.len() == 1 {
                    format!("({},)", p[0])
                } else {
                    format!("({})", p.join(", "))
                }
            })
            .collect();
        format!("[{}]", steps.join(", "))
    }
}

impl fmt::Display for Plan {
    /// A report in the style of `numpy.einsum_path`, plus how each step runs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let speedup = if self.opt_flops == 0 {
            1.0
        } else {
            self.naive_flops as f64 / self.opt_flops as f64
        };
        writeln!(f, "  Complete contraction:  {}", self.spec.text())?;
        writeln!(f, "                  Path:  {}", self.path_text())?;
        writeln!(f, "         Naive scaling:  {}", self.naive_scaling)?;
        writeln!(f, "     Optimized scaling:  {}", self.opt_scaling)?;
        writeln!(f, "      Naive FLOP count:  {}", sci(self.naive_flops))?;
        writeln!(f, "  Optimized FLOP count:  {}", sci(self.opt_flops))?;
        writeln!(f, "   Theoretical speedup:  {speedup:.3}")?;
        let largest = if self.steps.len() > 1 {
            format!("{} elements", sci(self.largest))
        } else {
            "none".to_string()
        };
        writeln!(
            f,
            "  Largest intermediate:  {largest} (limit {} elements)",
            sci(self.memory_limit)
        )?;
        let rule = "-".repeat(78);
        writeln!(f, "{rule}")?;
        writeln!(
            f,
            "{:<8} {:<10} {:<22} {:<22} run as",
            "scaling", "FLOPs", "current", "remaining"
        )?;
        writeln!(f, "{rule}")?;
        let mut cur: Vec<Vec<Label>> = self.spec.inputs.iter().map(|t| distinct(t)).collect();
        let out = term_text(&self.spec.output);
        for (i, s) in self.steps.iter().enumerate() {
            let ins: Vec<String> = s.inputs.iter().map(|t| term_text(t)).collect();
            let current = format!("{}->{}", ins.join(","), term_text(&s.result));
            cur = cur
                .into_iter()
                .enumerate()
                .filter(|(i, _)| !s.operands.contains(i))
                .map(|(_, t)| t)
                .collect();
            cur.push(s.result.clone());
            let rem: Vec<String> = cur.iter().map(|t| term_text(t)).collect();
            let remaining = format!("{}->{out}", rem.join(","));
            let how = match s.kind {
                StepKind::Gemm { batch, m, n, k } => {
                    format!("GEMM {batch}x({m}x{k} @ {k}x{n})")
                }
                StepKind::Loop => "loop".to_string(),
            };
            let sep = if i + 1 == self.steps.len() { "" } else { "\n" };
            write!(
                f,
                "{:>4}     {:<10} {:<22} {:<22} {how}{sep}",
                s.scaling,
                sci(s.flops),
                current,
                remaining
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(s: &str, shapes: &[&[usize]]) -> Spec {
        let shapes: Vec<Vec<usize>> = shapes.iter().map(|s| s.to_vec()).collect();
        match parse(s, &shapes) {
            Ok(p) => p,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    fn err(s: &str, shapes: &[&[usize]]) -> SpecError {
        let shapes: Vec<Vec<usize>> = shapes.iter().map(|s| s.to_vec()).collect();
        match parse(s, &shapes) {
            Ok(p) => panic!("{s} parsed as {p:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn implicit_output_is_sorted_singletons() {
        assert_eq!(spec("ij,jk", &[&[2, 3], &[3, 4]]).text(), "ij,jk->ik");
        assert_eq!(spec("ba", &[&[2, 3]]).text(), "ba->ab");
        assert_eq!(spec("ii", &[&[3, 3]]).text(), "ii->");
        assert_eq!(spec("Ba,a", &[&[2, 3], &[3]]).text(), "Ba,a->B");
    }

    #[test]
    fn ellipsis_broadcasts_from_the_right() {
        let s = spec("...ij,...jk->...ik", &[&[5, 2, 3], &[7, 1, 3, 4]]);
        assert_eq!(s.text(), "Bij,ABjk->ABik");
        assert_eq!(s.sizes[&'B'], 5);
        assert_eq!(s.sizes[&'A'], 7);
        let s = spec("i...", &[&[2, 3]]);
        assert_eq!(s.text(), "iA->Ai");
        assert_eq!(
            err("...i,...i", &[&[2, 3], &[4, 3]]),
            SpecError::Broadcast {
                first: 2,
                first_operand: 0,
                size: 4,
                operand: 1
            }
        );
    }

    #[test]
    fn spec_errors_name_what_is_wrong() {
        assert_eq!(err("ij,j1", &[&[2, 3], &[3]]), SpecError::BadChar('1'));
        assert_eq!(
            err("ij,jk", &[&[2, 3]]),
            SpecError::OperandCount { spec: 2, given: 1 }
        );
        assert_eq!(
            err("ij,jk", &[&[2, 3], &[4, 5]]),
            SpecError::Size {
                label: 'j',
                first: 3,
                first_operand: 0,
                size: 4,
                operand: 1
            }
        );
        assert_eq!(err("ij->k", &[&[2, 3]]), SpecError::OutputUnknown('k'));
        assert_eq!(err("ij->ii", &[&[2, 3]]), SpecError::OutputRepeated('i'));
        assert!(matches!(err("ijk", &[&[2, 3]]), SpecError::Rank { .. }));
        assert_eq!(err("...i->i", &[&[2, 3]]), SpecError::OutputEllipsis);
        assert!(matches!(err("i..j", &[&[2, 3]]), SpecError::BadEllipsis(_)));
        assert_eq!(err("i->i->i", &[&[2]]), SpecError::BadArrow);
        assert_eq!(err("i-i", &[&[2]]), SpecError::BadChar('-'));
        assert_eq!(err("", &[]), SpecError::NoOperands);
        // Size 1 broadcasts against any size.
        assert_eq!(spec("ij,ij->ij", &[&[1, 3], &[2, 3]]).sizes[&'i'], 2);
    }

    /// The optimal cost by brute force over every pairwise order, with no memory limit.
    fn brute(sets: &[Set], output: &Set, sizes: &BTreeMap<Label, usize>) -> u128 {
        if sets.len() == 1 {
            return 0;
        }
        let mut best = u128::MAX;
        for i in 0..sets.len() {
            for j in i + 1..sets.len() {
                let (r, removed, c) = find_contraction(&[i, j], sets, output);
                let cost = flop_count(&c, removed, 2, sizes);
                let rest = brute(&apply(&[i, j], sets, r), output, sizes);
                best = best.min(cost.saturating_add(rest));
            }
        }
        best
    }

    fn check_optimal(s: &str, shapes: &[&[usize]]) -> Plan {
        let sp = spec(s, shapes);
        let p = plan(
            &sp,
            PlanOptions {
                memory_limit: Some(u128::MAX),
                float: true,
            },
        );
        let sets: Vec<Set> = sp
            .inputs
            .iter()
            .map(|t| t.iter().copied().collect())
            .collect();
        let out: Set = sp.output.iter().copied().collect();
        assert_eq!(p.opt_flops, brute(&sets, &out, &sp.sizes), "{s}");
        p
    }

    #[test]
    fn planner_finds_the_optimal_cost() {
        let p = check_optimal("ij,jk,kl->il", &[&[1000, 10], &[10, 1000], &[1000, 1000]]);
        // kl,jk first (NumPy: [(1, 2), (0, 1)]), 2e7 FLOPs each step.
        assert_eq!(p.path_text(), "[(1, 2), (0, 1)]");
        assert_eq!(p.opt_flops, 40_000_000);
        assert_eq!(p.naive_flops, 3 * 1000 * 10 * 1000 * 1000);
        check_optimal(
            "pi,qj,ijkl,rk,sl->pqrs",
            &[&[3, 4], &[5, 6], &[4, 6, 7, 8], &[2, 7], &[9, 8]],
        );
        check_optimal(
            "ea,fb,abcd,gc,hd->efgh",
            &[
                &[10, 10],
                &[10, 10],
                &[10, 10, 10, 10],
                &[10, 10],
                &[10, 10],
            ],
        );
        check_optimal("ab,bc,cd,de->ae", &[&[2, 50], &[50, 3], &[3, 40], &[40, 5]]);
        check_optimal("i,j,k,ijk", &[&[7], &[8], &[9], &[7, 8, 9]]);
        check_optimal("ab,cd,ef", &[&[2, 3], &[4, 5], &[6, 7]]);
    }

    #[test]
    fn paths_and_costs_match_numpy() {
        // Paths from numpy.einsum_path(..., optimize=("optimal", 10**9)), NumPy 2.4, whose
        // report prints these counts as 9.072e+06 / 4.877e+04 and 5.000e+08 / 8.000e+05.
        let cases: [(&str, &[&[usize]], &str, u128, u128); 2] = [
            (
                "pi,qj,ijkl,rk,sl->pqrs",
                &[&[5, 6], &[7, 8], &[6, 8, 9, 10], &[4, 9], &[3, 10]],
                "[(2, 4), (2, 3), (0, 2), (0, 1)]",
                9_072_000,
                48_768,
            ),
            (
                "ea,fb,abcd,gc,hd->efgh",
                &[
                    &[10, 10],
                    &[10, 10],
                    &[10, 10, 10, 10],
                    &[10, 10],
                    &[10, 10],
                ],
                "[(0, 2), (0, 3), (0, 2), (0, 1)]",
                500_000_000,
                800_000,
            ),
        ];
        for (s, shapes, path, naive, opt) in cases {
            let p = check_optimal(s, shapes);
            assert_eq!(p.path_text(), path, "{s}");
            assert_eq!((p.naive_flops, p.opt_flops), (naive, opt), "{s}");
        }
    }

    #[test]
    fn memory_limit_is_honoured() {
        let sp = spec("ij,jk,kl->il", &[&[100, 1000], &[1000, 100], &[100, 1000]]);
        for limit in [1u128, 100, 10_000, 100_000, 1 << 40] {
            let p = plan(
                &sp,
                PlanOptions {
                    memory_limit: Some(limit),
                    float: true,
                },
            );
            let n = p.steps.len();
            for s in &p.steps[..n - 1] {
                assert!(sp.size_of(&s.result) <= limit, "limit {limit}: {p}");
            }
        }
        // Nothing fits: one loop over everything.
        let p = plan(
            &sp,
            PlanOptions {
                memory_limit: Some(1),
                float: true,
            },
        );
        assert_eq!(p.path_text(), "[(0, 1, 2)]");
        assert_eq!(p.steps[0].kind, StepKind::Loop);
    }

    #[test]
    fn greedy_handles_many_operands_and_huge_sizes() {
        let shapes: Vec<Vec<usize>> = (0..8).map(|_| vec![1 << 40, 1 << 40]).collect();
        let sp = parse("ab,bc,cd,de,ef,fg,gh,hi->ai", &shapes).unwrap_or_else(|e| panic!("{e}"));
        let p = plan(&sp, PlanOptions::default());
        assert_eq!(p.steps.len(), 7);
        assert_eq!(
            p.steps.last().map(|s| s.result.clone()),
            Some(vec!['a', 'i'])
        );
        // Costs saturate instead of overflowing.
        assert!(p.naive_flops > 0 && p.opt_flops > 0);
        let _ = p.to_string();
    }

    #[test]
    fn two_operand_gemm_groups() {
        let sp = spec("bhtd,bhkd->bhtk", &[&[8, 12, 128, 64], &[8, 12, 128, 64]]);
        let p = plan(
            &sp,
            PlanOptions {
                memory_limit: None,
                float: true,
            },
        );
        assert_eq!(
            p.steps[0].kind,
            StepKind::Gemm {
                batch: 96,
                m: 128,
                n: 128,
                k: 64
            }
        );
        let p = plan(&sp, PlanOptions::default());
        assert_eq!(p.steps[0].kind, StepKind::Loop);
        assert_eq!(sci(40_000_000), "4.000e+07");
        assert_eq!(sci(0), "0.000e+00");
    }
}
