//! [`Backoff`]: exponential retry delays with jitter, as a pure function of
//! the attempt number and a jitter sample. The random numbers come from
//! outside ([`Jitter`]), so the retry logic itself is deterministic and
//! tests pass a seed or no jitter at all.

use std::time::Duration;

/// `delay(n) = min(initial · factorⁿ⁻¹, max) · (1 + jitter · sample)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// Delay before the first retry.
    pub initial: Duration,
    /// Growth per retry.
    pub factor: f64,
    /// Upper bound before jitter.
    pub max: Duration,
    /// Largest fraction of the delay added at random (0.1 = up to 10 %).
    pub jitter: f64,
}

impl Backoff {
    /// Twisted `ClientService`'s policy: 1 s, ×1.5, at most 60 s, plus up to 10 %.
    pub const CLIENT_SERVICE: Backoff = Backoff {
        initial: Duration::from_secs(1),
        factor: 1.5,
        max: Duration::from_secs(60),
        jitter: 0.1,
    };

    /// Twisted `ReconnectingClientFactory`'s policy: 1 s, ×e, at most an hour,
    /// plus up to 12 %.
    pub const RECONNECTING: Backoff = Backoff {
        initial: Duration::from_secs(1),
        factor: std::f64::consts::E,
        max: Duration::from_secs(3600),
        jitter: 0.119_626_565_582,
    };

    /// The delay before retry number `attempt` (1 is the first retry), with
    /// `sample` in `[0, 1)` choosing the jitter. Never panics: absurd
    /// factors saturate at `max`.
    pub fn delay(&self, attempt: u32, sample: f64) -> Duration {
        let exponent = attempt.saturating_sub(1).min(i32::MAX as u32) as i32;
        let base = self.initial.as_secs_f64() * self.factor.max(1.0).powi(exponent);
        let capped = if base.is_finite() {
            base.min(self.max.as_secs_f64())
        } else {
            self.max.as_secs_f64()
        };
        let spread = 1.0 + self.jitter.max(0.0) * sample.clamp(0.0, 1.0);
        Duration::try_from_secs_f64(capped * spread).unwrap_or(self.max)
    }
}

/// Where jitter samples come from: a seeded generator, none, or any closure.
pub struct Jitter(Box<dyn FnMut() -> f64>);

impl Jitter {
    /// A deterministic sequence from `seed` (splitmix64), so runs repeat.
    pub fn seeded(seed: u64) -> Self {
        let mut state = seed;
        Jitter(Box::new(move || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            (z >> 11) as f64 / (1u64 << 53) as f64
        }))
    }

    /// Always 0: delays are exactly the policy's base delays.
    pub fn none() -> Self {
        Jitter(Box::new(|| 0.0))
    }

    /// Samples from `f`, which should return values in `[0, 1)`.
    pub fn from_fn(f: impl FnMut() -> f64 + 'static) -> Self {
        Jitter(Box::new(f))
    }

    /// The next sample.
    pub fn sample(&mut self) -> f64 {
        (self.0)()
    }
}

impl std::fmt::Debug for Jitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Jitter")
    }
}
