//! Small modal questions the file actions await: "Delete these?", "Replace it?", "New name?".
//!
//! `Dialogs::ask` shows a `Question` and resolves with the button pressed (and the text typed),
//! or `None` when dismissed. The answer travels through a JS promise, so async actions simply
//! `await` it. Rendered in the page (not `window.confirm`), which browser tests can click.

use std::cell::RefCell;

use leptos::ev::SubmitEvent;
use leptos::html::Input;
use leptos::prelude::*;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

use super::use_files;
use crate::app::close_on_escape;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Primary,
    Danger,
    Plain,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    pub label: String,
    pub testid: &'static str,
    pub style: Style,
}

impl Button {
    pub fn new(label: impl Into<String>, testid: &'static str, style: Style) -> Self {
        Button {
            label: label.into(),
            testid,
            style,
        }
    }
}

/// Checks a typed value: `Err` holds what to tell the user.
pub type Validator = fn(&str) -> Result<(), String>;

#[derive(Debug, Clone)]
pub struct Question {
    pub title: String,
    pub message: String,
    /// Listed under the message (e.g. what will be deleted).
    pub items: Vec<String>,
    /// A text field, with its label and initial value.
    pub input: Option<(String, String)>,
    /// Checks the text before the first button accepts it.
    pub validate: Option<Validator>,
    /// The first button is the default (Enter); Cancel is always added.
    pub buttons: Vec<Button>,
}

impl Question {
    pub fn new(title: impl Into<String>, message: impl Into<String>) -> Self {
        Question {
            title: title.into(),
            message: message.into(),
            items: Vec::new(),
            input: None,
            validate: None,
            buttons: Vec::new(),
        }
    }

    pub fn button(mut self, label: impl Into<String>, testid: &'static str, style: Style) -> Self {
        self.buttons.push(Button::new(label, testid, style));
        self
    }

    pub fn input(mut self, label: impl Into<String>, value: impl Into<String>) -> Self {
        self.input = Some((label.into(), value.into()));
        self
    }

    pub fn validate(mut self, check: Validator) -> Self {
        self.validate = Some(check);
        self
    }

    pub fn items(mut self, items: Vec<String>) -> Self {
        self.items = items;
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub button: usize,
    pub value: String,
}

thread_local! {
    /// The promise resolver of the question on screen, and the answer it is given.
    static PENDING: RefCell<Option<js_sys::Function>> = const { RefCell::new(None) };
    static ANSWER: RefCell<Option<Answer>> = const { RefCell::new(None) };
}

#[derive(Debug, Clone, Copy)]
pub struct Dialogs {
    current: RwSignal<Option<Question>>,
}

impl Dialogs {
    pub fn new() -> Self {
        Dialogs {
            current: RwSignal::new(None),
        }
    }

    /// Shows `question` and waits for the answer (`None`: cancelled).
    pub async fn ask(self, question: Question) -> Option<Answer> {
        // A question still on screen is cancelled by the new one.
        settle(None);
        let promise = js_sys::Promise::new(&mut |resolve, _reject| {
            PENDING.with(|p| *p.borrow_mut() = Some(resolve));
        });
        self.current.set(Some(question));
        let _ = JsFuture::from(promise).await;
        ANSWER.with(|a| a.borrow_mut().take())
    }

    /// Asks a yes/no question; true when the first button was pressed.
    pub async fn confirm(self, question: Question) -> bool {
        self.ask(question).await.is_some_and(|a| a.button == 0)
    }

    fn answer(self, answer: Option<Answer>) {
        self.current.set(None);
        settle(answer);
    }
}

impl Default for Dialogs {
    fn default() -> Self {
        Self::new()
    }
}

fn settle(answer: Option<Answer>) {
    if let Some(resolve) = PENDING.with(|p| p.borrow_mut().take()) {
        ANSWER.with(|a| *a.borrow_mut() = answer);
        let _ = resolve.call0(&JsValue::NULL);
    }
}

#[component]
pub fn DialogHost() -> impl IntoView {
    let dialogs = use_files().dialogs;
    move || {
        dialogs
            .current
            .get()
            .map(|question| view! { <DialogBox question dialogs/> })
    }
}

#[component]
fn DialogBox(question: Question, dialogs: Dialogs) -> impl IntoView {
    let value = RwSignal::new(
        question
            .input
            .as_ref()
            .map(|(_, v)| v.clone())
            .unwrap_or_default(),
    );
    let error = RwSignal::new(None::<String>);
    let input = NodeRef::<Input>::new();
    let validate = question.validate;
    let has_input = question.input.is_some();
    close_on_escape(move || dialogs.answer(None));

    // Focus the field with the name selected up to its extension (like a file manager's rename).
    input.on_load(move |el| {
        request_animation_frame(move || {
            let _ = el.focus();
            let text = el.value();
            let stem = match text.rfind('.') {
                Some(i) if i > 0 => i,
                _ => text.len(),
            };
            let _ = el.set_selection_range(0, stem as u32);
        });
    });

    let choose = move |button: usize| {
        let text = value.get_untracked();
        if button == 0 && has_input {
            if let Some(check) = validate {
                if let Err(msg) = check(&text) {
                    error.set(Some(msg));
                    return;
                }
            }
        }
        dialogs.answer(Some(Answer {
            button,
            value: text,
        }));
    };
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        choose(0);
    };
    let buttons = question.buttons.clone();
    let first_focus = NodeRef::<leptos::html::Button>::new();
    if !has_input {
        first_focus.on_load(|el| request_animation_frame(move || drop(el.focus())));
    }

    view! {
        <div class="modal-backdrop" on:click=move |_| dialogs.answer(None)>
            <form
                class="card modal"
                role="dialog"
                aria-modal="true"
                data-testid="file-dialog"
                on:click=|ev| ev.stop_propagation()
                on:submit=submit
            >
                <div class="modal-head">
                    <h2>{question.title.clone()}</h2>
                    <button type="button" class="icon-button" title="Close" on:click=move |_| dialogs.answer(None)>"×"</button>
                </div>
                <Show when={
                    let empty = question.message.is_empty();
                    move || !empty
                }>
                    <p class="dialog-message">{question.message.clone()}</p>
                </Show>
                <Show when={
                    let empty = question.items.is_empty();
                    move || !empty
                }>
                    <ul class="dialog-items">
                        {question.items.iter().take(12).map(|i| view! { <li class="mono">{i.clone()}</li> }).collect_view()}
                        {(question.items.len() > 12).then(|| view! {
                            <li class="muted">{format!("… and {} more", question.items.len() - 12)}</li>
                        })}
                    </ul>
                </Show>
                {question.input.clone().map(|(label, _)| view! {
                    <label class="dialog-label">
                        {label}
                        <input
                            node_ref=input
                            data-testid="dialog-input"
                            spellcheck="false"
                            autocomplete="off"
                            prop:value=move || value.get()
                            on:input=move |ev| {
                                value.set(event_target_value(&ev));
                                error.set(None);
                            }
                        />
                    </label>
                })}
                <Show when=move || error.get().is_some()>
                    <p class="form-error" role="alert">{move || error.get().unwrap_or_default()}</p>
                </Show>
                <div class="modal-actions">
                    <span class="grow"></span>
                    <button type="button" class="button" data-testid="dialog-cancel" on:click=move |_| dialogs.answer(None)>
                        "Cancel"
                    </button>
                    {buttons.into_iter().enumerate().map(|(i, b)| {
                        let class = match b.style {
                            Style::Primary => "button primary",
                            Style::Danger => "button danger",
                            Style::Plain => "button",
                        };
                        let kind = if i == 0 { "submit" } else { "button" };
                        let node = if i == 0 { first_focus } else { NodeRef::new() };
                        view! {
                            <button
                                type=kind
                                class=class
                                data-testid=b.testid
                                node_ref=node
                                on:click=move |ev| {
                                    if i != 0 {
                                        ev.prevent_default();
                                        choose(i);
                                    }
                                }
                            >
                                {b.label}
                            </button>
                        }
                    }).collect_view()}
                </div>
            </form>
        </div>
    }
}
