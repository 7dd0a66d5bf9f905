//! Tests of spec parsing and planning: optimal costs against brute force and NumPy.

use super::plan::{apply, find_contraction, flop_count, Set};
use super::report::sci;
use super::*;
use std::collections::BTreeMap;

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
            gemm: true,
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

/// A spec, its shapes, NumPy's path, naive and optimised FLOPs.
type NumpyCase = (
    &'static str,
    &'static [&'static [usize]],
    &'static str,
    u128,
    u128,
);

#[test]
fn paths_and_costs_match_numpy() {
    // Paths from numpy.einsum_path(..., optimize=("optimal", 10**9)), NumPy 2.4, whose
    // report prints these counts as 9.072e+06 / 4.877e+04 and 5.000e+08 / 8.000e+05.
    let cases: [NumpyCase; 2] = [
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
                gemm: true,
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
            gemm: true,
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
            gemm: true,
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
