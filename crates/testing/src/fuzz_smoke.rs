//! Seeded, deterministic input generation for the stable-Rust smoke
//! versions of the fuzz targets (`fuzz/`): CI runs on stable without
//! libFuzzer, so each parser also gets a test that pushes thousands of
//! mutated and random inputs through it. The inputs are the same on every
//! run, so a failure reproduces.

/// splitmix64: a tiny deterministic pseudo-random source (not for crypto).
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A source whose sequence is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 pseudo-random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` must not be 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// One of `items` (which must not be empty).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// `input` with one to four random edits: a byte removed, a byte replaced,
/// a random byte inserted, or one of `pieces` spliced in (pass the
/// protocol's interesting tokens: delimiters, length fields, magic values).
pub fn mutate_bytes(rng: &mut SplitMix64, input: &[u8], pieces: &[&[u8]]) -> Vec<u8> {
    let mut bytes = input.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(4) {
            0 if at < bytes.len() => {
                bytes.remove(at);
            }
            1 if !pieces.is_empty() => {
                let piece = *rng.pick(pieces);
                bytes.splice(at..at, piece.iter().copied());
            }
            2 if at < bytes.len() => bytes[at] = rng.next_u64() as u8,
            _ => bytes.insert(at, rng.next_u64() as u8),
        }
    }
    bytes
}

/// Up to `max_pieces` of `pieces` concatenated at random.
pub fn random_bytes(rng: &mut SplitMix64, pieces: &[&[u8]], max_pieces: usize) -> Vec<u8> {
    (0..rng.below(max_pieces + 1))
        .flat_map(|_| rng.pick(pieces).iter().copied())
        .collect()
}

/// `rounds` inputs: three in four are mutations of a seed, one in four is
/// random pieces. Each is passed to `check`, which is where the target's
/// assertions live.
pub fn run_smoke(seed: u64, rounds: usize, seeds: &[&[u8]], pieces: &[&[u8]], mut check: impl FnMut(&[u8])) {
    let mut rng = SplitMix64::new(seed);
    for round in 0..rounds {
        let input = if round % 4 == 0 || seeds.is_empty() {
            random_bytes(&mut rng, pieces, 12)
        } else {
            let base = *rng.pick(seeds);
            mutate_bytes(&mut rng, base, pieces)
        };
        check(&input);
    }
    for seed_input in seeds {
        check(seed_input);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sequence_is_fixed_by_the_seed() {
        let mut a = SplitMix64::new(7);
        let mut b = SplitMix64::new(7);
        let drawn: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        assert_eq!(drawn, (0..5).map(|_| b.next_u64()).collect::<Vec<_>>());
        assert_ne!(drawn[0], drawn[1]);
    }

    #[test]
    fn mutations_change_the_input_and_cover_every_seed() {
        let mut rng = SplitMix64::new(1);
        let changed = (0..100)
            .filter(|_| mutate_bytes(&mut rng, b"hello world", &[b"\r\n"]) != b"hello world")
            .count();
        assert!(changed > 90, "{changed}");
        let mut seen = Vec::new();
        run_smoke(3, 40, &[b"a", b"b"], &[b"x"], |input| seen.push(input.to_vec()));
        assert_eq!(seen.len(), 42);
        assert!(seen.ends_with(&[b"a".to_vec(), b"b".to_vec()]));
    }
}
