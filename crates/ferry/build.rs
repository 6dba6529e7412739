//! Records the commit Ferry was built from, shown by `GET /`.
use std::process::Command;

fn main() {
    let commit = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().chars().take(16).collect::<String>())
        .filter(|s| s.len() == 16)
        .unwrap_or_else(|| "0000000000000000".to_owned());
    println!("cargo:rustc-env=FERRY_COMMIT={commit}");
    println!("cargo:rerun-if-changed=../../.git/HEAD");
    println!("cargo:rerun-if-changed=../../.git/refs/heads");
}
