//! Inputs files: JSON Lines of `TimedInput`s, as `simulate --inputs` and an exam's trainee
//! script give them.

use serde::{Deserialize, Serialize};

use super::SimInput;

/// An input and the tick it applies at: one line of an `--inputs` JSON Lines file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimedInput {
    /// Tick at whose start the input is applied.
    pub tick: u64,
    /// The input.
    #[serde(flatten)]
    pub input: SimInput,
}

/// A line of an inputs file that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct InputsError {
    /// File name.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Parses a JSON Lines inputs file. Blank lines and lines starting with `#` are skipped; ticks
/// must not decrease, so a recorded file replays in order.
pub fn parse_inputs(file: &str, text: &str) -> Result<Vec<TimedInput>, InputsError> {
    let mut out: Vec<TimedInput> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let err = |message: String| InputsError { file: file.to_string(), line: i + 1, message };
        let input: TimedInput = serde_json::from_str(trimmed).map_err(|e| err(e.to_string()))?;
        if let SimInput::ModbusRequest(t) = &input.input
            && !t.values.is_empty()
        {
            return Err(err(
                "a modbus_request writes nothing: a write is write_registers or write_coils".into()
            ));
        }
        if let Some(last) = out.last()
            && input.tick < last.tick
        {
            return Err(err(format!("tick {} is before the previous line's tick {}", input.tick, last.tick)));
        }
        out.push(input);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_with_values_is_refused_and_one_without_is_read() {
        let line = |values: &str| {
            format!(
                r#"{{"tick":1,"kind":"modbus_request","plc":"p","source":"h","function":3,"addr":0,"count":2{values}}}"#
            )
        };
        let read = parse_inputs("in.jsonl", &line("")).unwrap();
        assert!(matches!(&read[0].input, SimInput::ModbusRequest(t) if t.repeat == 1 && t.values.is_empty()));
        let e = parse_inputs("in.jsonl", &line(r#","values":[1]"#)).unwrap_err();
        assert!(e.line == 1 && e.message.contains("writes nothing"), "{e}");
        assert!(parse_inputs("in.jsonl", &line(r#","what":1"#)).is_err(), "unknown fields are refused");
    }
}
