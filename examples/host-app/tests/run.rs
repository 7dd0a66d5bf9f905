//! The host app builds and runs: its output is the simulation's, deterministic.

#[test]
fn host_app_runs_and_conserves_heat() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ndx-host-app"))
        .arg("100")
        .output()
        .expect("spawn ndx-host-app");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    assert!(lines[0].starts_with("step   50: energy 0.0"), "{stdout}");
    assert!(lines[1].starts_with("step  100: energy 0.0"), "{stdout}");
    assert!(
        lines[2].starts_with("energy of the middle 5 points: "),
        "{stdout}"
    );
    assert_eq!(lines[3], "heat conserved: 1.000000", "{stdout}");
}
