//! A small in-place sort for the flush paths.
//!
//! `sort_unstable` instantiates pattern-defeating quicksort, sorting networks and a heapsort
//! fallback for every element type, kilobytes of wasm each; the flush paths sort a handful of
//! node ids per frame, so a plain heapsort (a few hundred bytes, still O(n log n) with no
//! allocation) is the better trade for the customer's package.

/// Sorts `v` ascending by `key` (unstable: equal keys may be reordered).
pub fn sort_by_key<T, K: Ord>(v: &mut [T], key: impl Fn(&T) -> K) {
    // Flushes mostly find ids already in order (recorded in document order): one pass then.
    if v.windows(2).all(|w| key(&w[0]) <= key(&w[1])) {
        return;
    }
    let sift = |v: &mut [T], mut root: usize, end: usize| loop {
        let mut child = 2 * root + 1;
        if child >= end {
            break;
        }
        if child + 1 < end && key(&v[child]) < key(&v[child + 1]) {
            child += 1;
        }
        if key(&v[root]) >= key(&v[child]) {
            break;
        }
        v.swap(root, child);
        root = child;
    };
    let len = v.len();
    for root in (0..len / 2).rev() {
        sift(v, root, len);
    }
    for end in (1..len).rev() {
        v.swap(0, end);
        sift(v, 0, end);
    }
}

#[cfg(test)]
mod tests {
    use super::sort_by_key;

    #[test]
    fn sorts_like_the_standard_sort_for_every_small_length_and_shape() {
        let mut seed = 0x2545_f491_u32;
        for len in 0..70 {
            for shape in 0..4 {
                let input: Vec<u32> = (0..len)
                    .map(|i| match shape {
                        0 => i,
                        1 => len - i,
                        2 => i % 3,
                        _ => {
                            seed ^= seed << 13;
                            seed ^= seed >> 17;
                            seed ^= seed << 5;
                            seed % 50
                        }
                    })
                    .collect();
                let mut ours = input.clone();
                sort_by_key(&mut ours, |x| *x);
                let mut std = input;
                std.sort_unstable();
                assert_eq!(ours, std);
            }
        }
    }

    #[test]
    fn sorts_pairs_by_the_key_alone() {
        let mut pairs = vec![(3, "c"), (1, "a"), (2, "b")];
        sort_by_key(&mut pairs, |(id, _)| *id);
        assert_eq!(pairs, vec![(1, "a"), (2, "b"), (3, "c")]);
    }
}
