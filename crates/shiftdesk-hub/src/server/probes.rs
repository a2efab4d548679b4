//! What the hub answers its orchestrator and its monitoring: `/healthz`, `/readyz` and
//! `/metrics`, for a hub that writes and for one that forwards ([`crate::gateway`]).

use axum::extract::State;
use axum::response::{IntoResponse, Json, Response};
use tokio::sync::oneshot;

use super::AppState;
use crate::engine::EngineMsg;
use crate::gateway::Route;
use crate::metrics::HubMetrics;
use crate::store::hash_token;

/// What a hub that does not write says of itself: `None` when it writes.
fn gateway_status(state: &AppState) -> Option<serde_json::Value> {
    let (role, writer) = match state.routing.current() {
        Route::Local => return None,
        Route::Forward(w) => ("gateway", Some(w.url.to_string())),
        Route::Unknown(_) => ("gateway", None),
        Route::Failed(_) => ("failed", None),
    };
    // A standby that has read the log follows it, and takes over at once when it must.
    let standby = if state.metrics.log_read() {
        "following"
    } else {
        "reading the log"
    };
    Some(serde_json::json!({"status": "ok", "role": role, "writer": writer, "standby": standby}))
}

pub(super) async fn healthz(State(state): State<AppState>) -> Response {
    if let Some(status) = gateway_status(&state) {
        return Json(status).into_response();
    }
    let (reply, rx) = oneshot::channel();
    if state
        .engine
        .send(EngineMsg::Health { reply })
        .await
        .is_err()
    {
        return (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "engine stopped",
        )
            .into_response();
    }
    match rx.await {
        Ok(health) => Json(health).into_response(),
        Err(_) => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "engine stopped",
        )
            .into_response(),
    }
}

/// How long `/metrics` and `/readyz` wait for the engine before saying it does not answer.
const ENGINE_ANSWER: std::time::Duration = std::time::Duration::from_secs(5);

/// Ask the engine something; `None` when it has stopped or does not answer in time.
async fn ask_engine<T>(
    state: &AppState,
    message: impl FnOnce(oneshot::Sender<T>) -> EngineMsg,
) -> Option<T> {
    let (reply, rx) = oneshot::channel();
    let asked = async {
        state.engine.send(message(reply)).await.ok()?;
        rx.await.ok()
    };
    tokio::time::timeout(ENGINE_ANSWER, asked)
        .await
        .ok()
        .flatten()
}

pub(super) fn unavailable(why: String) -> Response {
    (axum::http::StatusCode::SERVICE_UNAVAILABLE, why).into_response()
}

/// Prometheus's scrape: every metric in the text exposition format, the gauges read from the
/// engine now. With a metrics token, only for `Authorization: Bearer <token>`.
pub(super) async fn metrics_text(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Response {
    if let Some(expected) = &state.metrics_token {
        let given = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|token| hash_token(token.trim()));
        if given.as_deref() != Some(&**expected) {
            return (
                axum::http::StatusCode::UNAUTHORIZED,
                [(
                    axum::http::header::WWW_AUTHENTICATE,
                    "Bearer realm=\"shiftdesk metrics\"",
                )],
                "/metrics needs the hub's metrics token: Authorization: Bearer <token>\n",
            )
                .into_response();
        }
    }
    // A hub that forwards has no gauges of its own: the writing hub's are the store's.
    let writing = state.routing.current() == Route::Local;
    state.metrics.set_writing(writing);
    if writing {
        let Some(gauges) = ask_engine(&state, |reply| EngineMsg::Gauges { reply }).await else {
            return unavailable("the engine does not answer\n".into());
        };
        state.metrics.set_gauges(&gauges);
    }
    (
        [(axum::http::header::CONTENT_TYPE, HubMetrics::content_type())],
        state.metrics.render(),
    )
        .into_response()
}

/// Ready to serve: the engine answers, the last write to the event log succeeded, and the store
/// would take a write now ([`StoreProbe`]). Otherwise 503 and the reason.
pub(super) async fn readyz(State(state): State<AppState>) -> Response {
    match state.routing.current() {
        Route::Local => {}
        Route::Forward(w) => {
            return format!("ready: forwarding to the writing hub at {}\n", w.url).into_response();
        }
        Route::Unknown(why) => {
            return unavailable(format!("not ready: {}\n", why.explain()));
        }
        Route::Failed(why) => return unavailable(format!("not ready: {why}\n")),
    }
    if ask_engine(&state, |reply| EngineMsg::Health { reply })
        .await
        .is_none()
    {
        return unavailable("not ready: the engine does not answer\n".into());
    }
    if let Some(e) = state.metrics.store_error() {
        return unavailable(format!(
            "not ready: the last write to the event log failed: {e}\n"
        ));
    }
    match state.store_probe.check().await {
        Ok(()) => "ready\n".into_response(),
        Err(e) => unavailable(format!("not ready: {e}\n")),
    }
}
