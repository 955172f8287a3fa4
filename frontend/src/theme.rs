//! Dark and light themes. The choice (only that) is kept in localStorage; the first visit follows
//! the system preference. CSS reads `data-theme` on `<html>`; open terminals are recoloured too.

use leptos::prelude::*;

const STORAGE_KEY: &str = "gatehouse.theme";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Theme {
    Dark,
    Light,
}

impl Theme {
    pub fn as_str(self) -> &'static str {
        match self {
            Theme::Dark => "dark",
            Theme::Light => "light",
        }
    }

    pub fn toggled(self) -> Theme {
        match self {
            Theme::Dark => Theme::Light,
            Theme::Light => Theme::Dark,
        }
    }

    fn initial() -> Theme {
        let window = window();
        let stored = window
            .local_storage()
            .ok()
            .flatten()
            .and_then(|s| s.get_item(STORAGE_KEY).ok().flatten());
        match stored.as_deref() {
            Some("light") => Theme::Light,
            Some("dark") => Theme::Dark,
            _ => {
                let prefers_light = window
                    .match_media("(prefers-color-scheme: light)")
                    .ok()
                    .flatten()
                    .is_some_and(|m| m.matches());
                if prefers_light {
                    Theme::Light
                } else {
                    Theme::Dark
                }
            }
        }
    }
}

/// The current theme, provided as context by the app root.
pub type ThemeSignal = RwSignal<Theme>;

/// Creates the theme signal and keeps `<html data-theme>` and localStorage in step with it.
pub fn provide_theme() -> ThemeSignal {
    let theme = RwSignal::new(Theme::initial());
    Effect::new(move |previous: Option<Theme>| {
        let current = theme.get();
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-theme", current.as_str());
        }
        // Only an explicit toggle is remembered; the first run just applies the initial value.
        if previous.is_some() {
            if let Some(storage) = window().local_storage().ok().flatten() {
                let _ = storage.set_item(STORAGE_KEY, current.as_str());
            }
        }
        current
    });
    provide_context(theme);
    theme
}

pub fn use_theme() -> ThemeSignal {
    expect_context::<ThemeSignal>()
}

#[component]
pub fn ThemeToggle() -> impl IntoView {
    let theme = use_theme();
    view! {
        <button
            class="icon-button"
            data-testid="theme-toggle"
            title=move || match theme.get() {
                Theme::Dark => "Switch to the light theme",
                Theme::Light => "Switch to the dark theme",
            }
            aria-label="Toggle theme"
            on:click=move |_| theme.update(|t| *t = t.toggled())
        >
            {move || match theme.get() {
                Theme::Dark => "☀",
                Theme::Light => "☾",
            }}
        </button>
    }
}
