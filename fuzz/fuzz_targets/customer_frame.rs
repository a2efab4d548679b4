//! `decode_customer` on arbitrary text: it never panics, every error is a value a client can act
//! on, and a frame it accepts survives re-encoding and decoding unchanged.
//!
//! Bytes that are not UTF-8 are decoded lossily first (a websocket text message is UTF-8, but
//! the fuzzer's bytes need not be).

#![no_main]

use libfuzzer_sys::fuzz_target;
use shiftdesk_protocol::{DecodeError, ErrorCode, MAX_FRAME_BYTES, MAX_ID_BYTES, decode_customer};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let frame = match decode_customer(&text) {
        Ok(frame) => frame,
        Err(e) => return check_error(&e),
    };
    assert!(
        !frame.id.is_empty() && frame.id.len() <= MAX_ID_BYTES,
        "accepted id {:?}",
        frame.id
    );
    let encoded = serde_json::to_string(&frame).expect("a decoded frame re-encodes");
    match decode_customer(&encoded) {
        Ok(again) => assert_eq!(again, frame, "re-encoded as {encoded}"),
        // Re-encoding writes defaulted fields (`"name":null`, `"resume":null`) the input left out, so a frame
        // just under the limit can come back just over it. The hub never re-encodes a client's
        // frame, so this is allowed.
        Err(e) if e.code == ErrorCode::TooLarge && encoded.len() > MAX_FRAME_BYTES => {}
        Err(e) => panic!("{text:?} decoded, but its re-encoding {encoded:?} did not: {e}"),
    }
});

fn check_error(e: &DecodeError) {
    assert!(!e.message.is_empty(), "{e:?}");
    if let Some(id) = &e.id {
        // The hub echoes this id in its error frame.
        assert!(!id.is_empty() && id.len() <= MAX_ID_BYTES, "{e:?}");
    }
}
