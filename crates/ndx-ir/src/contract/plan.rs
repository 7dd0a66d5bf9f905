//! Contraction planning: the FLOP-optimal (or greedy) pairwise order under a memory cap, and
//! the layout and GEMM-or-loop decision of each step.

use super::{Label, Spec};
use std::collections::{BTreeMap, BTreeSet};

/// Operand counts up to this are planned by exhaustive search; more use the greedy search.
pub const OPTIMAL_MAX: usize = 5;

/// A pairwise step runs as a GEMM when its per-batch `m * n * k` reaches this (every dtype but
/// bool has one); smaller products run as loops, where a GEMM call costs more than it saves.
pub const GEMM_MIN: u128 = 4096;

/// Default cap on the elements of one intermediate: the largest operand or output, or 2^26
/// elements (256 MiB of `f32`), whichever is larger.
pub const DEFAULT_MEMORY_FLOOR: u128 = 1 << 26;

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
    /// True when the operands' dtype has a GEMM (every dtype but bool): steps may run as GEMM.
    pub gemm: bool,
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

pub(super) type Set = BTreeSet<Label>;

/// opt_einsum's FLOP count of a contraction over `idx` of `terms` operands.
pub(super) fn flop_count(
    idx: &Set,
    inner: bool,
    terms: usize,
    sizes: &BTreeMap<Label, usize>,
) -> u128 {
    let overall = idx.iter().fold(1u128, |acc, l| {
        acc.saturating_mul(sizes.get(l).copied().unwrap_or(1) as u128)
    });
    let factor = terms.saturating_sub(1).max(1) as u128 + u128::from(inner);
    overall.saturating_mul(factor)
}

pub(super) fn set_size(s: &Set, sizes: &BTreeMap<Label, usize>) -> u128 {
    s.iter().fold(1u128, |acc, l| {
        acc.saturating_mul(sizes.get(l).copied().unwrap_or(1) as u128)
    })
}

/// The result of contracting `pos` among `sets`: the new set, the removed labels and all labels.
pub(super) fn find_contraction(pos: &[usize], sets: &[Set], output: &Set) -> (Set, bool, Set) {
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

pub(super) fn apply(pos: &[usize], sets: &[Set], result: Set) -> Vec<Set> {
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
        let kind = step_kind(&inputs, &result, spec, opts.gemm);
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

fn step_kind(inputs: &[Vec<Label>], result: &[Label], spec: &Spec, gemm: bool) -> StepKind {
    let [a, b] = inputs else {
        return StepKind::Loop;
    };
    if !gemm {
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
