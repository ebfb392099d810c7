//! What sealing costs a frame: seal on one side plus open on the other, per frame size, beside
//! copying the same frame (the least any sender does with it), measured in the same run; and
//! one whole exchange (SPAKE2 both sides, confirmation). `cargo bench -p e2ee`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{hint::black_box, time::Instant};

use e2ee::{Code, Exchange, Keys, Side};
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};

fn keys() -> (Keys, Keys) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let code = Code::new("123456", &mut rng).unwrap();
    let (p, a) = Exchange::start(Side::Page, code.secret(), b"bench", &mut rng);
    let (c, b) = Exchange::start(Side::Console, code.secret(), b"bench", &mut rng);
    let (p, c) = (p.finish(&b).unwrap(), c.finish(&a).unwrap());
    let (pc, cc) = (p.confirmation(), c.confirmation());
    (p.verify(&cc).unwrap(), c.verify(&pc).unwrap())
}

/// The machine's load before the run, from /proc/loadavg, so a busy machine is named.
fn load() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

fn main() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let busy = load();
    println!("e2ee seal: load {busy:.2} on {cores} cores");
    let (mut page, mut console) = keys();
    let mut seq = 0u32;
    for size in [64usize, 1_024, 16 * 1_024, 256 * 1_024] {
        let body = vec![0x5au8; size];
        let rounds = (64 * 1_024 * 1_024 / size).clamp(200, 200_000);
        let mut buf = Vec::with_capacity(size + 32);

        let t = Instant::now();
        for _ in 0..rounds {
            buf.clear();
            buf.extend_from_slice(&body);
            black_box(&mut buf);
        }
        let copy = t.elapsed().as_nanos() as f64 / rounds as f64;

        let t = Instant::now();
        for _ in 0..rounds {
            seq += 1;
            buf.clear();
            buf.extend_from_slice(&body);
            page.sealer.seal(0x10, seq, &mut buf, 0).unwrap();
            console.opener.open(0x10, seq, &mut buf, 0).unwrap();
        }
        let sealed = t.elapsed().as_nanos() as f64 / rounds as f64;
        println!(
            "  {size:>7} B frame: seal+open {sealed:>10.0} ns ({:.0} MB/s), copy {copy:>8.0} ns, ratio {:.1}x, +16 B ({:.2}x bytes)",
            size as f64 / sealed * 1e3,
            sealed / copy.max(1.0),
            (size + 16) as f64 / size as f64
        );
    }
    let t = Instant::now();
    let n = 50;
    for _ in 0..n {
        black_box(keys());
    }
    println!(
        "  one exchange (both sides, confirmed): {:.2} ms",
        t.elapsed().as_secs_f64() * 1e3 / n as f64
    );
    if busy > cores * 0.5 {
        println!("  NOTE: the machine was busy (load {busy:.2}): the ratios may not mean much");
    }
}
