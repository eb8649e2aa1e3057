//! The inetd services without a network: the RFC 864 pattern, RFC 868
//! values and RFC 867 lines for known dates, quotes, the TCP protocols on
//! the string transport (echo's and chargen's flow control included, echo
//! at every chunk size) and the UDP protocols on the memory reactor.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use gyre_core::Address;
use gyre_core::interfaces::ReactorUdp;
use gyre_protocols::inetd::{
    CHARGEN_CHUNK, CHARGEN_CYCLE, ChargenPattern, MAX_CHARGEN_DATAGRAM, Quote, Service, UdpChargen,
    WallClock, chargen_cycle, daytime_line, may_answer, rfc868_time,
};
use gyre_testing::{
    MemoryReactor, StringTransportWithDisconnection, assert_chunking_invariant, feed_chunked,
};

fn at(seconds: i64) -> SystemTime {
    if seconds >= 0 {
        UNIX_EPOCH + Duration::from_secs(seconds as u64)
    } else {
        UNIX_EPOCH - Duration::from_secs(seconds.unsigned_abs())
    }
}

#[test]
fn chargen_lines_follow_rfc_864() {
    let cycle = chargen_cycle();
    assert_eq!(cycle.len(), CHARGEN_CYCLE);
    let lines: Vec<&[u8]> = cycle.split_inclusive(|&b| b == b'\n').collect();
    assert_eq!(lines.len(), 95);
    assert_eq!(
        lines[0],
        &b"!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefgh\r\n"[..],
        "the RFC's first line"
    );
    assert_eq!(
        lines[1],
        &b"\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghi\r\n"[..]
    );
    for pair in lines.windows(2).chain([[lines[94], lines[0]].as_slice()]) {
        assert_eq!(pair[0].len(), 74);
        assert_eq!(
            pair[0][1..72],
            pair[1][..71],
            "each line starts one character later"
        );
        assert!(pair[0][..72].iter().all(|b| (0x20..0x7f).contains(b)));
    }
    assert!(cycle.contains(&b' '), "space is one of the 95");
}

#[test]
fn the_pattern_continues_across_fills_of_any_size() {
    let mut whole = Vec::new();
    ChargenPattern::new().fill(&mut whole, 3 * CHARGEN_CYCLE + 17);
    assert_eq!(&whole[..CHARGEN_CYCLE], chargen_cycle());
    assert_eq!(&whole[CHARGEN_CYCLE..2 * CHARGEN_CYCLE], chargen_cycle());
    assert_chunking_invariant(&whole, |chunks| {
        let mut pattern = ChargenPattern::new();
        let mut out = Vec::new();
        for chunk in chunks {
            pattern.fill(&mut out, chunk.len());
        }
        out
    });
}

#[test]
fn rfc_868_values() {
    assert_eq!(rfc868_time(at(0)), 2_208_988_800, "1970-01-01");
    assert_eq!(rfc868_time(at(-2_208_988_800)), 0, "1900-01-01");
    // The RFC's examples: 2,398,291,200 is 1976-01-01, 2,524,521,600 is 1980-01-01.
    assert_eq!(rfc868_time(at(189_302_400)), 2_398_291_200);
    assert_eq!(rfc868_time(at(315_532_800)), 2_524_521_600);
    // 2036-02-07 06:28:16 UTC: the 32-bit field wraps to 0.
    assert_eq!(rfc868_time(at(2_085_978_496)), 0);
    assert_eq!(rfc868_time(at(2_085_978_497)), 1);
}

#[test]
fn daytime_lines_are_asctime_in_utc() {
    assert_eq!(daytime_line(at(0)), "Thu Jan  1 00:00:00 1970\r\n");
    assert_eq!(
        daytime_line(at(951_782_400 + 3_723)),
        "Tue Feb 29 01:02:03 2000\r\n"
    );
    assert_eq!(daytime_line(at(1_234_567_890)), "Fri Feb 13 23:31:30 2009\r\n");
    assert_eq!(daytime_line(at(-1)), "Wed Dec 31 23:59:59 1969\r\n");
    assert_eq!(daytime_line(at(4_102_444_800)), "Fri Jan  1 00:00:00 2100\r\n");
}

#[test]
fn quotes_must_fit_a_datagram() {
    assert!(Quote::new([b'q'; 511]).is_ok());
    assert_eq!(Quote::new([b'q'; 512]).unwrap_err().len, 512);
    assert_eq!(
        Quote::default().as_bytes(),
        b"An apple a day keeps the doctor away.\r\n"
    );
}

fn tcp(
    service: Service,
    clock: &WallClock,
) -> StringTransportWithDisconnection<Box<dyn gyre_core::Protocol>> {
    let factory = service.tcp_factory(clock, &Quote::new("Hello.\r\n").unwrap());
    StringTransportWithDisconnection::new(factory.build_protocol(&gyre_testing::default_peer()).unwrap())
}

#[test]
fn one_shot_tcp_services_answer_and_close() {
    let clock = WallClock::fixed(at(1_234_567_890));
    let time = tcp(Service::Time, &clock);
    assert_eq!(time.value(), (1_234_567_890u32 + 2_208_988_800).to_be_bytes());
    assert!(!time.is_connected());
    assert_eq!(
        tcp(Service::Daytime, &clock).value(),
        b"Fri Feb 13 23:31:30 2009\r\n"
    );
    assert_eq!(tcp(Service::Qotd, &clock).value(), b"Hello.\r\n");
    let mut discard = tcp(Service::Discard, &clock);
    discard.data_received(b"into the void");
    assert_eq!(discard.value(), b"");
    assert!(discard.is_connected());
}

#[test]
fn echo_at_every_chunk_size() {
    let input: Vec<u8> = (0..300u32).map(|i| (i * 7 % 256) as u8).collect();
    let run = feed_chunked(|| gyre_protocols::inetd::Echo, &input);
    assert_eq!(run.written, input);
}

#[test]
fn echo_stops_reading_while_its_answer_waits() {
    let mut echo = tcp(Service::Echo, &WallClock::system());
    let marks = echo.transport().water_marks();
    echo.data_received(&vec![b'e'; marks.high]);
    assert!(!echo.transport().is_reading_paused());
    echo.data_received(b"one more");
    assert!(
        echo.transport().is_reading_paused(),
        "paused above the high-water mark"
    );
    assert_eq!(echo.transport().take().len(), marks.high + 8);
    assert!(!echo.transport().is_reading_paused(), "resumed once drained");
}

#[test]
fn chargen_writes_only_when_asked_and_keeps_the_pattern() {
    let mut chargen = tcp(Service::Chargen, &WallClock::system());
    chargen.data_received(b"ignored");
    let mut received = Vec::new();
    for _ in 0..10 {
        let chunk = chargen.transport().value();
        assert_eq!(
            chunk.len(),
            CHARGEN_CHUNK,
            "one chunk per request: the buffer stays bounded"
        );
        received.extend(chargen.transport().take()); // a drain asks for the next chunk
    }
    let mut expected = Vec::new();
    ChargenPattern::new().fill(&mut expected, 10 * CHARGEN_CHUNK);
    assert_eq!(received, expected);
    chargen.peer_closed();
    assert!(
        chargen.transport().producer().is_none(),
        "the producer is gone with the connection"
    );
}

fn udp(text: &str) -> Address {
    Address::udp(text.parse().unwrap())
}

#[test]
fn udp_services_answer_each_datagram_once() {
    let reactor = MemoryReactor::new();
    let clock = WallClock::fixed(at(0));
    let quote = Quote::default();
    for service in Service::ALL {
        reactor
            .listen_udp(
                "127.0.0.1:0".parse().unwrap(),
                service.udp_protocol(&clock, &quote),
            )
            .unwrap();
    }
    let ports = reactor.udp_ports();
    let client = udp("127.0.0.1:40000");
    let answers: Vec<Vec<(Vec<u8>, Address)>> = ports
        .iter()
        .map(|port| {
            port.port.deliver(b"hello", &client);
            port.port.take_sent()
        })
        .collect();
    assert_eq!(answers[0], [(b"hello".to_vec(), client.clone())], "echo");
    assert!(answers[1].is_empty(), "discard");
    assert_eq!(answers[2].len(), 1, "chargen");
    assert!(answers[2][0].0.len() <= MAX_CHARGEN_DATAGRAM);
    assert_eq!(
        answers[3],
        [(Quote::default().as_bytes().to_vec(), client.clone())],
        "qotd"
    );
    assert_eq!(
        answers[4],
        [(b"Thu Jan  1 00:00:00 1970\r\n".to_vec(), client.clone())],
        "daytime"
    );
    assert_eq!(
        answers[5],
        [(2_208_988_800u32.to_be_bytes().to_vec(), client)],
        "time"
    );
}

#[test]
fn udp_chargen_lengths_vary_within_512_and_the_pattern_runs_on() {
    let reactor = MemoryReactor::new();
    reactor
        .listen_udp("127.0.0.1:0".parse().unwrap(), Box::new(UdpChargen::with_seed(7)))
        .unwrap();
    let port = &reactor.udp_ports()[0].port;
    let mut lengths = Vec::new();
    let mut stream = Vec::new();
    for _ in 0..200 {
        port.deliver(b"", &udp("127.0.0.1:40000"));
        let (data, _) = port.take_sent().pop().unwrap();
        lengths.push(data.len());
        stream.extend(data);
    }
    assert!(lengths.iter().all(|&len| len <= 512));
    assert!(
        lengths.iter().any(|&len| len < 100) && lengths.iter().any(|&len| len > 400),
        "{lengths:?}"
    );
    let mut expected = Vec::new();
    ChargenPattern::new().fill(&mut expected, stream.len());
    assert_eq!(stream, expected);
}

#[test]
fn udp_services_do_not_answer_the_service_ports() {
    for port in [0, 7, 9, 13, 17, 19, 37] {
        assert!(!may_answer(&udp(&format!("192.0.2.1:{port}"))));
    }
    assert!(may_answer(&udp("192.0.2.1:1024")));
    let reactor = MemoryReactor::new();
    reactor
        .listen_udp(
            "127.0.0.1:0".parse().unwrap(),
            Service::Echo.udp_protocol(&WallClock::system(), &Quote::default()),
        )
        .unwrap();
    let port = &reactor.udp_ports()[0].port;
    port.deliver(b"loop?", &udp("192.0.2.1:19"));
    assert!(port.take_sent().is_empty(), "chargen's port gets no echo");
}

#[test]
fn services_by_name_and_port() {
    for service in Service::ALL {
        assert_eq!(Service::from_name(service.name()), Some(service));
    }
    let ports: Vec<u16> = Service::ALL.iter().map(|s| s.port()).collect();
    assert_eq!(ports, [7, 9, 19, 17, 13, 37]);
    assert_eq!(Service::from_name("finger"), None);
}
