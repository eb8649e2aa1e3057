//! The data of the inetd services, computed without I/O: the RFC 864
//! character-generator pattern, the RFC 868 time value and the RFC 867
//! daytime line, and [`WallClock`], the source of calendar time they use
//! (so tests can fix it).

use std::rc::Rc;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use gyre_core::calendar::civil_from_days;

/// Characters per chargen line before its CRLF (RFC 864).
pub const CHARGEN_LINE: usize = 72;
/// The 95 printing ASCII characters, space included, cycle through the lines.
const PRINTABLE: usize = 95;
/// One full cycle of the pattern: 95 lines of 72 characters and CRLF.
pub const CHARGEN_CYCLE: usize = PRINTABLE * (CHARGEN_LINE + 2);

/// The whole pattern cycle. Line `n` holds 72 consecutive printing
/// characters starting one further along than line `n - 1`; line 0 starts
/// with `!`, as in the RFC's example.
pub fn chargen_cycle() -> &'static [u8] {
    static CYCLE: OnceLock<Box<[u8]>> = OnceLock::new();
    CYCLE.get_or_init(|| {
        let mut cycle = Vec::with_capacity(CHARGEN_CYCLE);
        for line in 0..PRINTABLE {
            for column in 0..CHARGEN_LINE {
                cycle.push(b' ' + ((line + 1 + column) % PRINTABLE) as u8);
            }
            cycle.extend_from_slice(b"\r\n");
        }
        cycle.into_boxed_slice()
    })
}

/// A position in the endless chargen stream.
#[derive(Debug, Clone, Default)]
pub struct ChargenPattern {
    offset: usize,
}

impl ChargenPattern {
    /// The stream from its first byte.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the next `len` bytes of the stream to `out`.
    pub fn fill(&mut self, out: &mut Vec<u8>, mut len: usize) {
        let cycle = chargen_cycle();
        out.reserve(len);
        while len > 0 {
            let take = len.min(CHARGEN_CYCLE - self.offset);
            out.extend_from_slice(&cycle[self.offset..self.offset + take]);
            self.offset = (self.offset + take) % CHARGEN_CYCLE;
            len -= take;
        }
    }
}

/// Seconds from 1900-01-01 to 1970-01-01 (RFC 868).
pub const SECONDS_1900_TO_1970: i64 = 2_208_988_800;

/// The RFC 868 time value: seconds since 1900-01-01 00:00 UTC, modulo 2³²
/// (the 32-bit field wraps in 2036; receivers are expected to unwrap it).
pub fn rfc868_time(at: SystemTime) -> u32 {
    let unix = match at.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
    };
    (unix.wrapping_add(SECONDS_1900_TO_1970) as u64 & 0xFFFF_FFFF) as u32
}

/// The RFC 867 daytime line: the time in UTC as C's `asctime` writes it
/// (`Tue Mar  4 09:05:07 2025`) and CRLF, as Twisted's `Daytime` sends.
pub fn daytime_line(at: SystemTime) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let seconds = match at.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX / 2),
        Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX / 2),
    };
    let days = seconds.div_euclid(86_400);
    let in_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let weekday = (days + 4).rem_euclid(7) as usize; // 1970-01-01 was a Thursday
    format!(
        "{} {} {day:2} {:02}:{:02}:{:02} {year}\r\n",
        DAYS[weekday],
        MONTHS[month as usize - 1],
        in_day / 3600,
        in_day / 60 % 60,
        in_day % 60
    )
}

/// Where the time services get the calendar time: the system clock, or a
/// fixed or scripted time in tests. (The reactor's `Clock` is monotonic and
/// cannot say what date it is.)
#[derive(Clone)]
pub struct WallClock(Rc<dyn Fn() -> SystemTime>);

impl WallClock {
    /// The system's real time.
    pub fn system() -> Self {
        WallClock(Rc::new(SystemTime::now))
    }

    /// Always `at`.
    pub fn fixed(at: SystemTime) -> Self {
        WallClock(Rc::new(move || at))
    }

    /// Whatever `now` answers.
    pub fn from_fn(now: impl Fn() -> SystemTime + 'static) -> Self {
        WallClock(Rc::new(now))
    }

    /// The current time.
    pub fn now(&self) -> SystemTime {
        (self.0)()
    }
}

impl Default for WallClock {
    fn default() -> Self {
        WallClock::system()
    }
}

impl std::fmt::Debug for WallClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WallClock")
    }
}

/// The longest quote the quote-of-the-day service sends (RFC 865 limits a
/// quote to 512 characters; this stays under that).
pub const MAX_QUOTE: usize = 511;
/// Twisted's default quote.
pub const DEFAULT_QUOTE: &str = "An apple a day keeps the doctor away.\r\n";

/// A quote longer than [`MAX_QUOTE`] bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct QuoteTooLong {
    /// Its length.
    pub len: usize,
}

impl std::fmt::Display for QuoteTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "a quote of {} bytes is longer than the {MAX_QUOTE} RFC 865 allows",
            self.len
        )
    }
}

impl std::error::Error for QuoteTooLong {}

/// The text of the quote-of-the-day service, checked to fit one datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote(Rc<[u8]>);

impl Quote {
    /// `text`, if it is at most [`MAX_QUOTE`] bytes.
    pub fn new(text: impl AsRef<[u8]>) -> Result<Quote, QuoteTooLong> {
        let text = text.as_ref();
        if text.len() > MAX_QUOTE {
            return Err(QuoteTooLong { len: text.len() });
        }
        Ok(Quote(Rc::from(text)))
    }

    /// The bytes sent.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl Default for Quote {
    fn default() -> Self {
        Quote(Rc::from(DEFAULT_QUOTE.as_bytes()))
    }
}
