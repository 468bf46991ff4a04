//! The seed's `AuditService` calls, one method each, on both clients: the seed's required
//! arguments in the seed's order, everything else chained on the returned [`Call`].

use super::call::{Call, IntoEventType, IntoText};
use super::{AuditClient, BufferedAuditClient};
use crate::ActionResult;

/// Written once for both clients, so the two can never drift apart.
macro_rules! seed_calls {
    ($client:ty) => {
        impl $client {
            /// `audit.log_login_success(user_id=, username=, ip_address=)`; chain
            /// `.user_agent()`, `.session_id()`, `.mfa_used()`. Stored as `auth.login.success`,
            /// `success`, `info`.
            pub fn log_login_success(
                &self,
                user_id: impl IntoText,
                username: impl IntoText,
                ip_address: impl IntoText,
            ) -> Call<'_, Self> {
                Call::new(self, "auth.login.success", Some(ActionResult::Success))
                    .user_id(user_id)
                    .username(username)
                    .ip_address(ip_address)
            }

            /// `audit.log_login_failure(username=, ip_address=, reason=)`. Stored as
            /// `auth.login.failure`, `failure`, `warning`.
            pub fn log_login_failure(
                &self,
                username: impl IntoText,
                ip_address: impl IntoText,
                reason: impl IntoText,
            ) -> Call<'_, Self> {
                Call::new(self, "auth.login.failure", Some(ActionResult::Failure))
                    .username(username)
                    .ip_address(ip_address)
                    .reason(reason)
            }

            /// `audit.log_token_issued(user_id=, username=, token_type=, ip_address=)`; chain
            /// `.expires_at()`. Stored as `auth.token.issued`, `success`, `info`.
            pub fn log_token_issued(
                &self,
                user_id: impl IntoText,
                username: impl IntoText,
                token_type: impl IntoText,
                ip_address: impl IntoText,
            ) -> Call<'_, Self> {
                Call::new(self, "auth.token.issued", Some(ActionResult::Success))
                    .user_id(user_id)
                    .username(username)
                    .token_type(token_type)
                    .ip_address(ip_address)
            }

            /// `audit.log_token_refresh(user_id=, username=, ip_address=)`. Stored as
            /// `auth.token.refresh`, `success`, `info`.
            pub fn log_token_refresh(
                &self,
                user_id: impl IntoText,
                username: impl IntoText,
                ip_address: impl IntoText,
            ) -> Call<'_, Self> {
                Call::new(self, "auth.token.refresh", Some(ActionResult::Success))
                    .user_id(user_id)
                    .username(username)
                    .ip_address(ip_address)
            }

            /// `audit.log_token_validation_failed(ip_address=, reason=)`. Stored as
            /// `auth.token.validation_failed`, `failure`, `warning`.
            pub fn log_token_validation_failed(
                &self,
                ip_address: impl IntoText,
                reason: impl IntoText,
            ) -> Call<'_, Self> {
                Call::new(
                    self,
                    "auth.token.validation_failed",
                    Some(ActionResult::Failure),
                )
                .ip_address(ip_address)
                .reason(reason)
            }

            /// `audit.log_oauth_event(event_type=, action=, action_result=)`; chain
            /// `.client_id()`, `.user_id()`, `.username()`, `.ip_address()`, `.scope()`.
            pub fn log_oauth_event(
                &self,
                event_type: impl IntoEventType,
                action: impl IntoText,
                action_result: ActionResult,
            ) -> Call<'_, Self> {
                Call::new(self, event_type, Some(action_result)).action(action)
            }

            /// `audit.log_password_changed(user_id=, username=, forced=)`; `forced` is true
            /// for an admin reset. Stored as `auth.password.changed`, `success`, `info`.
            pub fn log_password_changed(
                &self,
                user_id: impl IntoText,
                username: impl IntoText,
                forced: bool,
            ) -> Call<'_, Self> {
                Call::new(self, "auth.password.changed", Some(ActionResult::Success))
                    .user_id(user_id)
                    .username(username)
                    .forced(forced)
            }

            /// `audit.log_mfa_event(event_type=, user_id=, username=, action_result=)`; chain
            /// `.ip_address()`.
            pub fn log_mfa_event(
                &self,
                event_type: impl IntoEventType,
                user_id: impl IntoText,
                username: impl IntoText,
                action_result: ActionResult,
            ) -> Call<'_, Self> {
                Call::new(self, event_type, Some(action_result))
                    .user_id(user_id)
                    .username(username)
            }

            /// `audit.log_api_key_event(event_type=, action=, action_result=)`; chain
            /// `.user_id()`, `.username()`, `.api_key_id()`, `.api_key_name()`, `.ip_address()`.
            pub fn log_api_key_event(
                &self,
                event_type: impl IntoEventType,
                action: impl IntoText,
                action_result: ActionResult,
            ) -> Call<'_, Self> {
                Call::new(self, event_type, Some(action_result)).action(action)
            }

            /// `audit.log_auth_event(event_type=, action=, action_result=)`: any type,
            /// seed or custom (`"auth.custom.event"`); chain any field, such as
            /// `.event_data(json!({..}))`, `.severity(Severity::Error)`, `.error_message()`.
            pub fn log_auth_event(
                &self,
                event_type: impl IntoEventType,
                action: impl IntoText,
                action_result: ActionResult,
            ) -> Call<'_, Self> {
                Call::new(self, event_type, Some(action_result)).action(action)
            }
        }
    };
}

seed_calls!(AuditClient);
seed_calls!(BufferedAuditClient);
