//! The real Python OpenTelemetry SDK for end-to-end tests: the venv
//! (`target/otlp-venv`, prepared by `.ci/run`, created here when missing)
//! and the scripts under `tests/otlp/` that send spans and metrics with it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use crate::bin;

/// Serializes venv creation between the tests of one binary.
static VENV: Mutex<()> = Mutex::new(());

/// `target/otlp-venv/bin/python`, creating the venv (network needed) when
/// it is missing.
pub fn python() -> PathBuf {
    let _guard = VENV.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let target = bin("headroom-agent")
        .parent()
        .and_then(Path::parent)
        .expect("target dir")
        .to_path_buf();
    let venv = target.join("otlp-venv");
    let python = venv.join("bin/python");
    let ready = |python: &Path| {
        Command::new(python)
            .args([
                "-c",
                "import opentelemetry.sdk, opentelemetry.exporter.otlp.proto.grpc",
            ])
            .status()
            .is_ok_and(|status| status.success())
    };
    if !ready(&python) {
        let status = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .expect("python3 -m venv");
        assert!(status.success(), "python3 -m venv failed");
        let status = Command::new(venv.join("bin/pip"))
            .args([
                "install",
                "-q",
                "opentelemetry-sdk==1.*",
                "opentelemetry-exporter-otlp-proto-grpc==1.*",
            ])
            .status()
            .expect("pip install");
        assert!(
            status.success(),
            "pip install of the OpenTelemetry SDK failed"
        );
    }
    assert!(ready(&python), "{} cannot import the SDK", python.display());
    python
}

/// Runs `tests/otlp/<script>` with `args`; returns the secrets it sent.
pub fn run_script(script: &str, args: &[String]) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("otlp")
        .join(script);
    let output = Command::new(python())
        .arg(path)
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("run {script}: {error}"));
    assert!(
        output.status.success(),
        "{script} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let secrets: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("the secrets as JSON");
    secrets
        .as_object()
        .expect("an object")
        .values()
        .map(|value| value.as_str().expect("a string").to_owned())
        .collect()
}
