//! Prev / Next under a paged list, and where the page sits in the total ("26–50 of 120").
//! Shown only when there is more than one page. `test_id` prefixes the test ids
//! (`<prefix>-pager`, `-prev`, `-next`).

use leptos::prelude::*;

/// Where a list is: the first row's offset, the page size, rows on this page, rows in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub offset: u64,
    pub limit: u64,
    pub shown: u64,
    pub total: u64,
}

impl Page {
    /// The offset one page before or after this one.
    pub fn step(self, forward: bool) -> u64 {
        if forward {
            self.offset + self.limit
        } else {
            self.offset.saturating_sub(self.limit)
        }
    }
}

#[component]
pub fn Pager(
    test_id: &'static str,
    #[prop(into)] page: Signal<Page>,
    #[prop(into)] loading: Signal<bool>,
    /// Called with the offset to show.
    on_step: Callback<u64>,
) -> impl IntoView {
    let go = move |forward: bool| on_step.run(page.get_untracked().step(forward));
    view! {
        <Show when=move || page.with(|p| p.total > p.limit || p.offset > 0)>
            <div class="pager" data-testid=format!("{test_id}-pager")>
                <button class="button small" data-testid=format!("{test_id}-prev")
                    disabled=move || page.with(|p| p.offset == 0) || loading.get()
                    on:click=move |_| go(false)>
                    "‹ Prev"
                </button>
                <span class="muted small">
                    {move || {
                        let p = page.get();
                        let first = if p.shown == 0 { 0 } else { p.offset + 1 };
                        format!("{first}–{} of {}", p.offset + p.shown, p.total)
                    }}
                </span>
                <button class="button small" data-testid=format!("{test_id}-next")
                    disabled=move || page.with(|p| p.offset + p.limit >= p.total) || loading.get()
                    on:click=move |_| go(true)>
                    "Next ›"
                </button>
            </div>
        </Show>
    }
}
