//! The asciicast v2 format: a JSON header line, then one JSON array per event,
//! `[seconds, code, data]`, with `o` output, `i` input, `r` resize (`"COLSxROWS"`) and `m` marker.
//!
//! Event data is a string, so terminal bytes are decoded as UTF-8 per stream: a character split
//! across two reads is carried to the next one, and bytes that can never be UTF-8 become U+FFFD,
//! as asciinema's own recorder does. Everything a player needs survives; a binary stream does not
//! end the recording.

use std::time::Duration;

use serde_json::json;

/// The header line (with its newline).
pub fn header(cols: u32, rows: u32, timestamp: i64, title: &str) -> String {
    let header = json!({
        "version": 2,
        "width": cols,
        "height": rows,
        "timestamp": timestamp,
        "title": title,
        // The PTY's TERM; the remote shell is not known to the gateway, so SHELL is left out.
        "env": {"TERM": "xterm-256color"},
    });
    format!("{header}\n")
}

/// One event line (with its newline). Times have microsecond precision, like asciinema's.
pub fn event(at: Duration, code: &str, data: &str) -> String {
    let mut line = String::with_capacity(data.len() + 32);
    line.push('[');
    line.push_str(&format!("{}.{:06}", at.as_secs(), at.subsec_micros()));
    line.push_str(", ");
    // Serialising a &str cannot fail.
    line.push_str(&serde_json::to_string(code).unwrap_or_default());
    line.push_str(", ");
    line.push_str(&serde_json::to_string(data).unwrap_or_default());
    line.push_str("]\n");
    line
}

/// Decodes one byte stream into UTF-8 text, chunk by chunk.
#[derive(Default)]
pub struct Utf8Stream {
    /// The start of a character whose remaining bytes have not arrived yet (at most 3 bytes).
    carry: Vec<u8>,
}

impl Utf8Stream {
    pub fn decode(&mut self, bytes: &[u8]) -> String {
        let joined;
        let mut input: &[u8] = if self.carry.is_empty() {
            bytes
        } else {
            let mut carry = std::mem::take(&mut self.carry);
            carry.extend_from_slice(bytes);
            joined = carry;
            &joined
        };
        let mut out = String::with_capacity(input.len());
        loop {
            match std::str::from_utf8(input) {
                Ok(text) => {
                    out.push_str(text);
                    break;
                }
                Err(e) => {
                    let (valid, rest) = input.split_at(e.valid_up_to());
                    // `valid_up_to` marks a prefix that is valid UTF-8.
                    out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                    match e.error_len() {
                        Some(bad) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            input = &rest[bad..];
                        }
                        // A character cut at the end of this chunk: wait for the rest.
                        None => {
                            self.carry = rest.to_vec();
                            break;
                        }
                    }
                }
            }
        }
        out
    }

    /// What is left at the end of the stream (an unfinished character becomes U+FFFD).
    pub fn finish(&mut self) -> String {
        if self.carry.is_empty() {
            String::new()
        } else {
            self.carry.clear();
            char::REPLACEMENT_CHARACTER.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_character_split_across_reads_is_carried_whole() {
        let euro = "€".as_bytes();
        let mut stream = Utf8Stream::default();
        assert_eq!(stream.decode(&[b'a', euro[0]]), "a");
        assert_eq!(stream.decode(&euro[1..2]), "");
        assert_eq!(stream.decode(&[euro[2], b'b']), "€b");
        assert_eq!(stream.finish(), "");
    }

    #[test]
    fn bytes_that_are_never_utf8_become_replacement_characters() {
        let mut stream = Utf8Stream::default();
        assert_eq!(stream.decode(b"ok\xff\xfeok"), "ok\u{fffd}\u{fffd}ok");
        assert_eq!(stream.decode(b"\xe2\x82"), "");
        assert_eq!(stream.finish(), "\u{fffd}");
    }

    #[test]
    fn events_are_json_arrays_with_escaped_data() {
        let line = event(Duration::from_micros(1_500_042), "o", "a\"b\x1b[0m\n");
        assert_eq!(line, "[1.500042, \"o\", \"a\\\"b\\u001b[0m\\n\"]\n");
        let parsed: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed[2], "a\"b\x1b[0m\n");
    }

    #[test]
    fn the_header_names_size_time_title_and_env() {
        let line = header(120, 40, 1_700_000_000, "web-1 — alice");
        let parsed: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed["version"], 2);
        assert_eq!(parsed["width"], 120);
        assert_eq!(parsed["height"], 40);
        assert_eq!(parsed["timestamp"], 1_700_000_000);
        assert_eq!(parsed["title"], "web-1 — alice");
        assert_eq!(parsed["env"]["TERM"], "xterm-256color");
    }
}
