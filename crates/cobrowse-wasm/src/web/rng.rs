//! Randomness for keys: the browser's `crypto.getRandomValues`, as the RNG `e2ee` takes.

use rand_core::{CryptoRng, Error, RngCore};

/// The browser's cryptographic RNG. Made only where `crypto` exists ([`WebRng::new`]), so it
/// never hands out bytes it did not draw.
pub struct WebRng(web_sys::Crypto);

impl WebRng {
    pub fn new() -> Option<Self> {
        web_sys::window()?.crypto().ok().map(Self)
    }
}

impl RngCore for WebRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        // Keys and SPAKE2 scalars are a few dozen bytes: far below the 65,536 bytes one call
        // may fill, the only way `getRandomValues` refuses.
        let _ = self.0.get_random_values_with_u8_array(dest);
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for WebRng {}
