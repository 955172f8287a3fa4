//! The modal dialog every small form shares: a backdrop (a click on it closes), a card with a
//! title and a close button, the caller's content below; Escape closes it too.

use leptos::prelude::*;

use crate::app::close_on_escape;

/// `name` names the elements: the heading is `#{name}-title`, the card is
/// `[data-testid={name}-dialog]`.
#[component]
pub fn Dialog(
    name: &'static str,
    title: &'static str,
    on_close: Callback<()>,
    /// The wide card (`modal-wide`), for forms with long text areas.
    #[prop(optional)]
    wide: bool,
    children: Children,
) -> impl IntoView {
    close_on_escape(move || on_close.run(()));
    let title_id = format!("{name}-title");
    let labelled_by = title_id.clone();
    view! {
        <div class="modal-backdrop" on:click=move |_| on_close.run(())>
            <div
                class=if wide { "card modal modal-wide" } else { "card modal" }
                role="dialog"
                aria-modal="true"
                aria-labelledby=labelled_by
                data-testid=format!("{name}-dialog")
                on:click=|ev| ev.stop_propagation()
            >
                <div class="modal-head">
                    <h2 id=title_id>{title}</h2>
                    <button class="icon-button" title="Close" on:click=move |_| on_close.run(())>
                        "×"
                    </button>
                </div>
                {children()}
            </div>
        </div>
    }
}
