//! The questions `init` asks on a terminal, for what it cannot find (the
//! collector endpoint). Generic over the streams so they can be tested.

use std::io::{self, BufRead, Write};

/// Asks for the collector's gRPC endpoint until it is an http(s) URL;
/// an empty answer takes `default`, end of input gives `None`.
pub fn collector_endpoint(
    input: &mut impl BufRead,
    output: &mut impl Write,
    default: &str,
) -> io::Result<Option<String>> {
    loop {
        write!(
            output,
            "The collector's gRPC endpoint (its --grpc-listen address) [{default}]: "
        )?;
        output.flush()?;
        let mut line = String::new();
        if input.read_line(&mut line)? == 0 {
            writeln!(output)?;
            return Ok(None);
        }
        let answer = line.trim();
        if answer.is_empty() {
            return Ok(Some(default.to_owned()));
        }
        if answer.starts_with("http://") || answer.starts_with("https://") {
            return Ok(Some(answer.to_owned()));
        }
        writeln!(
            output,
            "  `{answer}` must start with http:// or https://, e.g. http://collector.internal:4317"
        )?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(typed: &str) -> (Option<String>, String) {
        let mut output = Vec::new();
        let answer = collector_endpoint(
            &mut io::Cursor::new(typed.as_bytes()),
            &mut output,
            "http://127.0.0.1:4317",
        )
        .expect("in-memory streams");
        (answer, String::from_utf8(output).expect("utf-8"))
    }

    #[test]
    fn an_empty_answer_takes_the_default_and_a_url_is_taken_as_typed() {
        assert_eq!(ask("\n").0.as_deref(), Some("http://127.0.0.1:4317"));
        assert_eq!(
            ask("  https://c.example:4317 \n").0.as_deref(),
            Some("https://c.example:4317")
        );
        assert_eq!(ask("").0, None, "end of input");
    }

    #[test]
    fn a_bad_answer_is_explained_and_asked_again() {
        let (answer, output) = ask("collector:4317\nhttp://c:4317\n");
        assert_eq!(answer.as_deref(), Some("http://c:4317"));
        assert!(output.contains("must start with http://"), "{output}");
        assert_eq!(output.matches("gRPC endpoint").count(), 2);
    }
}
