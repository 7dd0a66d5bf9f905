//! The parser and the renderer never panic, whatever the input.

use ndx_syntax::{parse, FileId, SourceMap};
use proptest::prelude::*;

const TOKENS: &[&str] = &[
    "let", "fn", "kernel", "for", "in", "while", "if", "else", "return", "break", "continue", "x",
    "f", "1", "2.5", "\"s\"", "(", ")", "[", "]", "{", "}", ",", ":", "...", ".", "=", "+=", "+",
    "-", "*", "**", "//", "@", "<", "==", "and", "not", "newaxis", "\n", ";", "->", "f32", "_",
    "#c\n", "\"", "$",
];

fn check(src: &str) {
    let mut m = SourceMap::new();
    let f = m.add("p.ndx", src);
    if let Err(d) = parse(f, src) {
        let _ = m.render(&d);
    }
    let _ = ndx_syntax::is_incomplete(src);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_text(s in ".{0,80}") {
        check(&s);
    }

    #[test]
    fn token_soup(t in prop::collection::vec(prop::sample::select(TOKENS), 0..40)) {
        check(&t.join(" "));
    }
}

#[test]
fn spans_out_of_range_render() {
    let mut m = SourceMap::new();
    m.add("a.ndx", "é\n");
    let d = ndx_syntax::Diagnostic::error("E0000", "x")
        .with_primary(
            ndx_syntax::Span {
                file: FileId(0),
                start: 1,
                end: 99,
            },
            "here",
        )
        .with_secondary(
            ndx_syntax::Span {
                file: FileId(7),
                start: 0,
                end: 1,
            },
            "elsewhere",
        );
    assert!(m.render(&d).contains("error[E0000]: x"));
    let _ = parse(FileId(3), "let x = 1");
}
