//! [`DateTime`]: a date and time with a fixed UTC offset, as Twisted's
//! `DateTime` argument carries an aware `datetime.datetime`.
//!
//! The wire form is always 32 bytes:
//! `YYYY-MM-DDTHH:MM:SS.ffffff±HH:MM`. Twisted writes `+` only for offsets
//! east of UTC, so UTC itself is `-00:00`; both signs are read.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use gyre_core::calendar::{civil_from_days, days_from_civil, days_in_month};

use super::errors::ValueError;
use super::types::{Argument, DecodeContext, EncodeContext};

const MICROS_PER_DAY: i64 = 86_400_000_000;
const MICROS_PER_MINUTE: i64 = 60_000_000;

/// A date (years 1 to 9999, as Python's `datetime`), a time to the
/// microsecond, and the fixed offset from UTC of that local time.
///
/// ```
/// use gyre_protocols::amp::DateTime;
///
/// let t = DateTime::utc(2012, 1, 23, 12, 34, 56).unwrap().with_microsecond(54321).unwrap();
/// assert_eq!(t.to_string(), "2012-01-23T12:34:56.054321-00:00");
/// let paris = t.with_offset_minutes(60).unwrap();
/// assert_eq!(paris.to_string(), "2012-01-23T12:34:56.054321+01:00");
/// assert_eq!(paris.unix_micros() + 3_600_000_000, t.unix_micros());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateTime {
    year: u16,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
    microsecond: u32,
    offset_minutes: i16,
}

fn invalid(detail: impl Into<String>) -> ValueError {
    ValueError::new("DateTime", detail)
}

impl DateTime {
    /// A UTC date and time, checked (month 1–12, a day the month has,
    /// hour < 24, minute and second < 60).
    pub fn utc(year: u16, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> Result<Self, ValueError> {
        if !(1..=9999).contains(&year) {
            return Err(invalid(format!("year {year} is outside 1 to 9999")));
        }
        if !(1..=12).contains(&month)
            || day == 0
            || u32::from(day) > days_in_month(i64::from(year), u32::from(month))
        {
            return Err(invalid(format!("{year:04}-{month:02}-{day:02} is not a date")));
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err(invalid(format!(
                "{hour:02}:{minute:02}:{second:02} is not a time"
            )));
        }
        Ok(DateTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
            microsecond: 0,
            offset_minutes: 0,
        })
    }

    /// The same, with the microsecond set (below 1,000,000).
    pub fn with_microsecond(self, microsecond: u32) -> Result<Self, ValueError> {
        if microsecond >= 1_000_000 {
            return Err(invalid(format!("{microsecond} microseconds")));
        }
        Ok(DateTime { microsecond, ..self })
    }

    /// The same local date and time at another UTC offset (less than a day
    /// either way, as Python allows).
    pub fn with_offset_minutes(self, offset_minutes: i16) -> Result<Self, ValueError> {
        if offset_minutes.unsigned_abs() >= 24 * 60 {
            return Err(invalid(format!("UTC offset of {offset_minutes} minutes")));
        }
        Ok(DateTime {
            offset_minutes,
            ..self
        })
    }

    /// The instant `micros` microseconds after the Unix epoch, shown at
    /// `offset_minutes` from UTC.
    pub fn from_unix_micros(micros: i64, offset_minutes: i16) -> Result<Self, ValueError> {
        let local = micros
            .checked_add(i64::from(offset_minutes) * MICROS_PER_MINUTE)
            .ok_or_else(|| invalid("out of range"))?;
        let (days, time) = (local.div_euclid(MICROS_PER_DAY), local.rem_euclid(MICROS_PER_DAY));
        let (year, month, day) = civil_from_days(days);
        let year = u16::try_from(year).map_err(|_| invalid(format!("year {year} is outside 1 to 9999")))?;
        let seconds = time / 1_000_000;
        DateTime::utc(
            year,
            month as u8,
            day as u8,
            (seconds / 3600) as u8,
            (seconds / 60 % 60) as u8,
            (seconds % 60) as u8,
        )?
        .with_microsecond((time % 1_000_000) as u32)?
        .with_offset_minutes(offset_minutes)
    }

    /// A system time, in UTC.
    pub fn from_system_time(time: SystemTime) -> Result<Self, ValueError> {
        let micros = match time.duration_since(UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_micros()),
            Err(before) => i64::try_from(before.duration().as_micros()).map(|m| -m),
        }
        .map_err(|_| invalid("out of range"))?;
        DateTime::from_unix_micros(micros, 0)
    }

    /// Microseconds since the Unix epoch (negative before it).
    pub fn unix_micros(&self) -> i64 {
        let days = days_from_civil(i64::from(self.year), u32::from(self.month), u32::from(self.day));
        let seconds = i64::from(self.hour) * 3600 + i64::from(self.minute) * 60 + i64::from(self.second);
        days * MICROS_PER_DAY + seconds * 1_000_000 + i64::from(self.microsecond)
            - i64::from(self.offset_minutes) * MICROS_PER_MINUTE
    }

    /// The instant as a system time.
    pub fn to_system_time(&self) -> SystemTime {
        let micros = self.unix_micros();
        let magnitude = Duration::from_micros(micros.unsigned_abs());
        if micros >= 0 {
            UNIX_EPOCH + magnitude
        } else {
            UNIX_EPOCH - magnitude
        }
    }

    /// The year (1–9999).
    pub fn year(&self) -> u16 {
        self.year
    }
    /// The month (1–12).
    pub fn month(&self) -> u8 {
        self.month
    }
    /// The day of the month (from 1).
    pub fn day(&self) -> u8 {
        self.day
    }
    /// The hour (0–23).
    pub fn hour(&self) -> u8 {
        self.hour
    }
    /// The minute (0–59).
    pub fn minute(&self) -> u8 {
        self.minute
    }
    /// The second (0–59).
    pub fn second(&self) -> u8 {
        self.second
    }
    /// The microsecond (0–999,999).
    pub fn microsecond(&self) -> u32 {
        self.microsecond
    }
    /// Minutes east of UTC (negative west of it).
    pub fn offset_minutes(&self) -> i16 {
        self.offset_minutes
    }
}

impl fmt::Display for DateTime {
    /// Twisted's wire form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.offset_minutes > 0 { '+' } else { '-' };
        let offset = self.offset_minutes.unsigned_abs();
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}{sign}{:02}:{:02}",
            self.year,
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second,
            self.microsecond,
            offset / 60,
            offset % 60
        )
    }
}

impl FromStr for DateTime {
    type Err = ValueError;

    /// Twisted's wire form, strictly: 32 characters, digits where digits go.
    fn from_str(text: &str) -> Result<Self, ValueError> {
        let bytes = text.as_bytes();
        let malformed = || invalid(format!("{text:?} is not YYYY-MM-DDTHH:MM:SS.ffffff±HH:MM"));
        if bytes.len() != 32 {
            return Err(malformed());
        }
        let separators = [
            (4, b'-'),
            (7, b'-'),
            (10, b'T'),
            (13, b':'),
            (16, b':'),
            (19, b'.'),
            (29, b':'),
        ];
        if separators.iter().any(|&(at, byte)| bytes[at] != byte) {
            return Err(malformed());
        }
        let number = |from: usize, to: usize| -> Result<u32, ValueError> {
            let digits = &bytes[from..to];
            if !digits.iter().all(u8::is_ascii_digit) {
                return Err(malformed());
            }
            Ok(digits.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
        };
        let negative = match bytes[26] {
            b'+' => false,
            b'-' => true,
            _ => return Err(malformed()),
        };
        let offset = i16::try_from(number(27, 29)? * 60 + number(30, 32)?).map_err(|_| malformed())?;
        if number(30, 32)? > 59 {
            return Err(malformed());
        }
        DateTime::utc(
            number(0, 4)? as u16,
            number(5, 7)? as u8,
            number(8, 10)? as u8,
            number(11, 13)? as u8,
            number(14, 16)? as u8,
            number(17, 19)? as u8,
        )?
        .with_microsecond(number(20, 26)?)?
        .with_offset_minutes(if negative { -offset } else { offset })
    }
}

/// Twisted's `DateTime`.
impl Argument for DateTime {
    fn encode(self, _context: &mut EncodeContext) -> Result<Vec<u8>, ValueError> {
        Ok(self.to_string().into_bytes())
    }

    fn decode(bytes: &[u8], _context: &mut DecodeContext<'_>) -> Result<Self, ValueError> {
        std::str::from_utf8(bytes)
            .map_err(|_| invalid("not ASCII"))?
            .parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_conversions_round_trip_over_the_whole_range() {
        for days in (-719_162..2_932_897).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-719_162), (1, 1, 1));
    }

    #[test]
    fn unix_micros_round_trip_at_any_offset() {
        for micros in [0, -1, 1_700_000_000_123_456, -62_135_596_800_000_000] {
            for offset in [0, 90, -330, 1439, -1439] {
                let Ok(t) = DateTime::from_unix_micros(micros, offset) else {
                    assert!(micros < 0 && offset < 0, "{micros} {offset}");
                    continue;
                };
                assert_eq!(t.unix_micros(), micros);
                assert_eq!(t.offset_minutes(), offset);
            }
        }
    }

    #[test]
    fn invalid_dates_and_forms_are_refused() {
        assert!(DateTime::utc(2023, 2, 29, 0, 0, 0).is_err());
        assert!(DateTime::utc(2024, 2, 29, 0, 0, 0).is_ok());
        assert!(DateTime::utc(0, 1, 1, 0, 0, 0).is_err());
        assert!(DateTime::utc(2024, 1, 1, 24, 0, 0).is_err());
        for text in [
            "2012-01-23T12:34:56.054321-00:0",
            "2012-01-23 12:34:56.054321-00:00",
            "2012-01-23T12:34:56.054321*00:00",
            "2012-01-23T12:34:56.054321+24:00",
            "2012-01-23T12:34:56.054321+01:60",
            "2012-13-23T12:34:56.054321+01:00",
            "2012-01-23T12:34:56.05432a+01:00",
        ] {
            assert!(text.parse::<DateTime>().is_err(), "{text}");
        }
    }
}
