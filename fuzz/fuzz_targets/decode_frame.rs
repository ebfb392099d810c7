//! Fuzz target: decoding untrusted bytes as a frame must never panic, and whatever decodes
//! must re-encode to a frame that decodes to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::{Envelope, Frame, Limits};

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let _ = Envelope::peek(data, &limits);
    if let Ok(frame) = Frame::decode(data, &limits) {
        if let Ok(bytes) = frame.encode() {
            assert_eq!(Frame::decode(&bytes, &limits).ok(), Some(frame));
        }
    }
});
