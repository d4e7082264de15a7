//! Compiles `headroom/v1/*.proto` with protox (pure Rust; no protoc on the machine).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=headroom");
    let fds = protox::compile(["headroom/v1/agent.proto"], ["."])?;
    // prost derives Eq and Hash for messages without floats (Label), which
    // the collector's ingest path uses as map keys.
    tonic_prost_build::configure().compile_fds(fds)?;
    Ok(())
}
