//! A websocket this hub serves, or forwards to the hub that writes ([`crate::gateway`]).

use axum::extract::ws::WebSocketUpgrade;
use axum::response::Response;

use super::probes::unavailable;
use super::{AppState, LIBRARY_FRAME_LIMIT, READ_BUFFER, until_closing};
use crate::gateway::{self, Route};

/// Serve a websocket here (`Ok`, the upgrade to serve), or forward it to the hub that writes
/// (`Err`, the response: the forwarded connection, or why it cannot be).
pub(super) async fn forwarded(
    mut ws: WebSocketUpgrade,
    state: &AppState,
    path: &'static str,
    headers: &axum::http::HeaderMap,
    address: Option<std::net::IpAddr>,
) -> Result<WebSocketUpgrade, Response> {
    // A writer that has just died is still in the lease until a standby takes over (within
    // about a second): wait for that rather than turn the client away.
    let deadline = tokio::time::Instant::now() + gateway::SETTLE_WAIT;
    loop {
        let writer = match state.routing.settled().await {
            Route::Local => return Ok(ws),
            // Forwarded here by another hub, which took this one for the writer: forwarding it
            // again could go round in a circle.
            Route::Forward(writer) if state.routing.forwarded_address(headers).is_some() => {
                tracing::error!(writer = %writer.url, "a hub forwarded a connection to this one, which does not write: the writing hub's --advertise address leads to another hub");
                return Err(unavailable(format!(
                    "this hub does not write to the store, but another hub forwarded this \
                     connection here: the writing hub's advertised address {} must lead to \
                     that hub itself (check its --advertise)\n",
                    writer.url
                )));
            }
            Route::Forward(writer) => writer,
            Route::Unknown(why) => {
                return Err(unavailable(format!("{}; try again\n", why.explain())));
            }
            Route::Failed(why) => {
                return Err(unavailable(format!("this hub cannot serve: {why}\n")));
            }
        };
        let mut phase = state.phase.clone();
        let stopping = Box::pin(async move { until_closing(&mut phase).await });
        let how = gateway::Forwarding {
            writer: writer.clone(),
            path,
            headers,
            address,
            routing: state.routing.clone(),
            stopping,
            frame_limit: LIBRARY_FRAME_LIMIT,
            read_buffer: READ_BUFFER,
            metrics: state.metrics.clone(),
        };
        match gateway::forward(ws, how).await {
            Ok(response) => return Err(response),
            Err((back, why)) => {
                if !state.routing.moved_on_from(&writer, deadline).await {
                    return Err(unavailable(why));
                }
                ws = back;
            }
        }
    }
}
