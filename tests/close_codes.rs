//! Every websocket the hub ends, it ends with a close handshake (PROTOCOL.md, "Close codes"):
//! a client's close frame is answered with the same code before TCP closes, a frame over 1 MiB
//! gets `1009`, and a hub that stops sends `1011 hub stopped` to every connection, logged in or
//! not. The real hub in this process, real websocket clients.

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use shiftdesk_protocol::Lang;
use shiftdesk_protocol::Role;
use shiftdesk_testkit::{Client, FRAME_TIMEOUT, add_worker, customer, hub, worker};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// One past the hub's hard frame limit (1 MiB).
const OVER_THE_LIMIT: usize = 1024 * 1024 + 1;

/// The hub's close frame: what arrives after the frames before it, or a failure that names
/// what came instead (the connection breaking or ending without one).
async fn hub_close_frame(client: &mut Client, who: &str) -> CloseFrame {
    loop {
        let next = tokio::time::timeout(FRAME_TIMEOUT, client.ws.next())
            .await
            .unwrap_or_else(|_| panic!("{who}: nothing in time"));
        match next {
            Some(Ok(Message::Close(Some(frame)))) => return frame,
            Some(Ok(Message::Close(None))) => panic!("{who}: a close frame without a code"),
            Some(Ok(_)) => {}
            Some(Err(e)) => panic!("{who}: the connection broke without a close frame: {e}"),
            None => panic!("{who}: the connection ended without a close frame"),
        }
    }
}

/// After the close handshake the hub closes TCP: the stream ends (and does not break).
async fn ends_cleanly(client: &mut Client, who: &str) {
    let next = tokio::time::timeout(FRAME_TIMEOUT, client.ws.next())
        .await
        .unwrap_or_else(|_| panic!("{who}: the hub kept the connection open"));
    assert!(next.is_none(), "{who}: {next:?}");
}

/// The client closes: the hub answers with a close frame of the same code, then closes TCP.
async fn client_close_is_answered(client: &mut Client, code: CloseCode, who: &str) {
    client
        .ws
        .close(Some(CloseFrame {
            code,
            reason: "bye".into(),
        }))
        .await
        .expect("close frame sent");
    let answer = hub_close_frame(client, who).await;
    assert_eq!(answer.code, code, "{who}: {answer:?}");
    ends_cleanly(client, who).await;
}

#[tokio::test]
async fn a_clients_close_frame_is_answered_with_the_same_code() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = add_worker(dir.path(), "ana", &[Lang::En], Role::Worker, 2);
    let hub = hub(dir.path()).await;
    let url = hub.url();

    let (mut cust, _) = customer(&url, "Carla", "en").await;
    client_close_is_answered(&mut cust, CloseCode::Normal, "customer").await;
    let (mut ana, _) = worker(&url, &token).await;
    client_close_is_answered(&mut ana, CloseCode::Away, "worker").await;
    // Before logging in, too.
    let mut anonymous = Client::connect(&url, "/ws/worker").await;
    client_close_is_answered(&mut anonymous, CloseCode::Normal, "before hello").await;

    // The worker's close was a clean one: the worker logs in again and works on.
    let (mut ana, _) = worker(&url, &token).await;
    ana.ok(json!({"type": "set_status", "status": "available"}))
        .await;
    hub.shutdown().await;
}

#[tokio::test]
async fn a_frame_over_one_mebibyte_is_closed_with_1009() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = add_worker(dir.path(), "ana", &[Lang::En], Role::Worker, 2);
    let hub = hub(dir.path()).await;
    let url = hub.url();

    // A frame a little too big: read whole, answered with 1009 and a full close handshake.
    let (mut cust, _) = customer(&url, "Carla", "en").await;
    cust.send_raw(&"x".repeat(OVER_THE_LIMIT)).await;
    let frame = hub_close_frame(&mut cust, "customer").await;
    assert_eq!(frame.code, CloseCode::Size, "{frame:?}");
    ends_cleanly(&mut cust, "customer").await;

    let (mut ana, _) = worker(&url, &token).await;
    ana.ws
        .send(Message::Binary(vec![b'x'; OVER_THE_LIMIT].into()))
        .await
        .expect("sent");
    let frame = hub_close_frame(&mut ana, "worker").await;
    assert_eq!(frame.code, CloseCode::Size, "{frame:?}");
    ends_cleanly(&mut ana, "worker").await;

    // Far too big for the hub to read: it still says 1009 before it hangs up. (The rest of
    // the frame may still be on its way: whether the send completes is up to TCP.)
    let (mut cust, _) = customer(&url, "Dora", "en").await;
    let _ = cust
        .ws
        .send(Message::Text("x".repeat(8 * OVER_THE_LIMIT).into()))
        .await;
    let frame = hub_close_frame(&mut cust, "customer, 8 MiB").await;
    assert_eq!(frame.code, CloseCode::Size, "{frame:?}");

    // Frames up to the limit are not closed: the hub answers them (here: too large for a
    // command, which is an error frame on an open connection).
    let (mut cust, _) = customer(&url, "Elsa", "en").await;
    cust.send_raw(&"x".repeat(OVER_THE_LIMIT - 1)).await;
    let error = cust.until_type("error").await;
    assert_eq!(error["code"], "too_large", "{error}");
    cust.ok(json!({"type": "message", "text": "still here"}))
        .await;
    hub.shutdown().await;
}

#[tokio::test]
async fn shutdown_closes_every_connection_with_1011_hub_stopped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = add_worker(dir.path(), "ana", &[Lang::En], Role::Worker, 2);
    let hub = hub(dir.path()).await;
    let url = hub.url();
    let (mut ana, _) = worker(&url, &token).await;
    let (mut cust, _) = customer(&url, "Carla", "en").await;
    let mut anonymous = Client::connect(&url, "/ws/customer").await;

    // The clients must read to answer the hub's close frames; the shutdown waits for them.
    let stopping = tokio::spawn(hub.shutdown());
    for (client, who) in [
        (&mut ana, "worker"),
        (&mut cust, "customer"),
        (&mut anonymous, "before start"),
    ] {
        let frame = hub_close_frame(client, who).await;
        assert_eq!(u16::from(frame.code), 1011, "{who}: {frame:?}");
        assert_eq!(frame.reason.as_str(), "hub stopped", "{who}: {frame:?}");
        ends_cleanly(client, who).await;
    }
    stopping.await.expect("the hub stopped");
    // Not accepting any more.
    let refused = shiftdesk_client::connect(&format!("{url}/ws/customer"), None).await;
    assert!(refused.is_err(), "a stopped hub accepted a connection");
}
