//! The hub's two listeners as axum serves them: plain TCP (ws://, Nagle off) and TLS (wss://,
//! in [`crate::tls`]), and the peer address each connection reports to the handlers (what the
//! customers' per-address limits count).

use std::net::SocketAddr;

/// The address of a connection's peer, for ws:// and wss:// alike (the customers' limits).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

impl
    axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, crate::tls::TlsListener>>
    for Peer
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, crate::tls::TlsListener>) -> Peer {
        Peer(*stream.remote_addr())
    }
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, PlainListener>>
    for Peer
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, PlainListener>) -> Peer {
        Peer(*stream.remote_addr())
    }
}

/// ws:// connections, with Nagle off: small frames back to back must not wait for an ACK.
pub struct PlainListener(pub tokio::net::TcpListener);

impl axum::serve::Listener for PlainListener {
    type Io = tokio::net::TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (io, addr) = axum::serve::Listener::accept(&mut self.0).await;
        let _ = io.set_nodelay(true);
        (io, addr)
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        axum::serve::Listener::local_addr(&self.0)
    }
}
