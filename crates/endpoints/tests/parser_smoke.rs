//! The stable-Rust stand-in for the `endpoint_description` fuzz target
//! (`fuzz/`): thousands of seeded pseudo-random and mutated descriptions
//! through the grammar and every built-in parser. Nothing may panic, and
//! whatever parses must re-parse equal from its formatted form.

use gyre_endpoints::Description;
use gyre_endpoints::spec::{ClientSpec, ServerSpec};
use gyre_testing::fuzz_smoke::run_smoke;

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
    let seeds: Vec<&[u8]> = SEEDS.iter().map(|seed| seed.as_bytes()).collect();
    let pieces: Vec<&[u8]> = PIECES.iter().map(|piece| piece.as_bytes()).collect();
    let (mut parsed, mut total) = (0, 0);
    run_smoke(0x6779_7265, 4000, &seeds, &pieces, |input| {
        // Descriptions are text: mutations that break UTF-8 become U+FFFD.
        total += 1;
        parsed += usize::from(check(&String::from_utf8_lossy(input)));
    });
    for seed in SEEDS {
        assert!(check(seed), "{seed}");
    }
    // The mix exercises both sides of the grammar.
    assert!(parsed > total / 4 && parsed < total, "{parsed} of {total} parsed");
}
