//! Links the function as a position-dependent executable (see the workspace Cargo.toml).

fn main() {
    println!("cargo:rustc-link-arg-bins=-no-pie");
}
