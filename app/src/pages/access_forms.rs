//! The admin's forms on `/access`: a new key (shown once, with a copy button), revoking a key,
//! a new operator, and per operator a password reset and disabling. The page shows them only
//! to admins, and the server functions refuse everyone else anyway (`admin_actions`).

use leptos::form::ActionForm;
use leptos::prelude::*;

use super::admin_actions::{
    CreateApiKey, CreateOperator, DisableOperator, ResetOperatorPassword, RevokeApiKey,
};
use super::alert_status::reason;
use crate::admin_fields::{CreatedKey, MAX_NAME_CHARS, MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS};

/// The page's actions: the listing is fetched again after any of them.
#[derive(Clone, Copy)]
pub struct AccessActions {
    pub create_key: ServerAction<CreateApiKey>,
    pub revoke_key: ServerAction<RevokeApiKey>,
    pub create_operator: ServerAction<CreateOperator>,
    pub disable_operator: ServerAction<DisableOperator>,
    pub reset_password: ServerAction<ResetOperatorPassword>,
    /// What the latest key action (revoke) and operator action said, as text.
    pub key_outcome: RwSignal<Option<Result<String, String>>>,
    pub operator_outcome: RwSignal<Option<Result<String, String>>>,
}

impl AccessActions {
    pub fn new() -> Self {
        let actions = AccessActions {
            create_key: ServerAction::new(),
            revoke_key: ServerAction::new(),
            create_operator: ServerAction::new(),
            disable_operator: ServerAction::new(),
            reset_password: ServerAction::new(),
            key_outcome: RwSignal::new(None),
            operator_outcome: RwSignal::new(None),
        };
        let told = |value: Option<Result<String, ServerFnError>>| {
            value.map(|result| result.map_err(|err| reason(&err)))
        };
        Effect::new(move |_| {
            if let Some(said) = told(actions.revoke_key.value().get()) {
                actions.key_outcome.set(Some(said));
            }
        });
        for value in [
            actions.create_operator.value(),
            actions.disable_operator.value(),
            actions.reset_password.value(),
        ] {
            Effect::new(move |_| {
                if let Some(said) = told(value.get()) {
                    actions.operator_outcome.set(Some(said));
                }
            });
        }
        actions
    }

    /// Changes whenever an action completes.
    pub fn versions(&self) -> [usize; 5] {
        [
            self.create_key.version().get(),
            self.revoke_key.version().get(),
            self.create_operator.version().get(),
            self.disable_operator.version().get(),
            self.reset_password.version().get(),
        ]
    }
}

/// The latest outcome of a section's actions: what was done, or why not.
#[component]
pub fn Outcome(
    said: RwSignal<Option<Result<String, String>>>,
    testid: &'static str,
) -> impl IntoView {
    move || {
        said.get().map(|said| match said {
            Ok(done) => view! { <p class="notice" data-testid=format!("{testid}-done")>{done}</p> }
                .into_any(),
            Err(why) => view! { <p class="error" data-testid=format!("{testid}-error")>{why}</p> }
                .into_any(),
        })
    }
}

/// Clears `form` once its action `succeeded`: the next entry starts empty.
fn reset_on_success(
    form: NodeRef<leptos::html::Form>,
    succeeded: impl Fn() -> bool + Send + Sync + 'static,
) {
    Effect::new(move |_| {
        if succeeded() {
            if let Some(form) = form.get_untracked() {
                form.reset();
            }
        }
    });
}

#[component]
pub fn NewKeyForm(create: ServerAction<CreateApiKey>) -> impl IntoView {
    let form = NodeRef::<leptos::html::Form>::new();
    reset_on_success(form, move || matches!(create.value().get(), Some(Ok(_))));
    let pending = create.pending();
    view! {
        <ActionForm action=create node_ref=form>
            <div class="admin-form" data-testid="new-key-form">
                <label><span>"Name (its events' source)"</span>
                    <input name="name" required maxlength=MAX_NAME_CHARS.to_string()
                        placeholder="login-service" data-testid="new-key-name"/></label>
                <label><span>"Kind"</span>
                    <select name="kind" data-testid="new-key-kind">
                        <option value="ingest" selected>"ingest: posts events"</option>
                        <option value="read">"read: queries and follows them"</option>
                    </select></label>
                <button type="submit" data-testid="new-key-submit" disabled=move || pending.get()>
                    "Create key"</button>
            </div>
        </ActionForm>
        {move || create.value().get().map(|result| match result {
            Ok(created) => view! { <CreatedKeyNotice created/> }.into_any(),
            Err(err) => view! { <p class="error" data-testid="new-key-error">{reason(&err)}</p> }.into_any(),
        })}
    }
}

/// The new key, once: in a readonly input (selectable by hand) with a copy button.
#[component]
fn CreatedKeyNotice(created: CreatedKey) -> impl IntoView {
    let input = NodeRef::<leptos::html::Input>::new();
    let copied = RwSignal::new(None::<bool>);
    let key = created.key.clone();
    let copy = move |_| {
        select_all(input);
        copied.set(Some(browser::copy_to_clipboard(&key)));
    };
    let label = move || match copied.get() {
        None => "Copy",
        Some(true) => "Copied",
        Some(false) => "Selected: press Ctrl+C",
    };
    view! {
        <div class="created-key" data-testid="created-key">
            <p>{format!("Created {} key `{}`. It is shown only now: store it safely.",
                created.kind.as_str(), created.name)}</p>
            <div class="key-copy">
                <input readonly value=created.key node_ref=input aria-label="The new key"
                    data-testid="created-key-value" on:focus=move |_| select_all(input)/>
                <button type="button" on:click=copy data-testid="copy-key">{label}</button>
            </div>
        </div>
    }
}

fn select_all(input: NodeRef<leptos::html::Input>) {
    #[cfg(feature = "hydrate")]
    if let Some(input) = input.get_untracked() {
        input.select();
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = input;
}

/// Asks first: a revoked key never works again.
#[component]
pub fn RevokeKeyButton(name: String, revoke: ServerAction<RevokeApiKey>) -> impl IntoView {
    let question = format!(
        "Revoke key `{name}`? Whoever uses it is refused from now on, on every instance; a \
         revoked key cannot be restored."
    );
    let on_click = move |_| {
        if browser::confirmed(&question) {
            revoke.dispatch(RevokeApiKey { name: name.clone() });
        }
    };
    view! {
        <button type="button" class="danger" data-testid="revoke-key" on:click=on_click>"Revoke"</button>
    }
}

#[component]
pub fn NewOperatorForm(create: ServerAction<CreateOperator>) -> impl IntoView {
    let form = NodeRef::<leptos::html::Form>::new();
    reset_on_success(form, move || matches!(create.value().get(), Some(Ok(_))));
    let pending = create.pending();
    view! {
        <ActionForm action=create node_ref=form>
            <div class="admin-form" data-testid="new-operator-form">
                <label><span>"Username"</span>
                    <input name="username" required maxlength=MAX_NAME_CHARS.to_string()
                        autocomplete="off" data-testid="new-operator-username"/></label>
                <label><span>"Role"</span>
                    <select name="role" data-testid="new-operator-role">
                        <option value="viewer" selected>"viewer: investigates events"</option>
                        <option value="admin">"admin: also manages access"</option>
                    </select></label>
                <label><span>{format!("Password ({MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters)")}</span>
                    <input name="password" type="password" required autocomplete="new-password"
                        minlength=MIN_PASSWORD_CHARS.to_string() maxlength=MAX_PASSWORD_CHARS.to_string()
                        data-testid="new-operator-password"/></label>
                <button type="submit" data-testid="new-operator-submit" disabled=move || pending.get()>
                    "Create operator"</button>
            </div>
        </ActionForm>
    }
}

/// A new password for an operator, and disabling them (asked first: it cannot be undone here).
#[component]
pub fn OperatorActions(username: String, actions: AccessActions) -> impl IntoView {
    let form = NodeRef::<leptos::html::Form>::new();
    reset_on_success(form, move || {
        matches!(actions.reset_password.value().get(), Some(Ok(_)))
    });
    let question = format!(
        "Disable `{username}`? Their sessions end now and they cannot sign in again; only \
         `vigil users` on the server could add them back under a new name."
    );
    let target = username.clone();
    let disable = move |_| {
        if browser::confirmed(&question) {
            actions.disable_operator.dispatch(DisableOperator {
                username: target.clone(),
            });
        }
    };
    view! {
        <div class="operator-actions">
            <ActionForm action=actions.reset_password node_ref=form>
                <div class="inline-form">
                    <input type="hidden" name="username" value=username/>
                    <input name="password" type="password" required autocomplete="new-password"
                        minlength=MIN_PASSWORD_CHARS.to_string() maxlength=MAX_PASSWORD_CHARS.to_string()
                        placeholder="New password" aria-label="New password" data-testid="reset-password"/>
                    <button type="submit" data-testid="reset-submit">"Reset password"</button>
                </div>
            </ActionForm>
            <button type="button" class="danger" data-testid="disable-operator" on:click=disable>"Disable"</button>
        </div>
    }
}

/// What only a browser can do; on the server (never called there) nothing happens.
mod browser {
    #[cfg(feature = "hydrate")]
    mod clipboard {
        use wasm_bindgen::prelude::*;

        #[wasm_bindgen]
        extern "C" {
            // `navigator.clipboard` exists only in secure contexts (https, or localhost).
            #[wasm_bindgen(catch, js_namespace = ["navigator", "clipboard"], js_name = writeText)]
            pub fn write_text(text: &str) -> Result<JsValue, JsValue>;
        }
    }

    /// Whether the browser took `text` for its clipboard.
    pub fn copy_to_clipboard(text: &str) -> bool {
        #[cfg(feature = "hydrate")]
        return clipboard::write_text(text).is_ok();
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = text;
            false
        }
    }

    /// The browser's own yes/no dialog.
    pub fn confirmed(question: &str) -> bool {
        #[cfg(feature = "hydrate")]
        return leptos::prelude::window()
            .confirm_with_message(question)
            .unwrap_or(false);
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = question;
            false
        }
    }
}
