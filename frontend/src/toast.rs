//! Toast notifications: short messages in a corner, errors kept longer than confirmations.

use std::time::Duration;

use leptos::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToastKind {
    Error,
    Info,
    Success,
}

impl ToastKind {
    fn class(self) -> &'static str {
        match self {
            ToastKind::Error => "toast toast-error",
            ToastKind::Info => "toast toast-info",
            ToastKind::Success => "toast toast-success",
        }
    }

    fn lifetime(self) -> Duration {
        match self {
            ToastKind::Error => Duration::from_secs(12),
            ToastKind::Info | ToastKind::Success => Duration::from_secs(5),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Toast {
    id: u64,
    kind: ToastKind,
    title: String,
    message: String,
}

/// The toast stack, provided as context by the app root.
#[derive(Debug, Clone, Copy)]
pub struct Toasts {
    items: RwSignal<Vec<Toast>>,
    next_id: StoredValue<u64>,
}

impl Toasts {
    pub fn new() -> Self {
        Toasts {
            items: RwSignal::new(Vec::new()),
            next_id: StoredValue::new(1),
        }
    }

    pub fn error(&self, title: impl Into<String>, message: impl Into<String>) {
        self.push(ToastKind::Error, title.into(), message.into());
    }

    pub fn info(&self, title: impl Into<String>, message: impl Into<String>) {
        self.push(ToastKind::Info, title.into(), message.into());
    }

    pub fn success(&self, title: impl Into<String>) {
        self.push(ToastKind::Success, title.into(), String::new());
    }

    fn push(&self, kind: ToastKind, title: String, message: String) {
        let id = self.next_id.get_value();
        self.next_id.set_value(id + 1);
        self.items.update(|items| {
            // The same message twice in a row (say, a retried call) shows once.
            items.retain(|t| !(t.title == title && t.message == message));
            items.push(Toast {
                id,
                kind,
                title,
                message,
            });
        });
        let this = *self;
        set_timeout(move || this.dismiss(id), kind.lifetime());
    }

    fn dismiss(&self, id: u64) {
        self.items.update(|items| items.retain(|t| t.id != id));
    }
}

impl Default for Toasts {
    fn default() -> Self {
        Self::new()
    }
}

pub fn use_toasts() -> Toasts {
    expect_context::<Toasts>()
}

#[component]
pub fn ToastStack() -> impl IntoView {
    let toasts = use_toasts();
    view! {
        <div class="toast-stack" aria-live="polite">
            <For each=move || toasts.items.get() key=|t| t.id let:toast>
                <div
                    class=toast.kind.class()
                    data-testid="toast"
                    role=if toast.kind == ToastKind::Error { "alert" } else { "status" }
                >
                    <div class="toast-body">
                        <div class="toast-title">{toast.title.clone()}</div>
                        <Show when={
                            let empty = toast.message.is_empty();
                            move || !empty
                        }>
                            <div class="toast-message">{toast.message.clone()}</div>
                        </Show>
                    </div>
                    <button
                        class="icon-button toast-close"
                        title="Dismiss"
                        aria-label="Dismiss"
                        on:click=move |_| toasts.dismiss(toast.id)
                    >
                        "×"
                    </button>
                </div>
            </For>
        </div>
    }
}
