//! Table tests of the description grammar and of every built-in prefix.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use gyre_core::address::UnixAddress;
use gyre_endpoints::spec::{
    ClientSpec, ServerSpec, SslServerSpec, SystemdDomain, SystemdSpec, TcpClientSpec, TcpServerSpec,
    TlsClientSpec, TlsTrust, UnixClientSpec, UnixServerSpec,
};
use gyre_endpoints::{Description, ParseErrorKind};

/// Prefix, positional arguments and keyword arguments of a description.
type Parts = (String, Vec<String>, Vec<(String, String)>);

fn parts(input: &str) -> Parts {
    let d = Description::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
    (
        d.prefix.value.clone(),
        d.args.iter().map(|t| t.value.clone()).collect(),
        d.kwargs
            .iter()
            .map(|(k, v)| (k.value.clone(), v.value.clone()))
            .collect(),
    )
}

#[test]
fn grammar_splits_escapes_and_keeps_later_equals_in_values() {
    let s = |v: &str| v.to_owned();
    let table: &[(&str, Parts)] = &[
        ("stdio", (s("stdio"), vec![], vec![])),
        ("stdio:", (s("stdio"), vec![], vec![])),
        ("tcp:80", (s("tcp"), vec![s("80")], vec![])),
        // Unescaped colons in an IPv6 address split it, as in Twisted.
        (
            "tcp:80:interface=::1",
            (
                s("tcp"),
                vec![s("80"), s(""), s("1")],
                vec![(s("interface"), s(""))],
            ),
        ),
        (
            r"tcp:80:interface=\:\:1",
            (s("tcp"), vec![s("80")], vec![(s("interface"), s("::1"))]),
        ),
        (r"unix:C\:\\sock", (s("unix"), vec![s(r"C:\sock")], vec![])),
        (r"unix:a\=b", (s("unix"), vec![s("a=b")], vec![])),
        ("x:k=a=b", (s("x"), vec![], vec![(s("k"), s("a=b"))])),
        ("x::", (s("x"), vec![s(""), s("")], vec![])),
        (
            "x:a:k=v:b",
            (s("x"), vec![s("a"), s("b")], vec![(s("k"), s("v"))]),
        ),
        ("pre=fix:a", (s("pre=fix"), vec![s("a")], vec![])),
    ];
    for (input, expected) in table {
        assert_eq!(&parts(input), expected, "{input}");
    }
}

#[test]
fn grammar_errors_name_the_part_and_its_offset() {
    let table: &[(&str, ParseErrorKind, usize)] = &[
        ("", ParseErrorKind::Empty, 0),
        (":80", ParseErrorKind::Empty, 0),
        (r"tcp:80\", ParseErrorKind::TrailingBackslash, 6),
        ("tcp:80:=x", ParseErrorKind::EmptyKey, 7),
        ("tcp:80:a=1:a=2", ParseErrorKind::DuplicateKey("a".into()), 11),
    ];
    for (input, kind, position) in table {
        let error = Description::parse(input).unwrap_err();
        assert_eq!((error.kind(), error.position()), (kind, *position), "{input}");
        assert!(
            error.to_string().contains(&format!("at byte {position}")),
            "{error}"
        );
    }
}

#[test]
fn formatting_round_trips() {
    for input in [
        r"unix:C\:\\sock:mode=660",
        "x:k=a=b",
        "x::",
        r"a\=b:c\\:d=e\:f",
        "tcp:80",
    ] {
        let parsed = Description::parse(input).unwrap();
        let again = Description::parse(&parsed.to_string()).unwrap();
        assert_eq!(parsed, again, "{input} -> {parsed}");
    }
}

fn server(input: &str) -> ServerSpec {
    let d = Description::parse(input).unwrap();
    ServerSpec::parse(&d)
        .unwrap_or_else(|e| panic!("{e}"))
        .expect("built-in")
}

fn server_error(input: &str) -> (ParseErrorKind, usize) {
    let d = Description::parse(input).unwrap();
    let e = ServerSpec::parse(&d).unwrap_err();
    (e.kind().clone(), e.position())
}

#[test]
fn server_prefixes() {
    let addr = |s: &str| s.parse::<SocketAddr>().unwrap();
    assert_eq!(
        server("tcp:8080"),
        ServerSpec::Tcp(TcpServerSpec {
            address: addr("0.0.0.0:8080"),
            backlog: 50
        })
    );
    assert_eq!(
        server("TCP:port=8080:interface=127.0.0.1:backlog=5"),
        ServerSpec::Tcp(TcpServerSpec {
            address: addr("127.0.0.1:8080"),
            backlog: 5
        })
    );
    assert_eq!(
        server(r"tcp6:443:interface=\:\:1"),
        ServerSpec::Tcp(TcpServerSpec {
            address: addr("[::1]:443"),
            backlog: 50
        })
    );
    assert_eq!(
        server("unix:/run/app.sock:mode=660:lockfile=1"),
        ServerSpec::Unix(UnixServerSpec {
            address: UnixAddress::Path("/run/app.sock".into()),
            mode: Some(0o660),
            lockfile: true,
            backlog: 50
        })
    );
    assert_eq!(
        server("unix:@gyre-test"),
        ServerSpec::Unix(UnixServerSpec {
            address: UnixAddress::Abstract(b"gyre-test".to_vec()),
            mode: None,
            lockfile: false,
            backlog: 50
        })
    );
    assert_eq!(
        server("ssl:8443:privateKey=key.pem:certKey=cert.pem:extraCertChain=chain.pem"),
        ServerSpec::Ssl(SslServerSpec {
            tcp: TcpServerSpec {
                address: addr("0.0.0.0:8443"),
                backlog: 50
            },
            private_key: PathBuf::from("key.pem"),
            cert_key: PathBuf::from("cert.pem"),
            extra_cert_chain: Some(PathBuf::from("chain.pem")),
            alpn: Vec::new(),
            client_ca: None,
            require_client_cert: false,
        })
    );
    assert_eq!(
        server("ssl:8443:privateKey=both.pem:alpn=h2,http/1.1:clientCA=ca.pem:requireClientCert=yes"),
        ServerSpec::Ssl(SslServerSpec {
            tcp: TcpServerSpec {
                address: addr("0.0.0.0:8443"),
                backlog: 50
            },
            private_key: PathBuf::from("both.pem"),
            cert_key: PathBuf::from("both.pem"),
            extra_cert_chain: None,
            alpn: vec!["h2".into(), "http/1.1".into()],
            client_ca: Some(PathBuf::from("ca.pem")),
            require_client_cert: true,
        })
    );
    assert_eq!(
        server("systemd:domain=INET6:index=2"),
        ServerSpec::Systemd(SystemdSpec {
            domain: SystemdDomain::Inet6,
            index: 2
        })
    );
    assert_eq!(server("stdio:"), ServerSpec::Stdio);
}

#[test]
fn server_errors_point_at_the_wrong_argument() {
    let invalid = |argument: &str, value: &str| (argument.to_owned(), value.to_owned());
    let table: &[(&str, usize, (String, String))] = &[
        ("tcp:http", 4, invalid("port", "http")),
        ("tcp:70000", 4, invalid("port", "70000")),
        ("tcp:80:interface=::1", 17, invalid("interface", "")),
        ("tcp:80:interface=nowhere", 17, invalid("interface", "nowhere")),
        (
            "tcp6:80:interface=127.0.0.1",
            18,
            invalid("interface", "127.0.0.1"),
        ),
        ("tcp:80:backlog=-1", 15, invalid("backlog", "-1")),
        ("unix:/s:mode=999", 13, invalid("mode", "999")),
        ("unix:/s:lockfile=maybe", 17, invalid("lockfile", "maybe")),
        ("systemd:domain=IPX:index=0", 15, invalid("domain", "IPX")),
        ("systemd:domain=INET:index=x", 26, invalid("index", "x")),
    ];
    for (input, position, (argument, value)) in table {
        match server_error(input) {
            (
                ParseErrorKind::InvalidValue {
                    argument: a,
                    value: v,
                    ..
                },
                p,
            ) => {
                assert_eq!((&a, &v, p), (argument, value, *position), "{input}")
            }
            other => panic!("{input}: {other:?}"),
        }
    }
    assert_eq!(
        server_error("tcp:80:interfase=x"),
        (ParseErrorKind::UnknownKey("interfase".into()), 7)
    );
    assert_eq!(
        server_error("tcp:80:90"),
        (ParseErrorKind::UnexpectedArgument("90".into()), 7)
    );
    assert_eq!(server_error("tcp"), (ParseErrorKind::MissingArgument("port"), 3));
    assert_eq!(
        server_error("ssl:443"),
        (ParseErrorKind::MissingArgument("privateKey"), 7)
    );
    assert_eq!(
        server_error("ssl:443:privateKey=k:requireClientCert=1"),
        (ParseErrorKind::MissingArgument("clientCA"), 39)
    );
    assert!(matches!(
        server_error("ssl:443:privateKey=k:alpn=h2,,x").0,
        ParseErrorKind::InvalidValue { argument, .. } if argument == "alpn"
    ));
    assert_eq!(
        server_error("stdio:x"),
        (ParseErrorKind::UnexpectedArgument("x".into()), 6)
    );
}

fn client(input: &str) -> ClientSpec {
    let d = Description::parse(input).unwrap();
    ClientSpec::parse(&d)
        .unwrap_or_else(|e| panic!("{e}"))
        .expect("built-in")
}

#[test]
fn client_prefixes() {
    let tcp = TcpClientSpec {
        host: "example.com".into(),
        port: 80,
        timeout: Duration::from_secs(30),
        bind_address: None,
    };
    assert_eq!(
        client("tcp:host=example.com:port=80"),
        ClientSpec::Tcp(tcp.clone())
    );
    assert_eq!(client("tcp:example.com:80"), ClientSpec::Tcp(tcp.clone()));
    assert_eq!(
        client("tcp:host=example.com:port=80:timeout=2.5:bindAddress=127.0.0.1"),
        ClientSpec::Tcp(TcpClientSpec {
            timeout: Duration::from_millis(2500),
            bind_address: Some("127.0.0.1:0".parse().unwrap()),
            ..tcp.clone()
        })
    );
    assert_eq!(
        client("tls:example.com:443:trustRoots=ca.pem:certificate=me.pem"),
        ClientSpec::Tls(TlsClientSpec {
            tcp: TcpClientSpec { port: 443, ..tcp },
            trust: TlsTrust::CaFile("ca.pem".into()),
            server_name: None,
            alpn: Vec::new(),
            certificate: Some("me.pem".into()),
            private_key: None,
        })
    );
    let Ok(ClientSpec::Tls(tls)) =
        ClientSpec::parse(&Description::parse("tls:example.com:443").unwrap()).map(Option::unwrap)
    else {
        panic!("tls: is built in");
    };
    assert_eq!(
        (&tls.trust, tls.verified_name()),
        (&TlsTrust::WebpkiRoots, "example.com")
    );
    for (input, trust, name, alpn) in [
        ("tls:h:1:systemRoots=1", TlsTrust::SystemRoots, "h", vec![]),
        (
            "tls:h:1:dangerousSkipVerification=true",
            TlsTrust::DangerousSkipVerification,
            "h",
            vec![],
        ),
        (
            r"tls:\:\:1:1:serverName=localhost:alpn=x",
            TlsTrust::WebpkiRoots,
            "localhost",
            vec!["x"],
        ),
        (r"tls:\:\:1:1", TlsTrust::WebpkiRoots, "::1", vec![]),
    ] {
        let Some(ClientSpec::Tls(tls)) = ClientSpec::parse(&Description::parse(input).unwrap()).unwrap()
        else {
            panic!("{input}");
        };
        assert_eq!(
            (&tls.trust, tls.verified_name(), &tls.alpn),
            (&trust, name, &alpn.iter().map(|s| s.to_string()).collect()),
            "{input}"
        );
    }
    assert_eq!(
        client("unix:path=/run/app.sock:timeout=1"),
        ClientSpec::Unix(UnixClientSpec {
            address: UnixAddress::Path("/run/app.sock".into()),
            timeout: Duration::from_secs(1)
        })
    );
    let error = ClientSpec::parse(&Description::parse("tcp:host=h:port=1:timeout=-3").unwrap()).unwrap_err();
    assert!(matches!(error.kind(), ParseErrorKind::InvalidValue { argument, .. } if argument == "timeout"));
    for (input, argument) in [
        (
            "tls:h:1:trustRoots=ca.pem:dangerousSkipVerification=1",
            "dangerousSkipVerification",
        ),
        ("tls:h:1:systemRoots=1:trustRoots=ca.pem", "systemRoots"),
        ("tls:h:1:serverName=", "serverName"),
        ("tls:h:1:alpn=", "alpn"),
    ] {
        let error = ClientSpec::parse(&Description::parse(input).unwrap()).unwrap_err();
        assert!(
            matches!(error.kind(), ParseErrorKind::InvalidValue { argument: a, .. } if a == argument),
            "{input}: {error}"
        );
    }
    let error = ClientSpec::parse(&Description::parse("tcp:host=:port=1").unwrap()).unwrap_err();
    assert!(matches!(error.kind(), ParseErrorKind::InvalidValue { argument, .. } if argument == "host"));
}

#[test]
fn systemd_environment_is_checked() {
    use gyre_endpoints::systemd::passed_sockets;
    assert_eq!(passed_sockets(Some("42"), Some("2"), 42), Ok(2));
    for (pid, fds) in [
        (None, Some("1")),
        (Some("41"), Some("1")),
        (Some("x"), Some("1")),
        (Some("42"), None),
        (Some("42"), Some("-1")),
    ] {
        let error = passed_sockets(pid, fds, 42).unwrap_err();
        assert!(!error.reason.is_empty(), "{pid:?} {fds:?}");
    }
}
