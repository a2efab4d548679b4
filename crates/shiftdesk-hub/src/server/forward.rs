//! A websocket this hub serves, or forwards to the hub that writes ([`crate::gateway`]).

use axum::extract::ws::WebSocketUpgrade;
use axum::response::Response;

use super::probes::unavailable;
use super::{AppState, LIBRARY_FRAME_LIMIT, Phase, READ_BUFFER};
use crate::gateway::{self, Route};

/// Serve a websocket here, or forward it to the hub that writes; `None`: serve it here.
pub(super) async fn forwarded(
    ws: WebSocketUpgrade,
    state: &AppState,
    path: &'static str,
    headers: &axum::http::HeaderMap,
    address: Option<std::net::IpAddr>,
) -> Result<WebSocketUpgrade, Response> {
    let writer = match state.routing.settled().await {
        Route::Local => return Ok(ws),
        Route::Forward(writer) => writer,
        Route::Unknown => {
            return Err(unavailable(
                "no hub writes to the store just now (one is taking over); try again\n".into(),
            ));
        }
        Route::Failed(why) => return Err(unavailable(format!("this hub cannot serve: {why}\n"))),
    };
    let mut phase = state.phase.clone();
    let stopping = Box::pin(async move {
        if phase.wait_for(|p| *p == Phase::Closing).await.is_err() {
            std::future::pending::<()>().await;
        }
    });
    Err(gateway::forward(
        ws,
        gateway::Forwarding {
            writer,
            path,
            headers,
            address,
            routing: state.routing.clone(),
            stopping,
            frame_limit: LIBRARY_FRAME_LIMIT,
            read_buffer: READ_BUFFER,
        },
    )
    .await)
}
