//! The seeded random source: deterministic pseudo-randomness from seeds passed in.
//!
//! The room and pairing never read the OS's randomness or a clock: a command carries a seed
//! (or the runtime supplies one), and everything "random" — shuffled presenters, proposed pairs,
//! drawn prompts — is a pure function of it, so the same seed always gives the same result and
//! replaying events rebuilds the same room. Secrets (link keys, tokens) are not made here: they
//! come from the OS in [`crate::secret`].

/// A splitmix64 step: the one source of pseudo-randomness, fed by seeds passed in.
pub fn mix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Shuffle deterministically for a seed (Fisher–Yates over splitmix64).
pub fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut state = seed;
    for i in (1..items.len()).rev() {
        state = mix(state);
        let j = (state % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_shuffles_the_same_way() {
        let mut a: Vec<u32> = (0..20).collect();
        let mut b = a.clone();
        shuffle(&mut a, 7);
        shuffle(&mut b, 7);
        assert_eq!(a, b);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(
            sorted,
            (0..20).collect::<Vec<_>>(),
            "a shuffle keeps every item"
        );
    }
}
