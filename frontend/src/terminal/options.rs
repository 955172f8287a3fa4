//! xterm's options: the font, the scrollback, the palettes matching the app's themes, and the
//! search highlight colours.

use js_sys::JSON;
use wasm_bindgen::JsValue;

use crate::theme::Theme;

fn json(value: serde_json::Value) -> JsValue {
    JSON::parse(&value.to_string()).unwrap_or(JsValue::UNDEFINED)
}

pub fn terminal_options(theme: Theme) -> JsValue {
    let mut options = serde_json::json!({
        "cursorBlink": true,
        "fontFamily": "\"JetBrains Mono\", \"Cascadia Mono\", \"DejaVu Sans Mono\", Menlo, Consolas, monospace",
        "fontSize": 14,
        "scrollback": 10000,
        "allowProposedApi": true,
        "macOptionIsMeta": true,
    });
    options["theme"] = theme_json(theme);
    json(options)
}

pub fn theme_object(theme: Theme) -> JsValue {
    json(theme_json(theme))
}

/// xterm palettes matching the app's CSS themes; the light one darkens the ANSI colours that
/// would otherwise be unreadable on white (yellow, cyan, bright white).
fn theme_json(theme: Theme) -> serde_json::Value {
    match theme {
        Theme::Dark => serde_json::json!({
            "background": "#0d1117", "foreground": "#d6dbe1", "cursor": "#d6dbe1",
            "cursorAccent": "#0d1117", "selectionBackground": "#3a4a66",
            "black": "#1b1f27", "red": "#f0716c", "green": "#7cc37c", "yellow": "#e0b755",
            "blue": "#6ea8fe", "magenta": "#c98bdb", "cyan": "#5ec4c4", "white": "#c9d1d9",
            "brightBlack": "#6e7681", "brightRed": "#ff938d", "brightGreen": "#9fdc9f",
            "brightYellow": "#f2cf7a", "brightBlue": "#98c1ff", "brightMagenta": "#deaaea",
            "brightCyan": "#86dede", "brightWhite": "#f4f6f8",
        }),
        Theme::Light => serde_json::json!({
            "background": "#fbfbfc", "foreground": "#1f2328", "cursor": "#1f2328",
            "cursorAccent": "#fbfbfc", "selectionBackground": "#b6d3ff",
            "black": "#1f2328", "red": "#c4302b", "green": "#2a7a2a", "yellow": "#8a6100",
            "blue": "#1f5fc4", "magenta": "#8a3fa0", "cyan": "#137a80", "white": "#6e7781",
            "brightBlack": "#57606a", "brightRed": "#d8453f", "brightGreen": "#348c34",
            "brightYellow": "#9c7000", "brightBlue": "#2f6fd6", "brightMagenta": "#9c4db3",
            "brightCyan": "#1a8b91", "brightWhite": "#8c959f",
        }),
    }
}

pub fn search_options(incremental: bool) -> JsValue {
    json(serde_json::json!({
        "incremental": incremental,
        "caseSensitive": false,
        "decorations": {
            "matchBackground": "#6b5a1e",
            "matchOverviewRuler": "#d1a33a",
            "activeMatchBackground": "#d9822b",
            "activeMatchColorOverviewRuler": "#ff9d3b",
        },
    }))
}
