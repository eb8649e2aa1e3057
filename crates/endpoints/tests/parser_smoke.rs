//! The stable-Rust stand-in for the `endpoint_description` fuzz target
//! (`fuzz/`): thousands of seeded pseudo-random and mutated descriptions
//! through the grammar and every built-in parser. Nothing may panic, and
//! whatever parses must re-parse equal from its formatted form.

use gyre_endpoints::Description;
use gyre_endpoints::spec::{ClientSpec, ServerSpec};

const SEEDS: &[&str] = &[
    "tcp:8080:interface=127.0.0.1:backlog=10",
    r"tcp6:443:interface=\:\:1",
    "unix:/run/app.sock:mode=660:lockfile=1",
    "unix:@abstract",
    "ssl:8443:privateKey=k.pem:certKey=c.pem:extraCertChain=x.pem",
    "systemd:domain=INET:index=0",
    "stdio:",
    "tcp:host=example.com:port=80:timeout=3:bindAddress=127.0.0.1",
    "tls:bücher.example:443:trustRoots=ca.pem:certificate=me.pem",
    r"unix:path=C\:\\x:timeout=0.5",
    "tls:h:1:systemRoots=1:alpn=h2,http/1.1:serverName=x.example",
    "ssl:0:privateKey=k:alpn=h2:clientCA=ca.pem:requireClientCert=1",
];

const PIECES: &[&str] = &[
    ":", "=", "\\", "\\:", "tcp", "port", "80", "-1", "999999", "@", "é", "\0", "::1", "1e309",
];

/// splitmix64: the test's own deterministic source of choices.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn mutate(rng: &mut Rng, input: &str) -> String {
    let mut chars: Vec<char> = input.chars().collect();
    for _ in 0..=rng.below(4) {
        let at = rng.below(chars.len() + 1);
        match rng.below(4) {
            0 if at < chars.len() => {
                chars.remove(at);
            }
            1 => chars
                .splice(at..at, PIECES[rng.below(PIECES.len())].chars())
                .for_each(drop),
            2 if at < chars.len() => chars[at] = char::from_u32(rng.next() as u32 % 0x250).unwrap_or('?'),
            _ => chars.insert(at, [':', '=', '\\'][rng.below(3)]),
        }
    }
    chars.into_iter().collect()
}

fn random(rng: &mut Rng) -> String {
    (0..rng.below(12))
        .map(|_| PIECES[rng.below(PIECES.len())])
        .collect()
}

/// What the fuzz target checks for one input; returns whether it parsed.
fn check(input: &str) -> bool {
    let Ok(description) = Description::parse(input) else {
        return false;
    };
    let formatted = description.to_string();
    let again = Description::parse(&formatted).unwrap_or_else(|e| panic!("{input:?} -> {formatted:?}: {e}"));
    assert_eq!(description, again, "{input:?} -> {formatted:?}");
    let _ = ServerSpec::parse(&description);
    let _ = ClientSpec::parse(&description);
    true
}

#[test]
fn thousands_of_inputs_never_panic_and_round_trip() {
    let mut rng = Rng(0x6779_7265);
    let mut parsed = 0;
    let mut total = 0;
    for round in 0..4000 {
        let input = if round % 4 == 0 {
            random(&mut rng)
        } else {
            let seed = SEEDS[rng.below(SEEDS.len())];
            mutate(&mut rng, seed)
        };
        total += 1;
        parsed += usize::from(check(&input));
    }
    for seed in SEEDS {
        assert!(check(seed), "{seed}");
    }
    // The mix exercises both sides of the grammar.
    assert!(parsed > total / 4 && parsed < total, "{parsed} of {total} parsed");
}
