//! The content key: one random key per page load that seals the page's content for every
//! viewer the page keyed, so the page seals each frame once whatever the number of viewers and
//! the relay's late-join buffer stays readable by a viewer that joins later. Each viewer's
//! exchange only wraps it ([`ContentKey::wrap`], under the exchange's page-to-console key).

use alloc::vec::Vec;
use rand_core::{CryptoRng, RngCore};

use crate::schedule::session_tag;
use crate::seal::{Direction, Opener, SealError, Sealer, TAG_BYTES};

/// Bytes of a wrapped content key: the key and its tag.
pub const WRAPPED_BYTES: usize = 32 + TAG_BYTES;

/// The key the page's content is sealed under.
#[derive(Clone)]
pub struct ContentKey([u8; 32]);

impl ContentKey {
    pub fn draw(rng: &mut (impl RngCore + CryptoRng)) -> Self {
        let mut key = [0u8; 32];
        rng.fill_bytes(&mut key);
        Self(key)
    }

    /// The page's sealer of content frames in `session`.
    pub fn sealer(&self, session: &[u8]) -> Sealer {
        Sealer::new(&self.0, Direction::PageToConsole, session_tag(session))
    }

    /// A viewer's opener of the content frames of `session`.
    pub fn opener(&self, session: &[u8]) -> Opener {
        Opener::new(&self.0, Direction::PageToConsole, session_tag(session))
    }

    /// The key sealed for one viewer, under that viewer's exchange key, as the frame of `kind`
    /// and `seq` that carries it.
    pub fn wrap(&self, sealer: &mut Sealer, kind: u8, seq: u32) -> Result<Vec<u8>, SealError> {
        let mut out = Vec::with_capacity(WRAPPED_BYTES);
        out.extend_from_slice(&self.0);
        sealer.seal(kind, seq, &mut out, 0)?;
        Ok(out)
    }

    /// A key wrapped by [`ContentKey::wrap`], opened by the viewer.
    pub fn unwrap(
        opener: &mut Opener,
        kind: u8,
        seq: u32,
        wrapped: &[u8],
    ) -> Result<Self, SealError> {
        let mut buf = wrapped.to_vec();
        opener.open(kind, seq, &mut buf, 0)?;
        let key: [u8; 32] = buf.as_slice().try_into().map_err(|_| SealError::Tampered)?;
        Ok(Self(key))
    }
}

impl PartialEq for ContentKey {
    fn eq(&self, other: &Self) -> bool {
        subtle::ConstantTimeEq::ct_eq(&self.0[..], &other.0[..]).into()
    }
}

impl core::fmt::Debug for ContentKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("ContentKey(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Exchange, Secret, Side};
    use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};

    fn keys(seed: u64) -> (crate::Keys, crate::Keys) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let secret = Secret::draw(&mut rng);
        let (page, a) = Exchange::start(Side::Page, &secret, b"s1", &mut rng);
        let (console, b) = Exchange::start(Side::Console, &secret, b"s1", &mut rng);
        let page = page.finish(&b).unwrap();
        let console = console.finish(&a).unwrap();
        let (pc, cc) = (page.confirmation(), console.confirmation());
        (page.verify(&cc).unwrap(), console.verify(&pc).unwrap())
    }

    #[test]
    fn a_wrapped_content_key_opens_for_the_keyed_viewer_and_seals_content_it_reads() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let (mut page, mut console) = keys(2);
        let key = ContentKey::draw(&mut rng);
        let wrapped = key.wrap(&mut page.sealer, 0x1c, 3).unwrap();
        assert_eq!(wrapped.len(), WRAPPED_BYTES);
        let got = ContentKey::unwrap(&mut console.opener, 0x1c, 3, &wrapped).unwrap();
        let mut frame = b"\x10\x05page content".to_vec();
        key.sealer(b"s1").seal(0x10, 5, &mut frame, 2).unwrap();
        assert!(!frame.windows(7).any(|w| w == b"content"));
        got.opener(b"s1").open(0x10, 5, &mut frame, 2).unwrap();
        assert_eq!(frame, b"\x10\x05page content");
    }

    #[test]
    fn a_content_key_wrapped_for_another_viewer_or_altered_does_not_open() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let (mut page, _) = keys(4);
        let (_, mut stranger) = keys(5);
        let key = ContentKey::draw(&mut rng);
        let mut wrapped = key.wrap(&mut page.sealer, 0x1c, 0).unwrap();
        assert_eq!(
            ContentKey::unwrap(&mut stranger.opener, 0x1c, 0, &wrapped).unwrap_err(),
            SealError::Tampered
        );
        let (mut page, mut console) = keys(6);
        wrapped = key.wrap(&mut page.sealer, 0x1c, 0).unwrap();
        wrapped[0] ^= 1;
        assert!(ContentKey::unwrap(&mut console.opener, 0x1c, 0, &wrapped).is_err());
        // Another session's opener refuses the content.
        let mut frame = b"\x10\x05body".to_vec();
        key.sealer(b"s1").seal(0x10, 5, &mut frame, 2).unwrap();
        assert!(key.opener(b"s2").open(0x10, 5, &mut frame, 2).is_err());
    }
}
