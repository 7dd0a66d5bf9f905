//! A statement repeated in a loop reuses freed buffers instead of mapping fresh memory each
//! time (its own test binary, so no other test allocates concurrently).

use ndx::Session;
use ndx_runtime::Buffer;

/// How many large buffers running `code` mapped fresh from the OS.
fn maps_during(s: &mut Session, code: &str) -> usize {
    let before = Buffer::fresh_maps();
    s.run(code).unwrap();
    Buffer::fresh_maps() - before
}

#[test]
fn a_loop_of_y_equals_f_x_maps_memory_a_bounded_number_of_times() {
    let mut s = Session::new();
    s.run("let x = ones(2000000, dtype=f32)\nlet y = 2.5 * x + 1.0")
        .unwrap();
    let fresh = maps_during(&mut s, "for i in range(50) {\n    y = 2.5 * x + y\n}");
    // The new value is computed while the old one is still bound: two buffers alternate.
    assert!(fresh <= 2, "{fresh} fresh maps for 50 iterations");
    let y = s.get("y").unwrap().to_vec::<f32>().unwrap();
    assert!(y.iter().all(|v| *v == 3.5 + 50.0 * 2.5), "{}", y[0]);
    assert!(Buffer::pooled_bytes() <= ndx_runtime::buffer::POOL_CAP);

    // A transposing copy in a loop (its output is written completely) reuses memory too.
    s.run("let a = ones((1024, 1024), dtype=f32)\nlet t = ascontiguousarray(a.T)")
        .unwrap();
    let fresh = maps_during(
        &mut s,
        "for i in range(20) {\n    let t = ascontiguousarray(a.T)\n}",
    );
    assert!(fresh <= 1, "{fresh} fresh maps for 20 transposed copies");

    // The cap: freed buffers beyond POOL_CAP bytes go back to the OS instead of the pool.
    let cap = ndx_runtime::buffer::POOL_CAP;
    let big: Vec<Buffer> = (0..3)
        .map(|i| Buffer::zeroed(cap / 2 + 4096 * (i + 1)).unwrap())
        .collect();
    let held = Buffer::pooled_bytes();
    drop(big);
    let after = Buffer::pooled_bytes();
    assert!(
        after <= cap,
        "the pool holds {after} bytes, over its cap {cap}"
    );
    assert!(
        after < held + 3 * (cap / 2),
        "every freed buffer was kept: {after} bytes pooled"
    );
}
