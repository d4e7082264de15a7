//! Compiles `headroom/v1/*.proto` with protox (pure Rust; no protoc on the machine).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=headroom");
    let fds = protox::compile(["headroom/v1/agent.proto"], ["."])?;
    tonic_prost_build::configure().compile_fds(fds)?;
    Ok(())
}
