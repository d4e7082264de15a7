//! Configuration helpers shared by both binaries: section-by-section TOML
//! loading that reports every mistake at once, human durations and sizes.

use std::fmt;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The exit code for a bad configuration (`EX_CONFIG` is 78; sysexits'
/// `EX_USAGE`, 64, is what operators and the issue tracker expect here).
pub const EXIT_BAD_CONFIG: i32 = 64;

/// Every mistake found in one configuration file, one per line.
#[derive(Debug, thiserror::Error)]
#[error("{} configuration error(s) in {source_name}:\n  - {}", .errors.len(), .errors.join("\n  - "))]
pub struct ConfigErrors {
    /// The file (or "defaults") the errors are about.
    pub source_name: String,
    /// One sentence per mistake, each naming its key.
    pub errors: Vec<String>,
}

impl ConfigErrors {
    /// `value` when no mistake was found, else every mistake.
    pub fn or_value<T>(source_name: &str, errors: Vec<String>, value: T) -> Result<T, Self> {
        if errors.is_empty() {
            Ok(value)
        } else {
            Err(Self {
                source_name: source_name.to_owned(),
                errors,
            })
        }
    }
}

/// Reads a TOML document section by section, so that one bad key does not
/// hide the others. Keys nobody asked for are reported by [`Sections::finish`].
#[derive(Debug)]
pub struct Sections {
    table: toml::Table,
    /// Mistakes found so far.
    pub errors: Vec<String>,
}

impl Sections {
    /// Parses `text`; a syntax error is returned at once (nothing else can be read).
    pub fn parse(text: &str, source_name: &str) -> Result<Self, ConfigErrors> {
        let table = text.parse::<toml::Table>().map_err(|error| ConfigErrors {
            source_name: source_name.to_owned(),
            errors: vec![format!("not valid TOML: {error}")],
        })?;
        Ok(Self {
            table,
            errors: Vec::new(),
        })
    }

    /// Takes `key` and deserializes it, falling back to `T::default()` (and
    /// recording the mistake) when it is absent or wrong.
    pub fn take<T: DeserializeOwned + Default>(&mut self, key: &str) -> T {
        match self.table.remove(key) {
            None => T::default(),
            Some(value) => match value.try_into::<T>() {
                Ok(parsed) => parsed,
                Err(error) => {
                    self.errors
                        .push(format!("`{key}`: {}", one_line(&error.to_string())));
                    T::default()
                }
            },
        }
    }

    /// Takes an array of tables (`[[key]]`), deserializing each entry on its
    /// own so that every bad entry is reported.
    pub fn take_list<T: DeserializeOwned>(&mut self, key: &str) -> Vec<T> {
        let Some(value) = self.table.remove(key) else {
            return Vec::new();
        };
        let toml::Value::Array(items) = value else {
            self.errors
                .push(format!("`{key}`: expected an array of tables ([[{key}]])"));
            return Vec::new();
        };
        let mut parsed = Vec::with_capacity(items.len());
        for (index, item) in items.into_iter().enumerate() {
            match item.try_into::<T>() {
                Ok(entry) => parsed.push(entry),
                Err(error) => self.errors.push(format!(
                    "`{key}[{index}]` (entry {}): {}",
                    index + 1,
                    one_line(&error.to_string())
                )),
            }
        }
        parsed
    }

    /// Reports the keys nobody took as unknown and returns every mistake.
    pub fn finish(mut self) -> Vec<String> {
        let mut unknown: Vec<_> = self.table.keys().cloned().collect();
        unknown.sort();
        for key in unknown {
            self.errors.push(format!("`{key}`: unknown key"));
        }
        self.errors
    }
}

fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('|') && !line.ends_with('|'))
        .collect::<Vec<_>>()
        .join(" ")
}

/// How log lines are written: `plain` (default) or `json`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    #[default]
    Plain,
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "plain" => Ok(Self::Plain),
            "json" => Ok(Self::Json),
            other => Err(format!("`{other}` is not a log format (plain or json)")),
        }
    }
}

/// Reads a configuration file, or says why it cannot.
pub fn read_file(path: &std::path::Path) -> Result<String, ConfigErrors> {
    std::fs::read_to_string(path).map_err(|error| ConfigErrors {
        source_name: path.display().to_string(),
        errors: vec![format!("cannot read the file: {error}")],
    })
}

/// A duration written for humans: `"15s"`, `"5m"`, `"7d"`; printed the same
/// way (see [`crate::duration`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    /// From whole seconds.
    pub const fn secs(secs: u64) -> Self {
        Self(Duration::from_secs(secs))
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::duration::format(self.0))
    }
}

impl std::str::FromStr for HumanDuration {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        humantime::parse_duration(text)
            .map(Self)
            .map_err(|error| format!("`{text}` is not a duration like \"15s\" or \"7d\" ({error})"))
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A size written for humans: `"256MiB"`, `"64KiB"`, `"1GB"` or a plain
/// number of bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(pub u64);

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
        for (unit, size) in UNITS {
            if self.0 >= size && self.0.is_multiple_of(size) {
                return write!(f, "{}{unit}", self.0 / size);
            }
        }
        write!(f, "{}B", self.0)
    }
}

impl std::str::FromStr for ByteSize {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        let split = trimmed
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(trimmed.len());
        let (number, unit) = trimmed.split_at(split);
        let number: u64 = number
            .parse()
            .map_err(|_| format!("`{text}` is not a size like \"256MiB\""))?;
        let multiplier: u64 = match unit.trim() {
            "" | "B" => 1,
            "KiB" => 1 << 10,
            "MiB" => 1 << 20,
            "GiB" => 1 << 30,
            "KB" | "kB" => 1_000,
            "MB" => 1_000_000,
            "GB" => 1_000_000_000,
            other => {
                return Err(format!(
                    "`{text}`: unknown size unit `{other}` (use B, KiB, MiB, GiB, KB, MB or GB)"
                ));
            }
        };
        number
            .checked_mul(multiplier)
            .map(Self)
            .ok_or_else(|| format!("`{text}` is too large"))
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Number(bytes) => Ok(Self(bytes)),
            Raw::Text(text) => text.parse().map_err(serde::de::Error::custom),
        }
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, default)]
    struct Part {
        size: Option<ByteSize>,
        every: Option<HumanDuration>,
    }

    #[test]
    fn sizes_parse_binary_and_decimal_units() {
        assert_eq!("256MiB".parse::<ByteSize>(), Ok(ByteSize(256 << 20)));
        assert_eq!("64KiB".parse::<ByteSize>(), Ok(ByteSize(64 << 10)));
        assert_eq!("1GB".parse::<ByteSize>(), Ok(ByteSize(1_000_000_000)));
        assert_eq!("123".parse::<ByteSize>(), Ok(ByteSize(123)));
        assert!("12 parsecs".parse::<ByteSize>().is_err());
        assert!("MiB".parse::<ByteSize>().is_err());
        assert_eq!(ByteSize(256 << 20).to_string(), "256MiB");
    }

    #[test]
    fn durations_round_trip_through_text() {
        let parsed: HumanDuration = "15s".parse().expect("duration");
        assert_eq!(parsed, HumanDuration::secs(15));
        assert_eq!(parsed.to_string(), "15s");
        assert!("fifteen".parse::<HumanDuration>().is_err());
        let retention: HumanDuration = "35days".parse().expect("duration");
        assert_eq!(retention.to_string(), "35d");
    }

    #[test]
    fn sections_report_every_mistake_at_once() {
        let mut sections = Sections::parse(
            "[a]\nsize = \"12 parsecs\"\n[b]\nevery = \"soon\"\n[c]\nbogus = 1\n[[list]]\nsize = 1\n[[list]]\nwhat = 2\n",
            "test.toml",
        )
        .expect("valid toml");
        let a: Part = sections.take("a");
        let b: Part = sections.take("b");
        let list: Vec<Part> = sections.take_list("list");
        let errors = sections.finish();
        assert_eq!(a, Part::default());
        assert_eq!(b, Part::default());
        assert_eq!(list.len(), 1);
        assert_eq!(errors.len(), 4, "{errors:#?}");
        assert!(errors[0].contains("`a`") && errors[0].contains("parsecs"));
        assert!(errors[1].contains("`b`") && errors[1].contains("soon"));
        assert!(errors[2].contains("`list[1]`") && errors[2].contains("what"));
        assert!(errors[3].contains("`c`: unknown key"));
    }

    #[test]
    fn syntax_errors_are_reported_alone() {
        let error = Sections::parse("[a\n", "bad.toml").expect_err("syntax error");
        assert_eq!(error.errors.len(), 1);
        assert!(error.to_string().contains("bad.toml"));
    }
}
